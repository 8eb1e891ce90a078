test_that("spaces_list follows next_cursor and returns a typed data frame", {
  conn <- fake_conn()
  m <- recording_mock(function(req) {
    if (!grepl("cursor=", req$url)) {
      json_response(list(items = list(space_json("a"), space_json("b", status = "running")),
                         next_cursor = "c2"))
    } else {
      json_response(list(items = list(space_json("c", sharing = "shared", role = NULL)),
                         next_cursor = NULL))
    }
  })
  df <- httr2::with_mock(m$mock, spaces_list(sharing = "shared", page_size = 2, conn = conn))
  expect_length(m$requests, 2)
  expect_match(m$requests[[1]]$url, "spaces/api/spaces\\?sharing=shared&limit=2$")
  expect_match(m$requests[[2]]$url, "cursor=c2")
  expect_s3_class(df, "data.frame")
  expect_equal(df$name, c("a", "b", "c"))
  expect_equal(df$status, c("stopped", "running", "stopped"))
  expect_true(is.na(df$role[3]))
  expect_true(is.na(df$failure_reason[1]))
  expect_type(df$volume_gb, "double")
  expect_s3_class(df$created, "POSIXct")
  expect_equal(format(df$updated[1], "%H:%M", tz = "UTC"), "10:00")
})

test_that("spaces_list stops at max and handles an empty domain", {
  conn <- fake_conn()
  m <- recording_mock(function(req) json_response(list(items = list(space_json("a")), next_cursor = "more")))
  df <- httr2::with_mock(m$mock, spaces_list(max = 1, conn = conn))
  expect_equal(nrow(df), 1)
  expect_length(m$requests, 1)
  m <- recording_mock(function(req) json_response(list(items = list(), next_cursor = NULL)))
  df <- httr2::with_mock(m$mock, spaces_list(conn = conn))
  expect_equal(nrow(df), 0)
  expect_true(all(c("name", "status", "role", "created") %in% names(df)))
})

test_that("create, update, delete send the right requests", {
  conn <- fake_conn()
  m <- recording_mock(function(req) {
    if (grepl("app-types$", req$url)) return(json_response(app_types_json()))
    if (identical(req$method, "DELETE")) return(json_response(NULL, 204))
    if (identical(req$method, "POST")) {
      return(json_response(space_json("new"), 201, headers = list(Location = "/base/spaces/api/spaces/new")))
    }
    json_response(space_json("new"))
  })
  sp <- httr2::with_mock(m$mock, space_create("new", "shared", instance_type = "large", conn = conn))
  expect_s3_class(sp, "jupyterspaces_space")
  # The app type is checked against the domain's list first.
  expect_match(m$requests[[1]]$url, "spaces/api/app-types$")
  expect_equal(m$requests[[2]]$method, "POST")
  expect_equal(req_body_data(m$requests[[2]]),
               list(name = "new", sharing = "shared", app_type = "jupyterlab",
                    instance_type = "large"))
  expect_output(print(sp), "space 'new'")
  httr2::with_mock(m$mock, space_update("new", volume_gb = 20, conn = conn))
  expect_equal(m$requests[[3]]$method, "PATCH")
  expect_match(m$requests[[3]]$url, "spaces/api/spaces/new$")
  expect_equal(req_body_data(m$requests[[3]]), list(volume_gb = 20))
  expect_error(space_update("new", conn = conn), class = "jupyterspaces_usage_error")
  expect_true(httr2::with_mock(m$mock, space_delete("new", conn = conn)))
  expect_equal(m$requests[[4]]$method, "DELETE")
})

test_that("space_create offers the domain's app types: an unavailable one is refused with why", {
  conn <- fake_conn()
  m <- recording_mock(function(req) {
    if (grepl("app-types$", req$url)) return(json_response(app_types_json()))
    json_response(space_json("new", app_type = "code-editor"), 201,
                  headers = list(Location = "/base/spaces/api/spaces/new"))
  })
  sp <- httr2::with_mock(m$mock, space_create("new", app_type = "code-editor", conn = conn))
  expect_equal(req_body_data(m$requests[[2]])$app_type, "code-editor")
  expect_equal(sp$app_type, "code-editor")

  err <- httr2::with_mock(m$mock, tryCatch(space_create("r", app_type = "rstudio", conn = conn),
                                           error = function(e) e))
  expect_s3_class(err, "jupyterspaces_app_unavailable")
  expect_s3_class(err, "jupyterspaces_error")
  expect_equal(err$app_type, "rstudio")
  expect_equal(err$reason, "RStudio Server is in none of the package registries.")
  expect_equal(conditionMessage(err), paste("RStudio spaces are unavailable on this domain:",
                                            "RStudio Server is in none of the package registries."))
  err <- httr2::with_mock(m$mock, tryCatch(space_create("x", app_type = "emacs", conn = conn),
                                           error = function(e) e))
  expect_s3_class(err, "jupyterspaces_unknown_app_type")
  expect_equal(conditionMessage(err),
               "Unknown app type 'emacs'; this domain offers: jupyterlab, code-editor, mlflow.")
  # Neither was sent to the domain: only the app types were read.
  expect_length(Filter(function(r) identical(r$method, "POST"), m$requests), 1)
})

test_that("space_start(wait = TRUE) falls back to polling when there is no event stream", {
  conn <- spaces_connect("http://127.0.0.1:1/", "t")
  polls <- 0
  m <- recording_mock(function(req) {
    if (grepl("/start$", req$url)) return(json_response(space_json("demo", status = "starting"), 202))
    polls <<- polls + 1
    json_response(space_json("demo", status = if (polls < 2) "starting" else "running"))
  })
  sp <- httr2::with_mock(m$mock, space_start("demo", progress = FALSE, conn = conn))
  expect_equal(sp$status, "running")
  expect_equal(polls, 2)
})

test_that("the progress bar survives progress at 100% before the status event", {
  conn <- spaces_connect("http://127.0.0.1:1/", "t")
  ev <- function(name, callback, timeout, conn) {
    for (e in list(
      list(event = "status", data = '{"name":"demo","status":"starting"}'),
      list(event = "progress", data = '{"percent":40,"message":"Starting JupyterLab"}'),
      list(event = "progress", data = '{"percent":100,"message":"Ready"}'),
      list(event = "progress", data = '{"percent":100,"message":"Ready"}'),
      list(event = "status", data = '{"name":"demo","status":"running"}')
    )) if (!isTRUE(callback(e))) break
  }
  m <- recording_mock(function(req) json_response(space_json("demo", status = "running")))
  withr::local_options(cli.progress_show_after = 0, cli.progress_handlers_only = "logger")
  out <- utils::capture.output(sp <- httr2::with_mock(m$mock, jupyterspaces:::space_wait(
    "demo", "running", space_json("demo", status = "starting"), timeout = 10,
    progress = TRUE, conn = conn, events = ev)))
  expect_equal(sp$status, "running")
  expect_true(any(grepl("100/100", out, fixed = TRUE)))
})

test_that("a failed start is a classed condition with the failure reason", {
  conn <- spaces_connect("http://127.0.0.1:1/", "t")
  m <- recording_mock(function(req) {
    if (grepl("/start$", req$url)) return(json_response(space_json("demo", status = "starting"), 202))
    json_response(space_json("demo", status = "failed", failure_reason = "out of memory"))
  })
  err <- httr2::with_mock(m$mock, tryCatch(space_start("demo", progress = FALSE, conn = conn),
                                           error = function(e) e))
  expect_s3_class(err, "jupyterspaces_start_failed")
  expect_equal(err$failure_reason, "out of memory")
})

test_that("members, presence, catalogues and me parse the server's shapes", {
  conn <- fake_conn()
  user <- function(n) list(name = n, display_name = toupper(n), initials = "X",
                           color = "#123456", admin = FALSE,
                           created = "2024-05-01T10:00:00Z", last_activity = NULL)
  m <- recording_mock(function(req) {
    u <- req$url
    if (grepl("/members$", u)) return(json_response(list(items = list(
      list(user = user("owner"), role = "owner"), list(user = user("bob"), role = "viewer")))))
    if (grepl("/members/", u)) {
      if (identical(req$method, "DELETE")) return(json_response(NULL, 204))
      return(json_response(list(user = user("bob"), role = "editor")))
    }
    if (grepl("/presence$", u)) return(json_response(list(items = list(
      list(user = user("bob")[c("name", "display_name", "initials", "color")],
           role = "viewer", documents = list("a.ipynb", "b/c.py"),
           since = "2024-05-01T10:00:00Z"),
      list(user = user("eve")[c("name", "display_name", "initials", "color")],
           role = "editor", documents = list(), since = "2024-05-01T11:00:00Z")))))
    if (grepl("instance-types$", u)) return(json_response(list(items = list(
      list(name = "small", display_name = "Small", cpus = 1, memory_gb = 2,
           max_processes = 256, available = TRUE, reason = "")))))
    if (grepl("images$", u)) return(json_response(list(items = list(
      list(name = "default", display_name = "Default", description = "Python",
           available = TRUE, reason = "")))))
    if (grepl("app-types$", u)) return(json_response(list(items = list(
      app_type_json("jupyterlab"),
      app_type_json("rstudio", available = FALSE, reason = "not installed")))))
    if (grepl("/me$", u)) return(json_response(user("owner")))
    stop("unexpected ", u)
  })
  httr2::with_mock(m$mock, {
    mem <- space_members("s", conn = conn)
    expect_equal(mem$user, c("owner", "bob"))
    expect_equal(mem$role, c("owner", "viewer"))
    expect_equal(mem$display_name, c("OWNER", "BOB"))
    added <- space_add_member("s", "bob", "editor", conn = conn)
    expect_equal(added$role, "editor")
    expect_equal(req_body_data(m$requests[[2]]), list(role = "editor"))
    expect_equal(m$requests[[2]]$method, "PUT")
    expect_true(space_remove_member("s", "bob", conn = conn))
    p <- space_presence("s", conn = conn)
    expect_equal(p$user, c("bob", "eve"))
    expect_equal(p$role, c("viewer", "editor"))
    expect_equal(p$display_name, c("BOB", "EVE"))
    expect_equal(p$documents[[1]], c("a.ipynb", "b/c.py"))
    expect_equal(p$documents[[2]], character())
    expect_s3_class(p$since, "POSIXct")
    expect_equal(format(p$since[1], tz = "UTC"), "2024-05-01 10:00:00")
    expect_equal(instance_types(conn = conn)$cpus, 1)
    expect_equal(images(conn = conn)$name, "default")
    a <- app_types(conn = conn)
    expect_equal(a$available, c(TRUE, FALSE))
    expect_equal(a$reason, c("", "not installed"))
    expect_equal(me(conn = conn)$name, "owner")
  })
})

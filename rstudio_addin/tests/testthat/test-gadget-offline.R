fake_context <- function(doc = NULL) {
  env <- new.env()
  env$opened <- character()
  env$messages <- character()
  env$ctx <- spaces_context(
    active_document = function() doc,
    browse = function(url) env$opened <- c(env$opened, url),
    choose = function(choices, title) choices[length(choices)],
    inform = function(message) env$messages <- c(env$messages, message)
  )
  env
}

test_that("space_url builds the JupyterLab URL", {
  conn <- fake_conn()
  sp <- space_json("demo")
  expect_equal(jupyterspaces:::space_url(sp, conn), "http://spaces.test:8888/base/spaces/demo/lab")
  expect_equal(jupyterspaces:::space_url(sp, conn, "nb/a b.ipynb"),
               "http://spaces.test:8888/base/spaces/demo/lab/tree/nb/a%20b.ipynb")
  sp$app_type <- "rstudio"
  expect_equal(jupyterspaces:::space_url(sp, conn), "http://spaces.test:8888/base/spaces/demo/")
})

test_that("a Code Editor or MLflow space opens at its own URL in a browser tab", {
  conn <- fake_conn()
  fc <- fake_context()
  m <- recording_mock(function(req) {
    if (grepl("app-types$", req$url)) return(json_response(app_types_json()))
    name <- sub("^.*/spaces/api/spaces/", "", req$url)
    json_response(space_json(name, status = "running",
                             app_type = if (name == "tracking") "mlflow" else "code-editor"))
  })
  httr2::with_mock(m$mock, {
    # How it opens comes from the domain's description of the app (opens_in).
    expect_equal(space_browse("editor", browse = fc$ctx$browse, conn = conn),
                 "http://spaces.test:8888/base/spaces/editor/")
    msg <- jupyterspaces:::gadget_action("open", "tracking", conn, fc$ctx)
    expect_equal(msg, "Opened http://spaces.test:8888/base/spaces/tracking/")
    expect_equal(fc$opened, c("http://spaces.test:8888/base/spaces/editor/",
                              "http://spaces.test:8888/base/spaces/tracking/"))
    # Not a JupyterLab page: no file to open in it.
    expect_error(space_browse("editor", "a.R", browse = fc$ctx$browse, conn = conn),
                 class = "jupyterspaces_usage_error")
  })
  expect_length(fc$opened, 2)

  # A viewer cannot open a Code Editor (no read-only mode), and is told why;
  # MLflow lets a viewer browse.
  m <- recording_mock(function(req) {
    if (grepl("app-types$", req$url)) return(json_response(app_types_json()))
    name <- sub("^.*/spaces/api/spaces/", "", req$url)
    json_response(space_json(name, status = "running", sharing = "shared", role = "viewer",
                             app_type = if (name == "tracking") "mlflow" else "code-editor"))
  })
  httr2::with_mock(m$mock, {
    err <- tryCatch(space_browse("editor", browse = fc$ctx$browse, conn = conn), error = function(e) e)
    expect_s3_class(err, "jupyterspaces_viewer_refused")
    expect_equal(err$reason, "The Code Editor has no read-only mode.")
    expect_equal(conditionMessage(err), paste("You are a viewer of space 'editor', which runs",
                                              "Code Editor: The Code Editor has no read-only mode."))
    expect_equal(space_browse("tracking", browse = fc$ctx$browse, conn = conn),
                 "http://spaces.test:8888/base/spaces/tracking/")
  })
  expect_length(fc$opened, 3)
})

test_that("the gadget's live lines", {
  expect_equal(jupyterspaces:::gadget_progress(list(
    event = "progress", data = list(name = "a", percent = 42.4, message = "launching"))),
    "'a': 42% launching")
  expect_null(jupyterspaces:::gadget_progress(list(event = "space", data = space_json("a"))))
  expect_match(jupyterspaces:::gadget_feed_line(list(connected = TRUE)), "^Live")
  expect_match(jupyterspaces:::gadget_feed_line(list(connected = FALSE, problem = "Cannot reach x")),
               "lost \\(Cannot reach x\\); reconnecting")
})

test_that("open_space and the gadget actions go through the context seam", {
  conn <- fake_conn()
  fc <- fake_context()
  m <- recording_mock(function(req) {
    if (grepl("spaces/api/spaces\\?", req$url)) {
      return(json_response(list(items = list(space_json("a"), space_json("b", status = "running")),
                                next_cursor = NULL)))
    }
    if (grepl("/start$", req$url)) return(json_response(space_json("a", status = "starting"), 202))
    if (grepl("/stop$", req$url)) return(json_response(space_json("b", status = "stopping"), 202))
    if (grepl("app-types$", req$url)) return(json_response(app_types_json()))
    name <- sub("^.*/spaces/api/spaces/", "", req$url)
    json_response(space_json(name, status = "running"))
  })
  httr2::with_mock(m$mock, {
    url <- open_space(context = fc$ctx, conn = conn)
    expect_equal(url, "http://spaces.test:8888/base/spaces/b/lab")
    expect_equal(fc$opened, url)
    tab <- jupyterspaces:::gadget_spaces_table(conn)
    expect_equal(tab$name, c("a", "b"))
    # (expect_match() evaluates its object twice: call first.)
    msg <- jupyterspaces:::gadget_action("start", "a", conn, fc$ctx)
    expect_match(msg, "Starting 'a'")
    msg <- jupyterspaces:::gadget_action("stop", "b", conn, fc$ctx)
    expect_match(msg, "Stopping 'b'")
    msg <- jupyterspaces:::gadget_action("open", "a", conn, fc$ctx)
    expect_match(msg, "Opened .*/spaces/a/lab")
    expect_equal(fc$opened[-1], "http://spaces.test:8888/base/spaces/a/lab")
    expect_equal(jupyterspaces:::gadget_action("open", "", conn, fc$ctx), "Select a space first.")
    expect_match(jupyterspaces:::gadget_presence("a", conn), "shared spaces")
  })
})

test_that("send_current_file uploads the active document to the chosen running space", {
  conn <- fake_conn()
  f <- file.path(withr::local_tempdir(), "analysis.R")
  writeLines("summary(cars)", f)
  fc <- fake_context(doc = f)
  m <- recording_mock(function(req) {
    if (grepl("spaces/api/spaces\\?", req$url)) {
      return(json_response(list(items = list(
        space_json("run1", status = "running"),
        space_json("view", status = "running", role = "viewer"),
        space_json("off", status = "stopped")), next_cursor = NULL)))
    }
    json_response(list(name = "analysis.R"), 201)
  })
  remote <- httr2::with_mock(m$mock, send_current_file(context = fc$ctx, conn = conn))
  expect_equal(remote, "analysis.R")
  put <- m$requests[[2]]
  expect_equal(put$url, "http://spaces.test:8888/base/spaces/run1/api/contents/analysis.R")
  expect_equal(rawToChar(jsonlite::base64_dec(req_body_data(put)$content)), "summary(cars)\n")
  expect_match(fc$messages, "Sent analysis.R to space 'run1'")
})

test_that("addins report errors as messages", {
  fc <- fake_context()
  withr::local_options(jupyterspaces.context = fc$ctx)
  withr::local_envvar(JUPYTER_SPACES_URL = NA, JUPYTER_SPACES_TOKEN = NA)
  expect_null(addin_open_space())
  expect_match(fc$messages, "JUPYTER_SPACES_URL")
})

test_that("the gadget server works without RStudio", {
  skip_if_not_installed("shiny")
  skip_if_not_installed("miniUI")
  conn <- fake_conn()
  fc <- fake_context()
  m <- recording_mock(function(req) {
    if (grepl("spaces/api/spaces\\?", req$url)) {
      return(json_response(list(items = list(space_json("a", sharing = "shared", status = "running")),
                                next_cursor = NULL)))
    }
    if (grepl("presence$", req$url)) return(json_response(list(items = list(
      list(user = list(name = "bob", display_name = "Bob", initials = "B", color = "#000000"),
           role = "editor", documents = list("x.ipynb", "y.R"),
           since = "2024-05-01T10:00:00Z")))))
    if (grepl("(instance-types|app-types|images)$", req$url)) return(json_response(list(items = list())))
    json_response(space_json("a", sharing = "shared", status = "running"))
  })
  expect_s3_class(jupyterspaces:::gadget_ui(), "shiny.tag.list")
  httr2::with_mock(m$mock, {
    shiny::testServer(jupyterspaces:::gadget_server(conn, fc$ctx), {
      session$setInputs(space = "a")
      expect_equal(spaces()$name, "a")
      expect_equal(presence()$user, "bob")
      expect_equal(presence()$documents, "x.ipynb, y.R")
      session$setInputs(open = 1)
      expect_equal(fc$opened, "http://spaces.test:8888/base/spaces/a/lab")
    })
  })
})

test_that("the create form offers available entries with their description, and says why not", {
  conn <- fake_conn()
  m <- recording_mock(function(req) {
    route <- sub("^.*/spaces/api/", "", req$url)
    items <- switch(route,
      images = list(
        list(name = "old", display_name = "Old", description = "last year's", available = FALSE,
             reason = "The image's Python /opt/old/bin/python cannot import jupyter_spaces.space"),
        list(name = "default", display_name = "Python 3.11", description = "JupyterLab",
             available = TRUE, reason = ""),
        list(name = "bare", display_name = "Bare", description = "", available = TRUE, reason = "")),
      `app-types` = list(
        app_type_json("jupyterlab"),
        app_type_json("rstudio", available = FALSE, reason = "rserver is not installed")),
      `instance-types` = list(
        list(name = "small", display_name = "Small", cpus = 1, memory_gb = 2, max_processes = 256,
             available = TRUE, reason = "")))
    json_response(list(items = items))
  })
  httr2::with_mock(m$mock, {
    im <- images(conn = conn)
    cats <- jupyterspaces:::gadget_catalogs(conn)
  })
  expect_equal(im$available, c(FALSE, TRUE, TRUE))
  expect_equal(im$description, c("last year's", "JupyterLab", ""))
  expect_equal(im$reason[2:3], c("", ""))
  expect_equal(cats$images, c(`Python 3.11 - JupyterLab` = "default", Bare = "bare"))
  expect_equal(cats$app_types, c(`JupyterLab - Notebooks, consoles, terminals and files.` = "jupyterlab"))
  expect_equal(cats$instance_types, c(Small = "small"))
  expect_equal(cats$unavailable, c(
    "App 'RStudio' is unavailable: rserver is not installed",
    "Image 'Old' is unavailable: The image's Python /opt/old/bin/python cannot import jupyter_spaces.space"
  ))
})

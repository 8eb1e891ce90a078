# Every function over real HTTP against a real domain server (helper-server.R).

test_that("live: me() and the catalogues", {
  owner <- live_conn("owner")
  admin <- live_conn("admin")
  m <- me(conn = owner)
  expect_equal(m$name, "owner")
  expect_false(isTRUE(m$admin))
  expect_true(all(c("display_name", "initials", "color") %in% names(m)))
  expect_true(isTRUE(me(conn = admin)$admin))
  it <- instance_types(conn = owner)
  expect_s3_class(it, "data.frame")
  expect_gt(nrow(it), 0)
  expect_true(all(c("name", "cpus", "memory_gb", "available") %in% names(it)))
  im <- images(conn = owner)
  expect_equal(im$name, c("default", "second", "missing"))
  expect_equal(im$available, c(TRUE, TRUE, FALSE))
  expect_equal(im$description[2:3], c("the same environment, another name",
                                      "an environment that is not there"))
  expect_match(im$description[1], "JupyterLab")
  expect_equal(im$reason[1:2], c("", ""))
  expect_match(im$reason[3], "/nonexistent/bin/python3 cannot run", fixed = TRUE)
  at <- app_types(conn = owner)
  expect_true("jupyterlab" %in% at$name)
  expect_type(at$available, "logical")
})

test_that("live: create, get, list with filters and paging, update, delete", {
  owner <- live_conn("owner")
  other <- live_conn("other")
  sp <- space_create("r-live-a", "private", display_name = "R live A", conn = owner)
  expect_s3_class(sp, "jupyterspaces_space")
  expect_equal(sp$name, "r-live-a")
  expect_equal(sp$owner, "owner")
  expect_equal(sp$status, "stopped")
  expect_equal(sp$role, "owner")
  space_create("r-live-b", "shared", conn = owner)
  space_create("r-live-c", "shared", conn = other)
  got <- space_get("r-live-a", conn = owner)
  expect_equal(got$display_name, "R live A")

  all <- spaces_list(page_size = 1, conn = owner)
  expect_true(all(c("r-live-a", "r-live-b", "r-live-c") %in% all$name))
  expect_false(anyDuplicated(all$name) > 0)
  expect_s3_class(all$created, "POSIXct")
  shared <- spaces_list(sharing = "shared", conn = owner)
  expect_true(all(shared$sharing == "shared"))
  expect_false("r-live-a" %in% shared$name)
  mine <- spaces_list(owner = "other", conn = owner)
  expect_true(all(mine$owner == "other"))
  expect_equal(spaces_list(name_contains = "live-c", conn = owner)$name, "r-live-c")
  expect_equal(nrow(spaces_list(max = 2, page_size = 1, conn = owner)), 2)
  expect_equal(spaces_list(sort = "-name", name_contains = "r-live", conn = owner)$name[1], "r-live-c")

  # Resize while stopped.
  types <- instance_types(conn = owner)$name
  new_type <- types[length(types)]
  up <- space_update("r-live-a", instance_type = new_type, volume_gb = 3,
                     display_name = "Renamed", conn = owner)
  expect_equal(up$instance_type, new_type)
  expect_equal(up$volume_gb, 3)
  expect_equal(space_get("r-live-a", conn = owner)$display_name, "Renamed")

  # Bad input: classed conditions with the server's message.
  err <- tryCatch(space_create("r-live-a", conn = owner), error = function(e) e)
  expect_s3_class(err, "jupyterspaces_http_409")
  expect_true(nzchar(err$server_message))
  err <- tryCatch(space_create("Not_A_Name", conn = owner), error = function(e) e)
  expect_s3_class(err, "jupyterspaces_http_422")
  expect_equal(err$reason, "invalid")
  expect_error(space_update("r-live-a", volume_gb = "big", conn = owner),
               class = "jupyterspaces_http_422")

  expect_true(space_delete("r-live-a", conn = owner))
  expect_error(space_get("r-live-a", conn = owner), class = "jupyterspaces_http_404")
  expect_false("r-live-a" %in% spaces_list(conn = owner)$name)
})

test_that("live: another user's private space is a 404, exactly like a missing one", {
  owner <- live_conn("owner")
  other <- live_conn("other")
  admin <- live_conn("admin")
  space_create("r-live-secret", "private", conn = owner)
  hidden <- tryCatch(space_get("r-live-secret", conn = other), error = function(e) e)
  expect_s3_class(hidden, "jupyterspaces_http_404")
  expect_s3_class(hidden, "jupyterspaces_http_error")
  expect_equal(hidden$reason, "not_found")
  missing <- tryCatch(space_get("r-live-nothing", conn = other), error = function(e) e)
  expect_s3_class(missing, "jupyterspaces_http_404")
  expect_equal(gsub("r-live-(secret|nothing)", "X", hidden$server_message),
               gsub("r-live-(secret|nothing)", "X", missing$server_message))
  expect_false("r-live-secret" %in% spaces_list(conn = other)$name)
  for (f in list(
    function() space_update("r-live-secret", display_name = "x", conn = other),
    function() space_delete("r-live-secret", conn = other),
    function() space_start("r-live-secret", wait = FALSE, conn = other),
    function() space_stop("r-live-secret", conn = other),
    function() space_members("r-live-secret", conn = other),
    function() space_presence("r-live-secret", conn = other),
    function() space_events("r-live-secret", function(ev) TRUE, timeout = 10, conn = other),
    function() space_download("r-live-secret", "", to = tempfile(), conn = other),
    function() space_upload("r-live-secret", testthat::test_path("helper-offline.R"), conn = other)
  )) {
    expect_error(f(), class = "jupyterspaces_http_404")
  }
  # The admin sees the metadata only.
  meta <- space_get("r-live-secret", conn = admin)
  expect_null(meta$role)
  expect_null(meta$url)
  expect_true("r-live-secret" %in% spaces_list(conn = admin)$name)
  expect_error(space_download("r-live-secret", "", to = tempfile(), conn = admin),
               class = "jupyterspaces_http_404")
  expect_error(space_presence("r-live-secret", conn = admin), class = "jupyterspaces_http_404")
  space_delete("r-live-secret", conn = owner)
})

test_that("live: members of a shared space", {
  owner <- live_conn("owner")
  other <- live_conn("other")
  space_create("r-live-team", "shared", conn = owner)
  m <- space_members("r-live-team", conn = owner)
  expect_equal(m$user[1], "owner")
  expect_equal(m$role[1], "owner")
  added <- space_add_member("r-live-team", "other", "viewer", conn = owner)
  expect_equal(added$user, "other")
  expect_equal(added$role, "viewer")
  m <- space_members("r-live-team", conn = other)
  expect_equal(m$role[m$user == "other"], "viewer")
  expect_equal(space_get("r-live-team", conn = other)$role, "viewer")
  expect_error(space_add_member("r-live-team", "admin", conn = other),
               class = "jupyterspaces_http_403")
  expect_error(space_update("r-live-team", display_name = "x", conn = other),
               class = "jupyterspaces_http_403")
  expect_true(space_remove_member("r-live-team", "other", conn = owner))
  expect_false("other" %in% space_members("r-live-team", conn = owner)$user)
  space_create("r-live-solo", "private", conn = owner)
  expect_equal(space_members("r-live-solo", conn = owner)$user, "owner")
  expect_error(space_add_member("r-live-solo", "other", conn = owner),
               class = "jupyterspaces_http_409")
  expect_error(space_add_member("r-live-nobody-here", "other", conn = owner),
               class = "jupyterspaces_http_404")
  space_delete("r-live-solo", conn = owner)
  space_delete("r-live-team", conn = owner)
})

test_that("live: space_browse and the gadget's functions", {
  owner <- live_conn("owner")
  space_create("r-live-browse", "shared", conn = owner)
  opened <- character()
  url <- space_browse("r-live-browse", browse = function(u) opened <<- c(opened, u), conn = owner)
  expect_equal(opened, url)
  expect_match(url, "^http://127\\.0\\.0\\.1:[0-9]+/spaces/r-live-browse/lab$")
  ctx <- spaces_context(browse = function(u) opened <<- c(opened, u),
                        choose = function(choices, title) choices[1],
                        inform = function(m) NULL)
  expect_equal(open_space("r-live-browse", context = ctx, conn = owner), url)
  expect_equal(opened[length(opened)], url)
  withr::with_options(list(jupyterspaces.space = "r-live-browse"),
                      expect_equal(open_space(context = ctx, conn = owner), url))
  tab <- jupyterspaces:::gadget_spaces_table(owner)
  expect_true("r-live-browse" %in% tab$name)
  # (expect_match() evaluates its object twice: call first.)
  msg <- jupyterspaces:::gadget_action("open", "r-live-browse", owner, ctx)
  expect_match(msg, "Opened")
  msg <- jupyterspaces:::gadget_presence("r-live-browse", owner)
  expect_match(msg, "stopped")
  msg <- jupyterspaces:::gadget_create("r-live-gadget", "private", "jupyterlab", "", owner)
  expect_equal(msg, "Created private space 'r-live-gadget'.")
  space_delete("r-live-gadget", conn = owner)

  # The gadget's shiny server itself, without RStudio: list with status,
  # open, start, stop, presence, create.
  skip_if_not_installed("shiny")
  shiny::testServer(jupyterspaces:::gadget_server(owner, ctx), {
    session$setInputs(space = "r-live-browse")
    s <- spaces()
    expect_equal(s$status[s$name == "r-live-browse"], "stopped")
    expect_equal(s$role[s$name == "r-live-browse"], "owner")
    expect_match(output$presence_text, "'r-live-browse' is stopped")
    session$setInputs(open = 1)
    expect_equal(opened[length(opened)], url)
    expect_equal(output$status_line, paste("Opened", url))
    session$setInputs(start = 1)
    expect_match(output$status_line, "^Starting 'r-live-browse' \\(status: (starting|running)\\)")
    s <- spaces()
    expect_true(s$status[s$name == "r-live-browse"] %in% c("starting", "running"))
    session$setInputs(stop = 1)
    expect_match(output$status_line, "^Stopping 'r-live-browse' \\(status: (stopping|stopped)\\)")
    session$setInputs(new_name = "r-live-gadget", new_sharing = "shared",
                      new_app_type = "jupyterlab", new_instance_type = "", create = 1)
    expect_equal(output$status_line, "Created shared space 'r-live-gadget'.")
    s <- spaces()
    expect_equal(s$sharing[s$name == "r-live-gadget"], "shared")
    session$setInputs(new_name = "r-live-gadget", create = 2)
    expect_match(output$status_line, "^Error: .*HTTP 409")
    # The form offers the images that can run, with their description, and
    # says which cannot and why; the image chosen is the new space's.
    cats <- catalogs()
    expect_equal(unname(cats$images), c("default", "second"))
    expect_equal(names(cats$images)[2], "Second image - the same environment, another name")
    expect_true("jupyterlab" %in% cats$app_types)
    expect_match(output$new_unavailable$html,
                 "<li>Image 'Missing Python' is unavailable: The image's Python /nonexistent/bin/python3 cannot run",
                 fixed = TRUE)
    session$setInputs(new_name = "r-live-image", new_sharing = "private", new_image = "second", create = 3)
    expect_equal(output$status_line, "Created private space 'r-live-image'.")
  })
  expect_equal(space_get("r-live-image", conn = owner)$image, "second")
  space_delete("r-live-image", conn = owner)
  expect_equal(space_get("r-live-gadget", conn = owner)$sharing, "shared")
  st <- live_poll(function() space_get("r-live-browse", conn = owner),
                  function(sp) identical(sp$status, "stopped"), timeout = 120)
  expect_equal(st$status, "stopped")
  space_delete("r-live-gadget", conn = owner)
  space_delete("r-live-browse", conn = owner)
})

test_that("live: space_start(wait = TRUE) returns when running; the bar follows the events", {
  owner <- live_conn("owner")
  other <- live_conn("other")
  name <- "r-live-run"
  space_create(name, "shared", conn = owner)
  space_add_member(name, "other", "viewer", conn = owner)
  # The progress bar, logged instead of drawn: the status events of the
  # stream move it (the last one to 100%, "running").
  withr::local_options(cli.progress_show_after = 0, cli.progress_handlers_only = "logger")
  # Every value the bar is set to, recorded as cli receives it (the logger
  # itself is throttled).
  bar <- new.env()
  bar$set <- numeric()
  suppressMessages(trace(
    "cli_progress_update", where = asNamespace("cli"), print = FALSE,
    tracer = bquote(if (!is.null(set)) assign("set", c(get("set", envir = .(bar)), set), envir = .(bar)))
  ))
  withr::defer(suppressMessages(untrace("cli_progress_update", where = asNamespace("cli"))))
  log <- utils::capture.output(
    sp <- space_start(name, wait = TRUE, timeout = 300, progress = TRUE, conn = owner)
  )
  expect_s3_class(sp, "jupyterspaces_space")
  expect_equal(sp$status, "running")
  expect_null(sp$failure_reason)
  expect_true(any(grepl("100/100 updated", log, fixed = TRUE)), info = paste(log, collapse = "\n"))
  # The start's progress events (percent) moved it on the way, the running
  # status event ended it at 100.
  expect_true(any(bar$set > 0 & bar$set < 100), info = paste(bar$set, collapse = " "))
  expect_equal(bar$set[length(bar$set)], 100)
  expect_equal(space_get(name, conn = owner)$status, "running")
  expect_equal(spaces_list(status = "running", conn = other)$name, name)
  # Starting a running space is a no-op that returns at once.
  expect_equal(space_start(name, progress = FALSE, conn = owner)$status, "running")
  # A viewer may not start or stop it.
  expect_error(space_stop(name, conn = other), class = "jupyterspaces_http_403")
  # Running: no resize, no delete.
  expect_error(space_update(name, volume_gb = 9, conn = owner), class = "jupyterspaces_http_409")
  err <- tryCatch(space_delete(name, conn = owner), error = function(e) e)
  expect_s3_class(err, "jupyterspaces_http_409")
  expect_true(nzchar(err$server_message))
  # The events stream begins with the current status, with its fields.
  first <- NULL
  n <- space_events(name, function(ev) {
    first <<- ev
    FALSE
  }, timeout = 30, conn = other)
  expect_equal(n, 1L)
  expect_equal(first$event, "status")
  data <- jsonlite::fromJSON(first$data, simplifyVector = FALSE)
  expect_equal(data$name, name)
  expect_equal(data$status, "running")
  expect_true(all(c("failure_reason", "volume_used_bytes", "last_activity") %in% names(data)))
  # The browser URL of a running space.
  expect_match(space_browse(name, browse = function(u) NULL, conn = owner),
               "/spaces/r-live-run/lab$")
})

test_that("live: upload a file and a folder to the running space, download them back", {
  name <- live_running_space()
  owner <- live_conn("owner")
  src <- withr::local_tempdir()
  dir.create(file.path(src, "proj", "sub", "deeper"), recursive = TRUE)
  bin <- as.raw(c(0:255, 255:0))
  writeBin(bin, file.path(src, "proj", "sub", "data.bin"))
  set.seed(42)
  big <- as.raw(sample(0:255, 300000, replace = TRUE))
  writeBin(big, file.path(src, "proj", "sub", "deeper", "big.bin"))
  writeLines(c("x <- 1", "# caf\u00e9"), file.path(src, "proj", "analysis.R"), useBytes = TRUE)
  writeBin(raw(), file.path(src, "proj", "empty.txt"))
  writeLines("hidden", file.path(src, "proj", ".hidden"))

  # A folder, recursively (chunked above 64 KB).
  up <- space_upload(name, file.path(src, "proj"), to = "work/proj", chunk_size = 65536,
                     conn = owner)
  expect_setequal(up, c("work/proj", "work/proj/analysis.R", "work/proj/empty.txt",
                        "work/proj/sub", "work/proj/sub/data.bin", "work/proj/sub/deeper",
                        "work/proj/sub/deeper/big.bin"))
  # A single file, in 100-byte chunks, and one at the top of the home.
  space_upload(name, file.path(src, "proj", "sub", "data.bin"), to = "one.bin",
               chunk_size = 100, conn = owner)
  expect_equal(space_upload(name, file.path(src, "proj", "analysis.R"), conn = owner),
               "analysis.R")

  dst <- withr::local_tempdir()
  got <- space_download(name, "work/proj", to = file.path(dst, "proj"), conn = owner)
  expect_true(file.path(dst, "proj", "sub", "deeper", "big.bin") %in% got)
  files <- function(root) sort(list.files(root, recursive = TRUE, all.files = TRUE))
  expect_equal(files(file.path(dst, "proj")), setdiff(files(file.path(src, "proj")), ".hidden"))
  for (f in setdiff(files(file.path(src, "proj")), ".hidden")) {
    expect_identical(readBin(file.path(dst, "proj", f), "raw", 1e6),
                     readBin(file.path(src, "proj", f), "raw", 1e6), info = f)
  }
  space_download(name, "one.bin", to = file.path(dst, "one.bin"), conn = owner)
  expect_identical(readBin(file.path(dst, "one.bin"), "raw", 1000), bin)
  expect_error(space_download(name, "one.bin", to = file.path(dst, "one.bin"), conn = owner),
               class = "jupyterspaces_file_exists")
  space_download(name, "one.bin", to = file.path(dst, "one.bin"), overwrite = TRUE, conn = owner)
  expect_error(space_download(name, "no/such/file", to = file.path(dst, "x"), conn = owner),
               class = "jupyterspaces_http_404")

  # Send the current file through the addin's logic.
  ctx <- spaces_context(active_document = function() file.path(src, "proj", "sub", "data.bin"),
                        choose = function(choices, title) choices[1],
                        inform = function(m) NULL)
  expect_equal(send_current_file(name, context = ctx, conn = owner), "data.bin")
  space_download(name, "data.bin", to = file.path(dst, "sent.bin"), conn = owner)
  expect_identical(readBin(file.path(dst, "sent.bin"), "raw", 1000), bin)
  # The addins themselves, as RStudio runs them: no arguments, the domain
  # from JUPYTER_SPACES_URL and JUPYTER_SPACES_TOKEN, RStudio through the
  # context option.
  informed <- character()
  opened <- character()
  ctx <- spaces_context(active_document = function() file.path(src, "proj", "analysis.R"),
                        browse = function(u) opened <<- c(opened, u),
                        choose = function(choices, title) grep("^r-live-run ", choices, value = TRUE)[1],
                        inform = function(m) informed <<- c(informed, m))
  withr::local_options(jupyterspaces.context = ctx, jupyterspaces.space = NULL)
  withr::local_envvar(JUPYTER_SPACES_URL = live_server()$url,
                      JUPYTER_SPACES_TOKEN = live_server()$tokens$owner)
  space_create("r-live-other-choice", "private", conn = owner)
  expect_equal(addin_send_file(), "analysis.R")
  expect_match(informed, "Sent analysis.R to space 'r-live-run'")
  space_download(name, "analysis.R", to = file.path(dst, "addin.R"), conn = owner)
  expect_identical(readBin(file.path(dst, "addin.R"), "raw", 1000),
                   readBin(file.path(src, "proj", "analysis.R"), "raw", 1000))
  url <- addin_open_space()
  expect_match(url, "/spaces/r-live-run/lab$")
  expect_equal(opened, url)
  space_delete("r-live-other-choice", conn = owner)
})

test_that("live: a viewer reads the running space but cannot upload", {
  name <- live_running_space()
  owner <- live_conn("owner")
  other <- live_conn("other")
  expect_equal(space_get(name, conn = other)$role, "viewer")
  src <- withr::local_tempfile(fileext = ".R")
  writeLines("y <- 2", src)
  err <- tryCatch(space_upload(name, src, to = "from-viewer.R", conn = other),
                  error = function(e) e)
  expect_s3_class(err, "jupyterspaces_http_403")
  expect_s3_class(err, "jupyterspaces_http_error")
  expect_equal(err$status, 403)
  expect_true(nzchar(err$server_message))
  expect_match(conditionMessage(err), err$server_message, fixed = TRUE)
  expect_false(grepl(live_server()$tokens$other, conditionMessage(err), fixed = TRUE))
  expect_error(space_download(name, "from-viewer.R", to = tempfile(), conn = owner),
               class = "jupyterspaces_http_404")
  # ... but downloads.
  space_upload(name, src, to = "for-viewer.R", conn = owner)
  dst <- withr::local_tempfile()
  space_download(name, "for-viewer.R", to = dst, conn = other)
  expect_identical(readBin(dst, "raw", 100), readBin(src, "raw", 100))
})

test_that("live: presence lists who has a document open in the running space", {
  name <- live_running_space()
  owner <- live_conn("owner")
  other <- live_conn("other")
  admin <- live_conn("admin")
  src <- withr::local_tempfile(fileext = ".py")
  writeLines("print('together')", src)
  space_upload(name, src, to = "together.py", conn = owner)
  p <- space_presence(name, conn = owner)
  expect_s3_class(p, "data.frame")
  expect_true(all(c("user", "role", "display_name", "initials", "color", "documents", "since")
                  %in% names(p)))

  done <- live_be_present(name, "together.py", c("owner", "other"))
  withr::defer(done())
  p <- live_poll(function() space_presence(name, conn = other),
                 function(p) all(c("owner", "other") %in% p$user))
  expect_setequal(p$user, c("owner", "other"))
  # (The space reports its owner's role as "editor": in the space, an owner
  # edits like an editor.)
  expect_true(p$role[p$user == "owner"] %in% c("owner", "editor"))
  expect_equal(p$role[p$user == "other"], "viewer")
  expect_equal(p$initials[p$user == "other"], "OT")
  expect_match(p$color, "^#[0-9a-fA-F]{6}$")
  expect_true("together.py" %in% p$documents[[which(p$user == "other")]])
  expect_s3_class(p$since, "POSIXct")
  expect_false(anyNA(p$since))
  # The admin sees a shared space's presence too; the gadget shows it.
  expect_setequal(space_presence(name, conn = admin)$user, c("owner", "other"))
  g <- jupyterspaces:::gadget_presence(name, owner)
  expect_s3_class(g, "data.frame")
  expect_equal(g$documents[g$user == "other"], "together.py")

  done()
  p <- live_poll(function() space_presence(name, conn = owner), function(p) !nrow(p))
  expect_equal(nrow(p), 0)
  expect_match(jupyterspaces:::gadget_presence(name, owner), "Nobody is in")
})

test_that("live: space_stop(wait = TRUE) returns when stopped; then delete", {
  name <- live_running_space()
  owner <- live_conn("owner")
  other <- live_conn("other")
  st <- space_stop(name, wait = TRUE, timeout = 120, progress = FALSE, conn = owner)
  expect_s3_class(st, "jupyterspaces_space")
  expect_equal(st$status, "stopped")
  expect_equal(space_get(name, conn = other)$status, "stopped")
  # Stopped: nobody is there, its files cannot be reached, its events say so.
  expect_equal(nrow(space_presence(name, conn = owner)), 0)
  expect_match(jupyterspaces:::gadget_presence(name, owner), "stopped")
  err <- tryCatch(space_download(name, "one.bin", to = tempfile(), conn = owner),
                  error = function(e) e)
  expect_s3_class(err, "jupyterspaces_http_409")
  expect_equal(err$reason, "not_running")
  first <- NULL
  space_events(name, function(ev) {
    first <<- jsonlite::fromJSON(ev$data)
    FALSE
  }, timeout = 30, conn = owner)
  expect_equal(first$status, "stopped")
  expect_gt(first$volume_used_bytes, 0)
  # Stopping a stopped space returns at once.
  expect_equal(space_stop(name, wait = TRUE, progress = FALSE, conn = owner)$status, "stopped")
  # Delete after stop: synchronous, and the space is gone.
  expect_true(space_delete(name, conn = owner))
  expect_error(space_get(name, conn = owner), class = "jupyterspaces_http_404")
  expect_false(name %in% spaces_list(conn = owner)$name)
})

test_that("live: a wrong token is called not valid, not Forbidden", {
  srv <- live_server()
  bad <- jupyterspaces::spaces_connect(srv$url, "not-a-real-token")
  err <- tryCatch(me(conn = bad), error = function(e) e)
  expect_s3_class(err, "jupyterspaces_http_403")
  expect_equal(err$reason, "invalid_token")
  expect_match(conditionMessage(err), "The API token is not valid", fixed = TRUE)
  expect_false(grepl("Forbidden", conditionMessage(err), fixed = TRUE))
})

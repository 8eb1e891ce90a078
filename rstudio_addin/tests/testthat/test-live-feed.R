# The domain-wide live feed and the app types, over real HTTP against a real
# domain server (helper-server.R). The spaces made here are gone at the end
# (test-live.R counts the running ones).

# Call the follower's pump() until ok() or the timeout; TRUE when ok().
pump_until <- function(f, ok, timeout = 30) {
  deadline <- Sys.time() + timeout
  repeat {
    f$pump()
    if (isTRUE(ok())) return(TRUE)
    if (Sys.time() > deadline) return(FALSE)
    Sys.sleep(0.05)
  }
}

status_in <- function(spaces, name) {
  s <- spaces$status[spaces$name == name]
  if (length(s)) s else NA_character_
}

secs_since <- function(t) as.numeric(difftime(Sys.time(), t, units = "secs"))

# A TCP relay to the domain (tcp-relay.py): kill() cuts every connection
# through it, as a network drop does.
feed_relay <- function(listen, target) {
  dir <- tempfile("relay-")
  dir.create(dir)
  ready <- file.path(dir, "ready")
  pidfile <- file.path(dir, "pid")
  log <- file.path(dir, "log")
  script <- 'echo $$ > "$0"; log="$1"; shift; exec "$@" > "$log" 2>&1'
  with_python_env(system2(
    "sh", c("-c", shQuote(script), shQuote(pidfile), shQuote(log), shQuote(live_python()),
            shQuote(testthat::test_path("tcp-relay.py")), listen, target, shQuote(ready)),
    stdout = FALSE, stderr = FALSE, wait = FALSE
  ))
  deadline <- Sys.time() + 30
  while (!file.exists(ready) && Sys.time() < deadline) Sys.sleep(0.05)
  pid <- suppressWarnings(as.integer(readLines(pidfile, warn = FALSE)[1]))
  if (!file.exists(ready)) {
    if (live_pid_alive(pid)) tools::pskill(pid, tools::SIGKILL)
    stop("tcp-relay.py did not start:\n", paste(readLines(log), collapse = "\n"), call. = FALSE)
  }
  list(kill = function() {
    if (live_pid_alive(pid)) tools::pskill(pid, tools::SIGKILL)
    while (live_pid_alive(pid)) Sys.sleep(0.05)
    unlink(dir, recursive = TRUE)
    invisible()
  })
}

test_that("live: a space another user starts shows as running in the followed feed within 2 s; a deleted one disappears", {
  owner <- live_conn("owner")
  other <- live_conn("other")
  name <- "r-feed-run"
  space_create(name, "shared", conn = owner)
  withr::defer(tryCatch(space_delete(name, conn = owner), jupyterspaces_error = function(e) NULL))
  space_create("r-feed-mine", "private", conn = owner)
  withr::defer(tryCatch(space_delete("r-feed-mine", conn = owner), jupyterspaces_error = function(e) NULL))

  seen <- character()
  f <- jupyterspaces:::feed_follower(other, function(spaces, ev) {
    seen <<- c(seen, status_in(spaces, name))
    TRUE
  })
  withr::defer(f$close())
  expect_true(pump_until(f, function() f$status()$connected))
  expect_equal(status_in(f$spaces(), name), "stopped")
  expect_equal(f$spaces()$role[f$spaces()$name == name], "editor")
  # Another user's private space is never in it.
  expect_false("r-feed-mine" %in% f$spaces()$name)

  # The owner starts it through the API; the follower is told, not asking.
  space_start(name, wait = FALSE, conn = owner)
  api_running <- NULL
  feed_running <- NULL
  deadline <- Sys.time() + 300
  next_get <- Sys.time()
  while (Sys.time() < deadline && (is.null(api_running) || is.null(feed_running))) {
    f$pump()
    if (is.null(feed_running) && identical(status_in(f$spaces(), name), "running")) {
      feed_running <- Sys.time()
    }
    if (is.null(api_running) && Sys.time() >= next_get) {
      if (identical(space_get(name, conn = owner)$status, "running")) api_running <- Sys.time()
      next_get <- Sys.time() + 0.2
    }
    Sys.sleep(0.02)
  }
  expect_false(is.null(api_running), info = "the space did not start")
  expect_false(is.null(feed_running), info = paste("statuses seen:", paste(unique(seen), collapse = " ")))
  expect_lt(as.numeric(difftime(feed_running, api_running, units = "secs")), 2)
  expect_true("starting" %in% seen)

  # Stopped and deleted by the owner: the feed says so, within 2 s of the delete.
  space_stop(name, wait = TRUE, timeout = 120, progress = FALSE, conn = owner)
  expect_true(pump_until(f, function() identical(status_in(f$spaces(), name), "stopped"), 10))
  space_delete(name, conn = owner)
  deleted <- Sys.time()
  expect_true(pump_until(f, function() !name %in% f$spaces()$name, 10))
  expect_lt(secs_since(deleted), 2)
})

test_that("live: spaces_follow() from a script sees another user's new space and its deletion within 2 s", {
  owner <- live_conn("owner")
  other <- live_conn("other")
  name <- "r-feed-new"
  withr::defer(tryCatch(space_delete(name, conn = owner), jupyterspaces_error = function(e) NULL))
  # The owner acts once the follower has its snapshot (from its callback, as
  # a script reacting to the feed would).
  acted <- NULL
  follow_until <- function(act, done) {
    acted <<- NULL
    spaces_follow(function(spaces, ev) {
      if (identical(ev$event, "snapshot") && is.null(acted)) {
        act()
        acted <<- Sys.time()
      }
      !done(spaces)
    }, timeout = 30, conn = other)
  }
  got <- follow_until(function() space_create(name, "shared", display_name = "From the feed", conn = owner),
                      function(spaces) name %in% spaces$name)
  expect_lt(secs_since(acted), 2)
  expect_s3_class(got, "data.frame")
  expect_equal(got$display_name[got$name == name], "From the feed")
  expect_equal(got$owner[got$name == name], "owner")
  expect_s3_class(got$created, "POSIXct")
  got <- follow_until(function() space_delete(name, conn = owner),
                      function(spaces) !name %in% spaces$name)
  expect_lt(secs_since(acted), 2)
  expect_false(name %in% got$name)
  # The raw events, parsed: the snapshot comes first.
  first <- NULL
  expect_equal(spaces_feed(function(ev) {
    first <<- ev
    FALSE
  }, timeout = 30, conn = other), 1L)
  expect_equal(first$event, "snapshot")
  expect_type(first$data$items, "list")
})

test_that("live: after a network drop the follower reconnects and its snapshot reloads the list", {
  srv <- live_server()
  owner <- live_conn("owner")
  target <- as.integer(sub("^.*:([0-9]+)/$", "\\1", srv$url))
  port <- live_free_port()
  relay <- feed_relay(port, target)
  withr::defer(relay$kill())
  via_relay <- spaces_connect(sprintf("http://127.0.0.1:%d/", port), srv$tokens$other)
  events <- character()
  f <- jupyterspaces:::feed_follower(via_relay, function(spaces, ev) {
    events <<- c(events, ev$event)
    TRUE
  }, max_backoff = 0.5)
  withr::defer(f$close())
  expect_true(pump_until(f, function() f$status()$connected))
  expect_false("r-feed-gap" %in% f$spaces()$name)

  relay$kill()
  expect_true(pump_until(f, function() !f$status()$connected, 10))
  expect_true(nzchar(f$status()$problem))
  # While the network is down a space is made; the follower keeps trying.
  space_create("r-feed-gap", "shared", conn = owner)
  withr::defer(space_delete("r-feed-gap", conn = owner))
  expect_false(pump_until(f, function() f$status()$connected, 1.5))
  expect_match(f$status()$problem, "Cannot reach")

  relay <- feed_relay(port, target)
  expect_true(pump_until(f, function() f$status()$connected, 30))
  expect_true("r-feed-gap" %in% f$spaces()$name)
  expect_equal(sum(events == "snapshot"), 2)
})

test_that("live: a silent stream counts as a drop; an invalid token ends following at once", {
  other <- live_conn("other")
  # The domain sends a keep-alive every 15 s; with a 1 s bound the follower
  # takes the silence after the snapshot for a dead connection and reconnects.
  snapshots <- 0
  problems <- character()
  f <- jupyterspaces:::feed_follower(other, function(spaces, ev) {
    if (identical(ev$event, "snapshot")) snapshots <<- snapshots + 1
    TRUE
  }, max_backoff = 0.2, stall = 1)
  withr::defer(f$close())
  expect_true(pump_until(f, function() {
    if (!is.null(f$status()$problem)) problems <<- c(problems, f$status()$problem)
    snapshots >= 2
  }, 20))
  expect_match(problems[1], "nothing heard from the domain for 1 seconds", fixed = TRUE)

  bad <- spaces_connect(live_server()$url, "not-a-valid-token")
  started <- Sys.time()
  err <- tryCatch(spaces_follow(timeout = 30, conn = bad), error = function(e) e)
  expect_s3_class(err, "jupyterspaces_http_error")
  expect_true(err$status %in% c(401, 403))
  expect_lt(secs_since(started), 10)
})

test_that("live: the gadget's list follows the feed, without refresh or polling", {
  skip_if_not_installed("shiny")
  owner <- live_conn("owner")
  other <- live_conn("other")
  name <- "r-feed-gadget"
  withr::defer(tryCatch(space_delete(name, conn = owner), jupyterspaces_error = function(e) NULL))
  ctx <- spaces_context(browse = function(u) NULL, choose = function(choices, title) choices[1],
                        inform = function(m) NULL)
  shiny::testServer(jupyterspaces:::gadget_server(other, ctx), {
    # Time passes (shiny's timers, the socket's bytes); no input changes.
    wait_for <- function(ok, timeout = 10) {
      deadline <- Sys.time() + timeout
      while (!isTRUE(ok()) && Sys.time() < deadline) {
        Sys.sleep(0.05)
        session$elapse(200)
      }
      isTRUE(ok())
    }
    expect_true(wait_for(function() identical(output$feed_line, "Live: changes show as they happen.")))
    expect_false(name %in% spaces()$name)
    space_create(name, "shared", conn = owner)
    made <- Sys.time()
    expect_true(wait_for(function() name %in% spaces()$name))
    expect_lt(secs_since(made), 2)
    s <- spaces()
    expect_equal(s$status[s$name == name], "stopped")
    expect_equal(s$role[s$name == name], "editor")
    space_update(name, display_name = "Renamed elsewhere", conn = owner)
    expect_true(wait_for(function() "Renamed elsewhere" %in% spaces()$display_name))
    space_delete(name, conn = owner)
    gone <- Sys.time()
    expect_true(wait_for(function() !name %in% spaces()$name))
    expect_lt(secs_since(gone), 2)
  })
  # A refused token: the gadget says so and stops following (no retry loop).
  bad <- spaces_connect(live_server()$url, "not-a-valid-token")
  shiny::testServer(jupyterspaces:::gadget_server(bad, ctx), {
    session$elapse(200)
    expect_match(output$feed_line, "^Live feed lost \\(.*\\[HTTP 40[13] ")
    expect_match(output$status_line, "^Error: .*\\[HTTP 40[13] ")
  })
})

test_that("live: space_create() offers the domain's app types; an unavailable one is refused with the domain's reason", {
  owner <- live_conn("owner")
  apps <- app_types(conn = owner)
  expect_true(all(c("jupyterlab", "code-editor", "mlflow", "rstudio") %in% apps$name))
  expect_equal(apps$opens_in[apps$name %in% c("jupyterlab", "code-editor", "mlflow")],
               c("jupyterlab", "tab", "tab"))
  expect_false(apps$available[apps$name == "rstudio"])
  err <- tryCatch(space_create("r-feed-rstudio", app_type = "rstudio", conn = owner),
                  error = function(e) e)
  expect_s3_class(err, "jupyterspaces_app_unavailable")
  expect_s3_class(err, "jupyterspaces_error")
  expect_equal(err$app_type, "rstudio")
  expect_equal(err$reason, apps$reason[apps$name == "rstudio"])
  expect_match(err$reason, "RStudio Server")
  expect_match(conditionMessage(err), "^RStudio spaces are unavailable on this domain: RStudio Server")
  expect_error(space_get("r-feed-rstudio", conn = owner), class = "jupyterspaces_http_404")
  err <- tryCatch(space_create("r-feed-emacs", app_type = "emacs", conn = owner),
                  error = function(e) e)
  expect_s3_class(err, "jupyterspaces_unknown_app_type")
  expect_match(conditionMessage(err), "jupyterlab, code-editor, mlflow")

  # Code Editor and MLflow spaces, where this host can run them, open at their
  # own URL in a browser tab (not as a JupyterLab page); where it cannot, the
  # refusal says why.
  for (app in c("code-editor", "mlflow")) {
    name <- paste0("r-feed-", app)
    if (!isTRUE(apps$available[apps$name == app])) {
      expect_error(space_create(name, app_type = app, conn = owner),
                   class = "jupyterspaces_app_unavailable")
      next
    }
    sp <- space_create(name, "shared", app_type = app, conn = owner)
    expect_equal(sp$app_type, app)
    opened <- character()
    ctx <- spaces_context(browse = function(u) opened <<- c(opened, u),
                          choose = function(choices, title) choices[1],
                          inform = function(m) NULL)
    url <- open_space(name, context = ctx, conn = owner)
    expect_equal(url, paste0(live_server()$url, "spaces/", name, "/"))
    expect_equal(opened, url)
    expect_error(space_browse(name, "notebook.ipynb", browse = ctx$browse, conn = owner),
                 class = "jupyterspaces_usage_error")
    # A viewer: refused the Code Editor with the domain's reason, lets browse MLflow.
    space_add_member(name, "other", "viewer", conn = owner)
    other <- live_conn("other")
    if (identical(apps$viewers[apps$name == app], "refused")) {
      err <- tryCatch(space_browse(name, browse = ctx$browse, conn = other), error = function(e) e)
      expect_s3_class(err, "jupyterspaces_viewer_refused")
      expect_equal(err$reason, apps$viewer_reason[apps$name == app])
    } else {
      expect_equal(space_browse(name, browse = ctx$browse, conn = other), url)
    }
    space_delete(name, conn = owner)
  }
})

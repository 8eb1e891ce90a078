# A real jupyter-spaces domain server for the live tests.
#
# Enabled by JUPYTER_SPACES_LIVE_TESTS:
#   "true"  the live tests run and fail if the server cannot be started
#           (check.sh sets this),
#   "auto"  they run when the domain server's Python package is importable and
#           are skipped otherwise,
#   unset   they are skipped (so the package checks anywhere without Python).
# The server command: JUPYTER_SPACES_CLI (for example "jupyter spaces"), else
# `jupyter-spaces` on the PATH, else `<python> -m jupyter_spaces.cli` with
# <python> from JUPYTER_SPACES_PYTHON (default python3).
#
# Started with base R only: system2(wait = FALSE) through `sh`, which writes
# the server's pid to a file; stopped with tools::pskill() when the tests end.

live_mode <- function() tolower(Sys.getenv("JUPYTER_SPACES_LIVE_TESTS", ""))

live_python <- function() {
  py <- Sys.getenv("JUPYTER_SPACES_PYTHON", "")
  if (!nzchar(py)) py <- Sys.which("python3")
  if (!nzchar(py)) py <- Sys.which("python")
  unname(py)
}

live_cli <- function() {
  cli <- Sys.getenv("JUPYTER_SPACES_CLI", "")
  if (nzchar(cli)) return(strsplit(cli, "[[:space:]]+")[[1]])
  exe <- Sys.which("jupyter-spaces")
  if (nzchar(exe)) return(unname(exe))
  c(live_python(), "-m", "jupyter_spaces.cli")
}

# R puts its own library directories in LD_LIBRARY_PATH; a Python built
# elsewhere (pyenv, a venv) must not load the system's libpython through them.
live_python_ld_path <- function() {
  orig <- Sys.getenv("JUPYTER_SPACES_ORIG_LD_LIBRARY_PATH", NA)
  if (!is.na(orig)) return(orig)
  parts <- strsplit(Sys.getenv("LD_LIBRARY_PATH"), ":", fixed = TRUE)[[1]]
  r_parts <- c(strsplit(Sys.getenv("R_LD_LIBRARY_PATH"), ":", fixed = TRUE)[[1]],
               R.home("lib"), "/usr/lib/x86_64-linux-gnu", "/usr/lib/jvm/default-java/lib/server")
  paste(setdiff(parts[nzchar(parts)], r_parts), collapse = ":")
}

with_python_env <- function(code) {
  ld <- live_python_ld_path()
  withr::with_envvar(c(LD_LIBRARY_PATH = if (nzchar(ld)) ld else NA), code)
}

live_server_importable <- function() {
  py <- live_python()
  nzchar(py) && identical(with_python_env(suppressWarnings(system2(
    py, c("-c", shQuote("import jupyter_spaces.domain.app")),
    stdout = FALSE, stderr = FALSE
  ))), 0L)
}

# Run the CLI; returns stdout lines, fails with the output on error.
live_run_cli <- function(args) {
  cli <- live_cli()
  out <- with_python_env(suppressWarnings(
    system2(cli[1], c(cli[-1], args), stdout = TRUE, stderr = TRUE)
  ))
  status <- attr(out, "status") %||% 0L
  if (!identical(as.integer(status), 0L)) {
    stop(sprintf("`%s` failed (%s):\n%s", paste(c(cli, args), collapse = " "), status,
                 paste(out, collapse = "\n")), call. = FALSE)
  }
  out
}

live_free_port <- function() {
  for (i in 1:50) {
    port <- sample(20000:45000, 1)
    ok <- tryCatch({
      s <- serverSocket(port)
      close(s)
      TRUE
    }, error = function(e) FALSE)
    if (ok) return(port)
  }
  stop("no free port found")
}

live_pid_alive <- function(pid) {
  !is.na(pid) && isTRUE(suppressWarnings(tools::pskill(pid, 0L)))
}

live_start_server <- function() {
  dir <- tempfile("jupyterspaces-live-")
  dir.create(dir)
  data <- file.path(dir, "data")
  dir.create(data)
  tokens <- list()
  for (user in c("owner", "other", "admin")) {
    out <- live_run_cli(c("--data-dir", data, "user", "add", user,
                          if (user == "admin") "--admin"))
    out <- trimws(out[nzchar(trimws(out))])
    tokens[[user]] <- out[length(out)]
  }
  port <- live_free_port()
  log <- file.path(dir, "server.log")
  pidfile <- file.path(dir, "server.pid")
  cli <- live_cli()
  # Three images: the domain's own (the default), the same environment under
  # another name, and one whose Python is not there (unavailable, with why).
  config <- file.path(dir, "config")
  dir.create(config)
  writeLines(c(
    "from jupyter_spaces.domain.catalog import DEFAULT_IMAGES",
    "c.DomainApp.images = DEFAULT_IMAGES + [",
    "    {'name': 'second', 'display_name': 'Second image',",
    "     'description': 'the same environment, another name', 'python': DEFAULT_IMAGES[0]['python']},",
    "    {'name': 'missing', 'display_name': 'Missing Python',",
    "     'description': 'an environment that is not there', 'python': '/nonexistent/bin/python3'},",
    "]"
  ), file.path(config, "jupyter_server_config.py"))
  script <- 'echo $$ > "$0"; log="$1"; shift; exec "$@" > "$log" 2>&1'
  with_python_env(withr::with_envvar(c(JUPYTER_CONFIG_DIR = config), system2(
    "sh", c("-c", shQuote(script), shQuote(pidfile), shQuote(log),
            shQuote(cli), "--data-dir", shQuote(data), "--port", port, "--no-browser"),
    stdout = FALSE, stderr = FALSE, wait = FALSE
  )))
  srv <- new.env()
  srv$dir <- dir
  srv$log <- log
  srv$url <- sprintf("http://127.0.0.1:%d/", port)
  srv$tokens <- tokens
  srv$pid <- NA_integer_
  deadline <- Sys.time() + as.numeric(Sys.getenv("JUPYTER_SPACES_LIVE_START_TIMEOUT", "300"))
  repeat {
    if (is.na(srv$pid) && file.exists(pidfile)) {
      srv$pid <- suppressWarnings(as.integer(readLines(pidfile, warn = FALSE)[1]))
    }
    ready <- tryCatch({
      jupyterspaces::me(conn = jupyterspaces::spaces_connect(srv$url, tokens$owner))
      TRUE
    }, jupyterspaces_error = function(e) FALSE)
    if (ready) break
    if ((!is.na(srv$pid) && !live_pid_alive(srv$pid)) || Sys.time() > deadline) {
      alive <- !is.na(srv$pid) && live_pid_alive(srv$pid)
      log_text <- paste(tryCatch(readLines(log), error = function(e) ""), collapse = "\n")
      live_stop_server(srv)
      stop(sprintf("The domain server %s at %s. Its log:\n%s",
                   if (alive) "did not answer in time" else "exited", srv$url, log_text),
           call. = FALSE)
    }
    Sys.sleep(0.5)
  }
  srv
}

# Spaces outlive their domain by design: stop every space that is not
# stopped (as the admin, who may stop any) while the server still runs, then
# stop the server, then let the launcher clean up whatever is left (sandbox
# processes, loop mounts) before the data directory goes.
live_stop_server <- function(srv) {
  if (!is.na(srv$pid) && live_pid_alive(srv$pid)) {
    live_stop_spaces(srv)
    tools::pskill(srv$pid, tools::SIGTERM)
    deadline <- Sys.time() + 20
    while (live_pid_alive(srv$pid) && Sys.time() < deadline) Sys.sleep(0.2)
    if (live_pid_alive(srv$pid)) tools::pskill(srv$pid, tools::SIGKILL)
  }
  live_cleanup_orphans(srv)
  unlink(srv$dir, recursive = TRUE, force = TRUE)
  invisible()
}

live_stop_spaces <- function(srv) {
  admin <- jupyterspaces::spaces_connect(srv$url, srv$tokens$admin)
  spaces <- tryCatch(jupyterspaces::spaces_list(conn = admin),
                     jupyterspaces_error = function(e) NULL)
  for (name in spaces$name[spaces$status != "stopped"]) {
    tryCatch({
      # A stop already under way is let finish; a start is cancelled by the stop.
      sp <- live_poll(function() jupyterspaces::space_get(name, conn = admin),
                      function(sp) !identical(sp$status, "stopping"), timeout = 120)
      if (!identical(sp$status, "stopped")) {
        jupyterspaces::space_stop(name, wait = TRUE, timeout = 60, progress = FALSE, conn = admin)
      }
    }, jupyterspaces_error = function(e) {
      message("live tests: could not stop space '", name, "': ", conditionMessage(e))
    })
  }
}

live_cleanup_orphans <- function(srv) {
  py <- live_python()
  if (!nzchar(py)) return(invisible())
  code <- sprintf(paste0(
    "import asyncio; from jupyter_spaces.domain.config import DomainConfig; ",
    "asyncio.run(DomainConfig(data_dir=%s).make_launcher().cleanup_orphans({}))"
  ), deparse(file.path(srv$dir, "data")))
  out <- with_python_env(suppressWarnings(
    system2(py, c("-c", shQuote(code)), stdout = TRUE, stderr = TRUE)
  ))
  if (!identical(as.integer(attr(out, "status") %||% 0L), 0L)) {
    message("live tests: cleanup_orphans failed:\n", paste(out, collapse = "\n"))
  }
  invisible()
}

live_state <- new.env()

# The shared live server, started on first use; skips (or fails, see above).
live_server <- function() {
  mode <- live_mode()
  if (!mode %in% c("true", "1", "yes", "auto")) {
    testthat::skip("live tests are off: set JUPYTER_SPACES_LIVE_TESTS=true (check.sh does)")
  }
  if (!is.null(live_state$error)) stop(live_state$error)
  if (is.null(live_state$srv)) {
    if (mode == "auto" && !live_server_importable()) {
      testthat::skip("no domain server: `import jupyter_spaces.domain.app` fails")
    }
    srv <- tryCatch(live_start_server(), error = function(e) {
      live_state$error <- e
      stop(e)
    })
    live_state$srv <- srv
    tryCatch(
      withr::defer(live_stop_server(srv), envir = testthat::teardown_env()),
      error = function(e) {
        # Outside a testthat run (sourced by hand): stop it when R exits.
        reg.finalizer(live_state, function(env) live_stop_server(srv), onexit = TRUE)
      }
    )
  }
  live_state$srv
}

# A connection as one of the users "owner", "other", "admin".
live_conn <- function(user = "owner") {
  srv <- live_server()
  jupyterspaces::spaces_connect(srv$url, srv$tokens[[user]])
}

# Start a space and wait until it is running (a failed start is an error).
live_start <- function(name, conn, progress = FALSE) {
  jupyterspaces::space_start(name, wait = TRUE, timeout = 300, progress = progress, conn = conn)
}

`%||%` <- function(x, y) if (is.null(x)) y else x

# The shared space of the live file, presence and stop tests: "r-live-run",
# owned by "owner", with "other" as a viewer; created and started (once) on
# first use, so that each test also runs alone. The stop test stops and
# deletes it; the teardown stops whatever is still running.
live_running_space <- function() {
  name <- "r-live-run"
  owner <- live_conn("owner")
  sp <- tryCatch(jupyterspaces::space_get(name, conn = owner),
                 jupyterspaces_http_404 = function(e) NULL)
  if (is.null(sp)) {
    jupyterspaces::space_create(name, "shared", conn = owner)
    jupyterspaces::space_add_member(name, "other", "viewer", conn = owner)
    sp <- jupyterspaces::space_get(name, conn = owner)
  }
  if (!identical(sp$status, "running")) live_start(name, owner)
  name
}

# Make `users` present in the running space `name`, each with the document
# `path` open through the collaboration websocket (collab-present.py, on the
# domain's own Python client). Returns a function that ends the presence.
live_be_present <- function(name, path, users, type = "file", format = "text") {
  srv <- live_server()
  dir <- tempfile("present-")
  dir.create(dir)
  ready <- file.path(dir, "ready")
  stopfile <- file.path(dir, "stop")
  log <- file.path(dir, "log")
  pidfile <- file.path(dir, "pid")
  script <- 'echo $$ > "$0"; log="$1"; shift; exec "$@" > "$log" 2>&1'
  args <- c(testthat::test_path("collab-present.py"),
            paste0(srv$url, "spaces/", name, "/"), path, type, format, ready, stopfile,
            unlist(srv$tokens[users], use.names = FALSE))
  with_python_env(system2(
    "sh", c("-c", shQuote(script), shQuote(pidfile), shQuote(log),
            shQuote(live_python()), vapply(args, shQuote, "")),
    stdout = FALSE, stderr = FALSE, wait = FALSE
  ))
  pid <- NA_integer_
  deadline <- Sys.time() + 60
  while (!file.exists(ready)) {
    if (is.na(pid) && file.exists(pidfile)) {
      pid <- suppressWarnings(as.integer(readLines(pidfile, warn = FALSE)[1]))
    }
    if ((!is.na(pid) && !live_pid_alive(pid)) || Sys.time() > deadline) {
      if (!is.na(pid) && live_pid_alive(pid)) tools::pskill(pid, tools::SIGKILL)
      stop("collab-present.py did not connect:\n",
           paste(tryCatch(readLines(log), error = function(e) ""), collapse = "\n"),
           call. = FALSE)
    }
    Sys.sleep(0.2)
  }
  if (is.na(pid)) pid <- suppressWarnings(as.integer(readLines(pidfile, warn = FALSE)[1]))
  function() {
    if (!dir.exists(dir)) return(invisible())
    file.create(stopfile)
    deadline <- Sys.time() + 20
    while (live_pid_alive(pid) && Sys.time() < deadline) Sys.sleep(0.1)
    if (live_pid_alive(pid)) tools::pskill(pid, tools::SIGKILL)
    unlink(dir, recursive = TRUE)
    invisible()
  }
}

# Poll `f()` until `ok(value)`; returns the last value.
live_poll <- function(f, ok, timeout = 30) {
  deadline <- Sys.time() + timeout
  repeat {
    v <- f()
    if (isTRUE(ok(v)) || Sys.time() > deadline) return(v)
    Sys.sleep(0.3)
  }
}

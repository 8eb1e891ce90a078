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
  script <- 'echo $$ > "$0"; log="$1"; shift; exec "$@" > "$log" 2>&1'
  with_python_env(system2(
    "sh", c("-c", shQuote(script), shQuote(pidfile), shQuote(log),
            shQuote(cli), "--data-dir", shQuote(data), "--port", port, "--no-browser"),
    stdout = FALSE, stderr = FALSE, wait = FALSE
  ))
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

live_stop_server <- function(srv) {
  if (!is.na(srv$pid) && live_pid_alive(srv$pid)) {
    tools::pskill(srv$pid, tools::SIGTERM)
    deadline <- Sys.time() + 20
    while (live_pid_alive(srv$pid) && Sys.time() < deadline) Sys.sleep(0.2)
    if (live_pid_alive(srv$pid)) tools::pskill(srv$pid, tools::SIGKILL)
  }
  unlink(srv$dir, recursive = TRUE, force = TRUE)
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

# Start a space and wait; skip while the domain cannot start spaces yet.
live_start_or_skip <- function(name, conn) {
  tryCatch(
    jupyterspaces::space_start(name, wait = TRUE, timeout = 300, progress = FALSE, conn = conn),
    jupyterspaces_http_409 = function(e) {
      if (grepl("not startable yet", e$server_message, fixed = TRUE)) {
        testthat::skip("spaces cannot be started yet: the domain answers 409 'not startable yet'")
      }
      stop(e)
    }
  )
}

`%||%` <- function(x, y) if (is.null(x)) y else x

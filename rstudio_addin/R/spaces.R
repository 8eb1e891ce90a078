#' List the spaces you can see
#'
#' Every shared space of the domain and your own private spaces (an admin
#' also sees the metadata of every private space). Follows the server's
#' paging until all matching spaces are read.
#'
#' @param sharing,app_type,owner,status,name_contains Optional filters, for
#'   example `sharing = "shared"`, `status = "running"`.
#' @param sort `"name"` (default), `"-name"`, `"created"`, `"-created"`,
#'   `"last_activity"` or `"-last_activity"`.
#' @param max Maximum number of spaces to return.
#' @param page_size Spaces per request (1 to 500).
#' @param conn A connection from [spaces_connect()].
#' @return A data frame, one row per space, with the columns `name`,
#'   `display_name`, `owner`, `sharing`, `app_type`, `instance_type`, `image`,
#'   `volume_gb`, `idle_timeout_minutes`, `status`, `failure_reason`, `role`
#'   (yours), `url`, `volume_used_bytes`, `created`, `updated`,
#'   `last_activity`.
#' @export
#' @examples
#' \dontrun{
#' spaces_list(status = "running")
#' }
spaces_list <- function(sharing = NULL, app_type = NULL, owner = NULL,
                        status = NULL, name_contains = NULL, sort = NULL,
                        max = Inf, page_size = 100, conn = spaces_connect()) {
  items <- spaces_paged(
    conn, "spaces",
    query = list(sharing = sharing, app_type = app_type, owner = owner,
                 status = status, name_contains = name_contains, sort = sort),
    max = max, page_size = page_size
  )
  records_df(items, space_columns)
}

#' Describe, create, update or delete a space
#'
#' @param name The space's name (lower-case letters, digits and single
#'   hyphens, at most 63 characters).
#' @param conn A connection from [spaces_connect()].
#' @return `space_get()`, `space_create()`, `space_update()`: the space, a
#'   list of class `jupyterspaces_space`. `space_delete()`: `TRUE`, invisibly.
#' @export
#' @examples
#' \dontrun{
#' space_create("analysis", sharing = "shared", instance_type = "small")
#' space_update("analysis", instance_type = "large", volume_gb = 20)
#' space_get("analysis")
#' space_delete("analysis")
#' }
space_get <- function(name, conn = spaces_connect()) {
  check_string(name, "name")
  as_space(spaces_api(conn, "GET", api_path("spaces", name)))
}

#' @rdname space_get
#' @param sharing `"private"` (only you) or `"shared"` (the whole domain);
#'   fixed at creation.
#' @param app_type The space's application: one the domain lists in
#'   [app_types()] as available, such as `"jupyterlab"`, `"code-editor"`
#'   (VS Code in the browser) or `"mlflow"` (a tracking server). Checked
#'   before the space is created: an app type the domain cannot run is a
#'   `jupyterspaces_app_unavailable` condition with the domain's `reason`; one
#'   it does not know a `jupyterspaces_unknown_app_type`.
#' @param display_name A human-readable name.
#' @param instance_type,image See [instance_types()] and [images()]; the
#'   server's defaults when `NULL`.
#' @param volume_gb Size of the space's volume in gigabytes.
#' @param idle_timeout_minutes Stop the space after this many idle minutes.
#' @export
space_create <- function(name, sharing = c("private", "shared"),
                         app_type = "jupyterlab", display_name = NULL,
                         instance_type = NULL, image = NULL, volume_gb = NULL,
                         idle_timeout_minutes = NULL, conn = spaces_connect()) {
  check_string(name, "name")
  sharing <- match.arg(sharing)
  app_type_entry(app_type, conn)
  body <- list(name = name, sharing = sharing, app_type = app_type,
               display_name = display_name, instance_type = instance_type,
               image = image, volume_gb = volume_gb,
               idle_timeout_minutes = idle_timeout_minutes)
  as_space(spaces_api(conn, "POST", "spaces", body = body))
}

#' @rdname space_get
#' @details `space_update()` changes `instance_type`, `image`, `volume_gb` and
#'   `idle_timeout_minutes` only while the space is stopped (the server answers
#'   409, a `jupyterspaces_http_409` condition, otherwise); `display_name` at
#'   any time.
#' @export
space_update <- function(name, display_name = NULL, instance_type = NULL,
                         image = NULL, volume_gb = NULL,
                         idle_timeout_minutes = NULL, conn = spaces_connect()) {
  check_string(name, "name")
  body <- compact(list(display_name = display_name, instance_type = instance_type,
                       image = image, volume_gb = volume_gb,
                       idle_timeout_minutes = idle_timeout_minutes))
  if (!length(body)) {
    js_abort("Nothing to update: give at least one field.", "jupyterspaces_usage_error")
  }
  as_space(spaces_api(conn, "PATCH", api_path("spaces", name), body = body))
}

#' @rdname space_get
#' @details `space_delete()` deletes the space and its volume, for good.
#' @export
space_delete <- function(name, conn = spaces_connect()) {
  check_string(name, "name")
  spaces_api(conn, "DELETE", api_path("spaces", name))
  invisible(TRUE)
}

#' Start or stop a space
#'
#' `space_start()` asks the domain to start the space (compute and its app)
#' and, with `wait = TRUE`, follows the server-sent events of
#' `GET spaces/{name}/events` with a progress bar until the space is
#' `running`. `space_stop()` releases the compute; the volume stays. Stopping
#' a space that is still starting cancels the start.
#'
#' If the start fails, the error is a `jupyterspaces_start_failed` condition
#' with the server's `failure_reason`; if it takes longer than `timeout`
#' seconds, a `jupyterspaces_timeout`. Starting a space that is still stopping
#' is refused with 409 (`jupyterspaces_http_409`); a viewer may neither start
#' nor stop a space (403).
#'
#' @inheritParams space_get
#' @param wait Wait until the space is running (`space_start()`) or stopped
#'   (`space_stop()`)?
#' @param timeout Seconds to wait.
#' @param progress Show a progress bar while waiting?
#' @return The space (a `jupyterspaces_space` list), after the wait if
#'   `wait = TRUE`.
#' @export
#' @examples
#' \dontrun{
#' space_start("analysis")
#' space_stop("analysis")
#' }
space_start <- function(name, wait = TRUE, timeout = 600, progress = TRUE,
                        conn = spaces_connect()) {
  check_string(name, "name")
  space <- as_space(spaces_api(conn, "POST", api_path("spaces", name, "start")))
  if (!wait) return(space)
  space_wait(name, "running", space, timeout = timeout, progress = progress, conn = conn)
}

#' @rdname space_start
#' @export
space_stop <- function(name, wait = FALSE, timeout = 300, progress = TRUE,
                       conn = spaces_connect()) {
  check_string(name, "name")
  space <- as_space(spaces_api(conn, "POST", api_path("spaces", name, "stop")))
  if (!wait) return(space)
  space_wait(name, "stopped", space, timeout = timeout, progress = progress, conn = conn)
}

# Wait for `target` ("running" or "stopped"), fed by the events stream, then
# by polling if the stream ends early or is not available.
space_wait <- function(name, target, space, timeout, progress, conn,
                       events = space_events) {
  deadline <- Sys.time() + timeout
  tracker <- status_tracker(target, space$status)
  if (tracker$done(space$status)) return(wait_result(name, target, tracker, space))
  bar <- NULL
  if (isTRUE(progress)) {
    bar <- cli::cli_progress_bar(
      name = sprintf("%s %s", if (target == "running") "Starting" else "Stopping", name),
      total = 100, status = space$status %||% "", auto_terminate = FALSE,
      format = "{cli::pb_name} {cli::pb_bar} {cli::pb_percent} {cli::pb_status}",
      clear = TRUE, .envir = environment()
    )
  }
  on_event <- function(ev) {
    data <- tryCatch(jsonlite::fromJSON(ev$data, simplifyVector = FALSE),
                     error = function(e) list())
    if (identical(ev$event, "progress")) {
      if (!is.null(bar) && is.numeric(data$percent)) {
        cli::cli_progress_update(id = bar, set = max(0, min(100, data$percent)),
                                 status = data$message %||% "", .envir = environment())
      }
    } else if (identical(ev$event, "status") && is.character(data$status)) {
      tracker$see(data$status, data$failure_reason)
      if (!is.null(bar)) {
        if (identical(data$status, target)) {
          cli::cli_progress_update(id = bar, set = 100, status = data$status,
                                   force = TRUE, .envir = environment())
        } else {
          cli::cli_progress_update(id = bar, inc = 0, status = data$status,
                                   force = TRUE, .envir = environment())
        }
      }
      if (tracker$done(data$status)) return(FALSE)
    }
    TRUE
  }
  remaining <- as.numeric(difftime(deadline, Sys.time(), units = "secs"))
  if (remaining > 0) {
    tryCatch(
      events(name, on_event, timeout = remaining, conn = conn),
      jupyterspaces_http_error = function(e) NULL,
      jupyterspaces_connection_error = function(e) NULL
    )
  }
  # Confirm (or, if the stream ended early, poll) with GET spaces/{name}.
  repeat {
    space <- space_get(name, conn = conn)
    tracker$see(space$status, space$failure_reason)
    if (tracker$done(space$status)) break
    if (Sys.time() > deadline) {
      if (!is.null(bar)) cli::cli_progress_done(id = bar, .envir = environment())
      js_abort(sprintf("Space '%s' is still %s after %s seconds.", name,
                       space$status, format(timeout)),
               "jupyterspaces_timeout", space = space)
    }
    Sys.sleep(0.5)
  }
  if (!is.null(bar)) cli::cli_progress_done(id = bar, .envir = environment())
  wait_result(name, target, tracker, space)
}

# Which statuses end a wait. For a start, `running` succeeds and `failed`
# fails; `stopped` fails once the space has been seen leaving `stopped`.
status_tracker <- function(target, initial) {
  seen <- character()
  reason <- NULL
  see <- function(status, failure_reason = NULL) {
    if (!is.null(status)) seen <<- c(seen, status)
    if (!is.null(failure_reason)) reason <<- failure_reason
  }
  see(initial)
  done <- function(status) {
    if (is.null(status)) return(FALSE)
    if (status %in% c(target, "failed")) return(TRUE)
    if (target == "running" && status == "stopped") {
      return(any(seen %in% c("starting", "running", "stopping")))
    }
    if (target == "stopped" && status == "running") {
      return(any(seen %in% c("stopping", "stopped")))
    }
    FALSE
  }
  list(see = see, done = done, reason = function() reason)
}

wait_result <- function(name, target, tracker, space) {
  if (identical(space$status, target)) return(space)
  why <- space$failure_reason %||% tracker$reason() %||% "no reason given"
  js_abort(sprintf("Space '%s' did not reach '%s'; it is %s: %s", name, target,
                   space$status, why),
           if (target == "running") "jupyterspaces_start_failed" else "jupyterspaces_stop_failed",
           space = space, failure_reason = why)
}

as_space <- function(x) {
  if (is.null(x)) return(NULL)
  structure(x, class = "jupyterspaces_space")
}

#' @export
format.jupyterspaces_space <- function(x, ...) {
  field <- function(f) {
    v <- x[[f]]
    if (is.null(v)) "-" else paste(format(v), collapse = ", ")
  }
  c(
    sprintf("<jupyterspaces space '%s'>", field("name")),
    sprintf("  %-14s %s", "display name", field("display_name")),
    sprintf("  %-14s %s", "status",
            if (is.null(x$failure_reason)) field("status")
            else sprintf("%s (%s)", field("status"), field("failure_reason"))),
    sprintf("  %-14s %s (%s)", "owner", field("owner"), field("sharing")),
    sprintf("  %-14s %s", "your role", field("role")),
    sprintf("  %-14s %s on %s, image %s", "app", field("app_type"),
            field("instance_type"), field("image")),
    sprintf("  %-14s %s GB", "volume", field("volume_gb")),
    sprintf("  %-14s %s", "url", field("url"))
  )
}

#' @export
print.jupyterspaces_space <- function(x, ...) {
  cat(format(x), sep = "\n")
  invisible(x)
}

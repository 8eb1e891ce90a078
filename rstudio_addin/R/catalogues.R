#' The caller and the domain's catalogues
#'
#' `me()` describes the user the token belongs to. `instance_types()`,
#' `images()` and `app_types()` list what a space can be created with; each
#' says whether it is available on this host (`available`) and why not
#' (`reason`). An image is the environment a space runs in (its Python, its
#' libraries, R where installed); `images()` gives its `description` too.
#'
#' @param conn A connection from [spaces_connect()].
#' @return `me()`: a list (`name`, `display_name`, `initials`, `color`,
#'   `admin`, ...). The others: a data frame, one row per entry, with
#'   `name`, `display_name`, `available`, `reason` (`""` or `NA` when
#'   available) and, for images, `description`.
#' @export
#' @examples
#' \dontrun{
#' me()
#' instance_types()
#' }
me <- function(conn = spaces_connect()) {
  spaces_api(conn, "GET", "me")
}

#' @rdname me
#' @export
instance_types <- function(conn = spaces_connect()) {
  res <- spaces_api(conn, "GET", "instance-types")
  records_df(res$items %||% list(),
             c(name = "character", display_name = "character", cpus = "numeric",
               memory_gb = "numeric", max_processes = "numeric",
               available = "logical", reason = "character"))
}

#' @rdname me
#' @export
images <- function(conn = spaces_connect()) {
  res <- spaces_api(conn, "GET", "images")
  records_df(res$items %||% list(),
             c(name = "character", display_name = "character",
               description = "character", available = "logical",
               reason = "character"))
}

#' @rdname me
#' @details `app_types()` also says how each app opens (`opens_in`:
#'   `"jupyterlab"`, or `"tab"` for an app of its own in a browser tab), what
#'   a viewer of a shared space may do in it (`viewers`, `viewer_reason`),
#'   whether several people edit in it at once (`co_edits`), its
#'   `description` and `icon`.
#' @export
app_types <- function(conn = spaces_connect()) {
  res <- spaces_api(conn, "GET", "app-types")
  records_df(res$items %||% list(),
             c(name = "character", display_name = "character",
               available = "logical", reason = "character",
               description = "character", icon = "character",
               opens_in = "character", co_edits = "logical",
               viewers = "character", viewer_reason = "character"))
}

# The domain's entry for an app type (a one-row data frame), or a classed
# error: `jupyterspaces_unknown_app_type` for a name the domain does not
# list, `jupyterspaces_app_unavailable` (with the domain's `reason`) for one
# this domain cannot run.
app_type_entry <- function(app_type, conn, apps = app_types(conn = conn)) {
  check_string(app_type, "app_type")
  i <- match(app_type, apps$name)
  if (is.na(i)) {
    offered <- apps$name[apps$available %in% TRUE]
    js_abort(sprintf("Unknown app type '%s'; this domain offers: %s.", app_type,
                     if (length(offered)) paste(offered, collapse = ", ") else "none"),
             c("jupyterspaces_unknown_app_type", "jupyterspaces_usage_error"),
             app_type = app_type, offered = offered)
  }
  entry <- apps[i, , drop = FALSE]
  if (isFALSE(entry$available)) {
    reason <- entry$reason
    if (is.na(reason) || !nzchar(reason)) reason <- "the domain gives no reason."
    js_abort(sprintf("%s spaces are unavailable on this domain: %s", entry$display_name, reason),
             "jupyterspaces_app_unavailable", app_type = app_type, reason = reason)
  }
  entry
}

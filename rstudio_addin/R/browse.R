#' Open a space in the browser
#'
#' Opens the space's app (JupyterLab at `<url>spaces/<name>/lab`, or the
#' space's own app) in a web browser. The browser uses its own login to the
#' domain; the token is never put in the URL.
#'
#' @inheritParams space_get
#' @param path Optional file to open (JupyterLab spaces).
#' @param browse A function that opens a URL; by default the browser of the
#'   RStudio context (see [spaces_context()]).
#' @return The URL, invisibly.
#' @export
#' @examples
#' \dontrun{
#' space_browse("analysis", "notebooks/report.ipynb")
#' }
space_browse <- function(name, path = NULL, browse = NULL, conn = spaces_connect()) {
  space <- space_get(name, conn = conn)
  url <- space_url(space, conn, path)
  browse <- browse %||% default_context()$browse
  browse(url)
  invisible(url)
}

space_url <- function(space, conn, path = NULL) {
  url <- space$url
  if (is.null(url) || !nzchar(url)) {
    if (is.null(space$role)) {
      js_abort(sprintf("You cannot open space '%s'.", space$name), "jupyterspaces_usage_error")
    }
    url <- paste0(conn$url, "spaces/", url_segment(space$name), "/")
  }
  if (startsWith(url, "/")) {
    url <- paste0(sub("^(https?://[^/]+).*$", "\\1", conn$url), url)
  } else if (!grepl("^https?://", url)) {
    url <- paste0(conn$url, url)
  }
  if (identical(space$app_type %||% "jupyterlab", "jupyterlab")) {
    if (!grepl("/lab/?$", url)) url <- paste0(sub("/*$", "/", url), "lab")
    url <- sub("/+$", "", url)
    if (!is.null(path) && nzchar(contents_path(path))) {
      url <- paste0(url, "/tree/", contents_path(path))
    }
  }
  url
}

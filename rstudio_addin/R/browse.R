#' Open a space in the browser
#'
#' Opens the space's app in a web browser: JupyterLab at
#' `<url>spaces/<name>/lab`; an app of its own (the app types whose
#' `opens_in` is `"tab"` in [app_types()]: Code Editor, MLflow) at the
#' space's URL, in a browser tab of its own. The browser uses its own login
#' to the domain; the token is never put in the URL.
#'
#' @inheritParams space_get
#' @param path Optional file to open (JupyterLab spaces only: another app is
#'   a `jupyterspaces_usage_error`).
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
  url <- space_url(space, conn, path, opens_in = space_opens_in(space, conn))
  browse <- browse %||% default_context()$browse
  browse(url)
  invisible(url)
}

# Where the space's app opens, as the domain describes its app type:
# "jupyterlab" or "tab". A domain that cannot say (an older one) opens only
# JupyterLab as JupyterLab.
space_opens_in <- function(space, conn) {
  app_type <- space$app_type %||% "jupyterlab"
  apps <- tryCatch(app_types(conn = conn), jupyterspaces_error = function(e) NULL)
  opens_in <- if (!is.null(apps)) apps$opens_in[match(app_type, apps$name)] else NA
  if (is.na(opens_in) || !nzchar(opens_in)) {
    opens_in <- if (identical(app_type, "jupyterlab")) "jupyterlab" else "tab"
  }
  opens_in
}

space_url <- function(space, conn, path = NULL, opens_in = NULL) {
  opens_in <- opens_in %||%
    (if (identical(space$app_type %||% "jupyterlab", "jupyterlab")) "jupyterlab" else "tab")
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
  if (!identical(opens_in, "jupyterlab")) {
    if (!is.null(path) && nzchar(contents_path(path))) {
      js_abort(sprintf(paste("Space '%s' runs %s, which opens in a browser tab of its own;",
                             "opening a file is for JupyterLab spaces."),
                       space$name, space$app_type),
               "jupyterspaces_usage_error")
    }
  } else {
    if (!grepl("/lab/?$", url)) url <- paste0(sub("/*$", "/", url), "lab")
    url <- sub("/+$", "", url)
    if (!is.null(path) && nzchar(contents_path(path))) {
      url <- paste0(url, "/tree/", contents_path(path))
    }
  }
  url
}

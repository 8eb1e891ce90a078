#' Open a space in the browser
#'
#' Opens the space's app in a web browser: JupyterLab at
#' `<url>spaces/<name>/lab`; an app of its own (the app types whose
#' `opens_in` is `"tab"` in [app_types()]: Code Editor, MLflow) at the
#' space's URL, in a browser tab of its own. The browser uses its own login
#' to the domain; the token is never put in the URL.
#'
#' A viewer of a shared space whose app has no read-only mode (`viewers` is
#' `"refused"` in [app_types()]: Code Editor) gets a
#' `jupyterspaces_viewer_refused` condition with the domain's `reason`.
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
  app <- space_app(space, conn)
  if (identical(space$role, "viewer") && identical(app$viewers, "refused")) {
    # The app has no read-only mode: the domain refuses a viewer; say why here.
    js_abort(sprintf("You are a viewer of space '%s', which runs %s: %s", space$name,
                     app$display_name, app$viewer_reason),
             "jupyterspaces_viewer_refused", app_type = space$app_type,
             reason = app$viewer_reason)
  }
  url <- space_url(space, conn, path, opens_in = app$opens_in)
  browse <- browse %||% default_context()$browse
  browse(url)
  invisible(url)
}

# What the domain says of the space's app type: `opens_in` ("jupyterlab" or
# "tab"), `viewers`, `viewer_reason`, `display_name`. A domain that cannot say
# (an older one) opens only JupyterLab as JupyterLab.
space_app <- function(space, conn) {
  app_type <- space$app_type %||% "jupyterlab"
  apps <- tryCatch(app_types(conn = conn), jupyterspaces_error = function(e) NULL)
  i <- if (!is.null(apps)) match(app_type, apps$name) else NA
  app <- if (!is.na(i)) as.list(apps[i, , drop = FALSE]) else list()
  if (is.null(app$opens_in) || is.na(app$opens_in) || !nzchar(app$opens_in)) {
    app$opens_in <- if (identical(app_type, "jupyterlab")) "jupyterlab" else "tab"
  }
  if (is.null(app$display_name) || is.na(app$display_name)) app$display_name <- app_type
  if (is.null(app$viewer_reason) || is.na(app$viewer_reason) || !nzchar(app$viewer_reason)) {
    app$viewer_reason <- "it has no read-only mode."
  }
  app
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

#' jupyterspaces: manage Jupyter Spaces from R and RStudio
#'
#' A client for the REST API of a jupyter-spaces domain (see
#' [spaces_connect()]) and RStudio addins built on it.
#'
#' Every function takes a connection `conn`, by default
#' `spaces_connect()`, which reads `JUPYTER_SPACES_URL` and
#' `JUPYTER_SPACES_TOKEN`. Errors are conditions of class
#' `jupyterspaces_error`; HTTP errors also have the classes
#' `jupyterspaces_http_error` and `jupyterspaces_http_<status>` (for example
#' `jupyterspaces_http_404`) and carry the server's `message` and `reason`.
#'
#' @keywords internal
"_PACKAGE"

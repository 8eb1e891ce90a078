#' Connect to a jupyter-spaces domain
#'
#' A connection holds the domain's URL and an API token. The token is kept
#' out of sight: it is never printed, formatted or included in error messages.
#'
#' Get a token with `jupyter spaces user add NAME` (printed once) or
#' `jupyter spaces user token NAME`, or from an administrator. Put
#' `JUPYTER_SPACES_URL` and `JUPYTER_SPACES_TOKEN` in `~/.Renviron` so every
#' function finds them.
#'
#' @param url The domain's base URL, for example `"https://spaces.example.org/"`.
#'   Defaults to the environment variable `JUPYTER_SPACES_URL`.
#' @param token An API token. Defaults to the environment variable
#'   `JUPYTER_SPACES_TOKEN`.
#' @return A `jupyterspaces_connection` object.
#' @export
#' @examples
#' conn <- spaces_connect("http://localhost:8888/", "not-a-real-token")
#' conn
spaces_connect <- function(url = Sys.getenv("JUPYTER_SPACES_URL"),
                           token = Sys.getenv("JUPYTER_SPACES_TOKEN")) {
  if (!is.character(url) || length(url) != 1 || is.na(url) || !nzchar(url)) {
    js_abort(paste("No domain URL: pass `url` or set JUPYTER_SPACES_URL",
                   "(for example in ~/.Renviron)."),
             "jupyterspaces_config_error")
  }
  if (!is.character(token) || length(token) != 1 || is.na(token) || !nzchar(token)) {
    js_abort(paste("No API token: pass `token` or set JUPYTER_SPACES_TOKEN",
                   "(for example in ~/.Renviron)."),
             "jupyterspaces_config_error")
  }
  if (!grepl("^https?://", url)) {
    js_abort(sprintf("The domain URL must start with http:// or https://, not '%s'.", url),
             "jupyterspaces_config_error")
  }
  url <- sub("/*$", "/", url)
  secret <- new.env(parent = emptyenv())
  secret$token <- token
  structure(
    list(url = url, api_url = paste0(url, "spaces/api/"), secret = secret),
    class = "jupyterspaces_connection"
  )
}

conn_token <- function(conn) conn$secret$token

check_conn <- function(conn) {
  if (!inherits(conn, "jupyterspaces_connection")) {
    js_abort("`conn` must be a connection made by spaces_connect().",
             "jupyterspaces_usage_error")
  }
  invisible(conn)
}

#' @export
format.jupyterspaces_connection <- function(x, ...) {
  sprintf("<jupyterspaces connection to %s (token: <hidden>)>", x$url)
}

#' @export
print.jupyterspaces_connection <- function(x, ...) {
  cat(format(x), "\n", sep = "")
  invisible(x)
}

#' Build a request to the domain's REST API
#'
#' Pure: builds an [httr2::request()] and performs no I/O. [spaces_send()]
#' sends it.
#'
#' @param conn A connection from [spaces_connect()].
#' @param method HTTP method, for example `"GET"`.
#' @param path Path relative to `<url>spaces/api/`, for example
#'   `"spaces/my-space"`. Segments must already be URL-escaped.
#' @param query A named list of query parameters; `NULL` elements are dropped,
#'   logicals are sent as `true`/`false`.
#' @param body A list sent as the JSON body, or `NULL` for no body. `NULL`
#'   elements are dropped.
#' @return An `httr2_request`.
#' @export
#' @examples
#' conn <- spaces_connect("http://localhost:8888/", "not-a-real-token")
#' req <- spaces_request(conn, "GET", "spaces", query = list(limit = 10))
#' req$url
spaces_request <- function(conn, method, path, query = list(), body = NULL) {
  check_conn(conn)
  req <- httr2::request(paste0(conn$api_url, path))
  base_request(req, conn, method, query, body)
}

# Request to the Jupyter contents API of a running space, through the domain
# proxy: <url>spaces/<name>/api/contents/<path>.
space_contents_request <- function(conn, name, path = "", method = "GET",
                                   query = list(), body = NULL) {
  check_conn(conn)
  url <- paste0(conn$url, "spaces/", url_segment(name), "/api/contents")
  p <- contents_path(path)
  if (nzchar(p)) url <- paste0(url, "/", p)
  base_request(httr2::request(url), conn, method, query, body)
}

base_request <- function(req, conn, method, query = list(), body = NULL) {
  req <- httr2::req_method(req, toupper(method))
  req <- httr2::req_headers(
    req,
    Authorization = paste("token", conn_token(conn)),
    Accept = "application/json"
  )
  req <- httr2::req_user_agent(
    req, sprintf("jupyterspaces/%s (R)", utils::packageVersion("jupyterspaces"))
  )
  query <- lapply(compact(as.list(query)), query_value)
  if (length(query)) req <- do.call(httr2::req_url_query, c(list(req), query))
  if (!is.null(body)) {
    body <- compact(body)
    if (!length(body)) body <- structure(list(), names = character())
    req <- httr2::req_body_json(req, body, auto_unbox = TRUE, null = "null")
  }
  # Status codes are turned into classed conditions by spaces_send().
  httr2::req_error(req, is_error = function(resp) FALSE)
}

#' Send a request and turn HTTP errors into classed conditions
#'
#' The one function through which every request of the package goes,
#' including the event streams of [space_events()] and [spaces_follow()].
#'
#' Errors are conditions with the classes `jupyterspaces_http_<status>`,
#' `jupyterspaces_http_error` and `jupyterspaces_error` and the fields
#' `status`, `reason` and `server_message` (from the server's JSON error body
#' `{"message", "reason"}`), `method` and `url`. A failure to reach the server
#' is a `jupyterspaces_connection_error`.
#'
#' @param req A request from [spaces_request()].
#' @param stream `NULL` to read the whole response; or, for a `GET` whose
#'   body is a stream (server-sent events), a function called with each chunk
#'   of the body (a raw vector) as it arrives, returning `TRUE` to go on
#'   reading. Reading stops when it returns anything else, when the server
#'   ends the body, or after `timeout` seconds.
#' @param timeout With `stream`: seconds after which to stop reading (`Inf`:
#'   never).
#' @param wait With `stream`: `TRUE` reads until the stream stops; `FALSE`
#'   returns at once, once the server has answered, with a handle to read it
#'   without blocking (for an event loop such as shiny's): a list with
#'   `pump()`, which passes what has arrived to `stream` and returns `TRUE`
#'   while the stream goes on, and `close()`. A network failure while reading
#'   is a `jupyterspaces_connection_error` from `pump()`.
#' @return An `httr2_response` with a status below 400 (with `stream`,
#'   without its body); with `wait = FALSE`, the handle.
#' @export
spaces_send <- function(req, stream = NULL, timeout = 600, wait = TRUE) {
  method <- req_method(req)
  unreachable <- function(e) {
    js_abort(
      sprintf("Cannot reach %s: %s", req_where(req), conditionMessage(e)),
      "jupyterspaces_connection_error",
      method = method, url = req_where(req)
    )
  }
  if (is.null(stream)) {
    resp <- tryCatch(httr2::req_perform(req), error = unreachable)
    if (httr2::resp_status(resp) >= 400) stop(http_condition(resp, req))
    return(resp)
  }

  # A stream: read the body as it arrives from a non-blocking curl connection
  # (httr2 0.2.2's req_stream() blocks until its buffer is full, which does
  # not suit an event stream).
  handle <- curl::new_handle()
  curl::handle_setheaders(handle, .list = req$headers)
  curl::handle_setopt(handle, connecttimeout = 30L,
                      useragent = req$options$useragent %||% "jupyterspaces")
  if (is.finite(timeout)) curl::handle_setopt(handle, timeout = max(1L, ceiling(timeout)))
  status <- function() curl::handle_data(handle)$status_code
  con <- curl::curl(req$url, handle = handle)
  closed <- FALSE
  close_con <- function() {
    if (!closed) {
      closed <<- TRUE
      try(close(con), silent = TRUE)
    }
    invisible()
  }
  opened <- tryCatch(open(con, "rb", blocking = FALSE), error = function(e) e)
  if (inherits(opened, "error")) {
    close_con()
    # curl refuses to open an error response; ask again without streaming to
    # get the server's JSON error body as a classed condition.
    if (isTRUE(status() >= 400)) spaces_send(req)
    unreachable(opened)
  }
  read <- function() {
    tryCatch(readBin(con, raw(), 32768L), error = function(e) {
      # curl's own timeout (the `timeout` above) ends the stream quietly.
      if (grepl("timeout|timed out", conditionMessage(e), ignore.case = TRUE)) return(NULL)
      close_con()
      # As with open(): an error status, read again for its JSON body.
      if (isTRUE(status() >= 400)) spaces_send(req)
      unreachable(e)
    })
  }
  deadline <- Sys.time() + timeout
  error_body <- raw()
  failed <- function() {
    code <- status() %||% 0L
    if (code < 400) return(invisible())
    close_con()
    stop(http_condition(httr2::response(status_code = code, url = req$url, method = method,
                                        body = error_body), req))
  }
  # Read what has arrived; TRUE while the stream goes on.
  pump <- function() {
    if (closed) return(FALSE)
    repeat {
      if (!isIncomplete(con) || Sys.time() >= deadline) break
      buf <- read()
      if (is.null(buf)) break
      if (!length(buf)) return(TRUE)
      if (isTRUE(status() >= 400)) {
        error_body <<- c(error_body, buf)
      } else if (!isTRUE(stream(buf))) {
        break
      }
    }
    failed()
    close_con()
    FALSE
  }

  if (!isTRUE(wait)) {
    # Wait for the server's answer (headers), so that a refusal is an error here.
    answer_by <- Sys.time() + 30
    while (is.null(status()) || identical(status(), 0L)) {
      if (!pump() || Sys.time() > answer_by) break
      Sys.sleep(0.02)
    }
    failed()
    return(list(pump = pump, close = close_con, status = status))
  }
  on.exit(close_con(), add = TRUE)
  while (pump()) Sys.sleep(0.05)
  code <- status() %||% 0L
  invisible(httr2::response(status_code = code, url = req$url, method = method))
}

req_method <- function(req) {
  req$method %||% (if (is.null(req$body)) "GET" else "POST")
}

# The URL without its query (which may be long).
req_where <- function(req) sub("\\?.*$", "", req$url)

#' @rdname spaces_send
#' @param resp An `httr2_response` with an error status.
#' @return `http_condition()`: the condition (not signalled).
#' @export
http_condition <- function(resp, req = NULL) {
  status <- httr2::resp_status(resp)
  body <- tryCatch(
    jsonlite::fromJSON(rawToChar(resp$body), simplifyVector = FALSE),
    error = function(e) NULL
  )
  if (!is.list(body)) body <- list()
  server_message <- body$message
  if (!is.character(server_message) || !length(server_message) || !nzchar(server_message[1])) {
    server_message <- tryCatch(httr2::resp_status_desc(resp), error = function(e) NULL)
    if (is.null(server_message) || is.na(server_message)) server_message <- "HTTP error"
  }
  server_message <- server_message[1]
  reason <- if (is.character(body$reason)) body$reason[1] else NA_character_
  method <- if (!is.null(req)) req_method(req) else resp$method
  url <- if (!is.null(req)) req_where(req) else sub("\\?.*$", "", resp$url)
  msg <- sprintf("%s [HTTP %d%s: %s %s]", server_message, status,
                 if (is.na(reason)) "" else paste0(" ", reason), method, url)
  js_condition(
    msg,
    class = c(paste0("jupyterspaces_http_", status), "jupyterspaces_http_error"),
    status = status, reason = reason, server_message = server_message,
    method = method, url = url
  )
}

# Send and parse: the JSON body as lists, or NULL for an empty body.
spaces_api <- function(conn, method, path, query = list(), body = NULL) {
  resp <- spaces_send(spaces_request(conn, method, path, query, body))
  resp_json(resp)
}

resp_json <- function(resp) {
  if (httr2::resp_status(resp) == 204 || !length(resp$body)) return(NULL)
  jsonlite::fromJSON(rawToChar(resp$body), simplifyVector = FALSE)
}

# Follow next_cursor paging of a list route; returns the items.
spaces_paged <- function(conn, path, query = list(), max = Inf, page_size = 100) {
  items <- list()
  cursor <- NULL
  repeat {
    limit <- as.integer(min(page_size, max - length(items)))
    page <- spaces_api(conn, "GET", path,
                       query = c(query, list(limit = limit, cursor = cursor)))
    items <- c(items, page$items)
    cursor <- page$next_cursor
    if (is.null(cursor) || !nzchar(cursor) || length(items) >= max) break
  }
  items
}

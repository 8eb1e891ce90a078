#' Follow a space's server-sent events
#'
#' Reads `GET spaces/{name}/events` as it arrives and calls `callback` with
#' each event: a list with `event` (`"progress"`, `"status"`, ...), `data`
#' (the raw data string, JSON for this server: `{percent, message}` for
#' progress, `{status, failure_reason}` for status) and `id`. Reading stops
#' when `callback` returns anything but `TRUE`, when the server ends the
#' stream, or after `timeout` seconds.
#'
#' @inheritParams space_get
#' @param callback A function of one event.
#' @param timeout Seconds after which to stop reading.
#' @return The number of events read, invisibly.
#' @export
#' @examples
#' \dontrun{
#' space_events("analysis", function(ev) { str(ev); TRUE }, timeout = 30)
#' }
space_events <- function(name, callback, timeout = 600, conn = spaces_connect()) {
  check_string(name, "name")
  req <- spaces_request(conn, "GET", api_path("spaces", name, "events"))
  req <- httr2::req_headers(req, Accept = "text/event-stream")
  sse_stream(req, callback, timeout = timeout)
}

# Read an event stream through spaces_send(), calling `callback` with each
# event until it returns anything but TRUE.
sse_stream <- function(req, callback, timeout = 600) {
  parser <- sse_parser()
  n <- 0L
  spaces_send(req, stream = function(chunk) {
    for (ev in parser$feed(chunk)) {
      n <<- n + 1L
      if (!isTRUE(callback(ev))) return(FALSE)
    }
    TRUE
  }, timeout = timeout)
  invisible(n)
}

#' Parse a server-sent events stream incrementally
#'
#' @return A list with `feed(chunk)`: give it raw or character chunks as they
#'   arrive; it returns the list of events completed so far (each a list of
#'   `event`, `data`, `id`).
#' @noRd
sse_parser <- function() {
  buffer <- ""
  pending <- raw()
  feed <- function(chunk) {
    if (is.raw(chunk)) {
      # Keep an incomplete UTF-8 sequence at the end for the next chunk.
      bytes <- c(pending, chunk)
      cut <- utf8_complete_length(bytes)
      pending <<- if (cut < length(bytes)) bytes[(cut + 1):length(bytes)] else raw()
      chunk <- rawToChar(bytes[seq_len(cut)])
      Encoding(chunk) <- "UTF-8"
    }
    buffer <<- paste0(buffer, gsub("\r\n?", "\n", chunk))
    events <- list()
    repeat {
      pos <- regexpr("\n\n", buffer, fixed = TRUE)
      if (pos < 0) break
      block <- substr(buffer, 1, pos - 1)
      buffer <<- substr(buffer, pos + 2, nchar(buffer))
      ev <- parse_sse_block(block)
      if (!is.null(ev)) events[[length(events) + 1]] <- ev
    }
    events
  }
  list(feed = feed)
}

parse_sse_block <- function(block) {
  lines <- strsplit(block, "\n", fixed = TRUE)[[1]]
  event <- "message"
  data <- character()
  id <- NULL
  for (line in lines) {
    if (!nzchar(line) || startsWith(line, ":")) next
    colon <- regexpr(":", line, fixed = TRUE)
    if (colon < 0) {
      field <- line
      value <- ""
    } else {
      field <- substr(line, 1, colon - 1)
      value <- sub("^ ", "", substr(line, colon + 1, nchar(line)))
    }
    if (field == "event") event <- value
    else if (field == "data") data <- c(data, value)
    else if (field == "id") id <- value
  }
  if (!length(data)) return(NULL)
  list(event = event, data = paste(data, collapse = "\n"), id = id)
}

# Length of the longest prefix of `bytes` that does not end inside a UTF-8
# multi-byte sequence.
utf8_complete_length <- function(bytes) {
  n <- length(bytes)
  if (!n) return(0L)
  i <- n
  # Walk back over continuation bytes (10xxxxxx), at most 3.
  while (i > 0 && i > n - 3 && bitwAnd(as.integer(bytes[i]), 0xC0L) == 0x80L) i <- i - 1
  if (i == 0) return(n)
  lead <- as.integer(bytes[i])
  need <- if (lead >= 0xF0) 4L else if (lead >= 0xE0) 3L else if (lead >= 0xC0) 2L else 1L
  if (n - i + 1 < need) i - 1L else n
}

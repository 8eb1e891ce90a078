#' Follow the domain's live feed of spaces
#'
#' `GET spaces/api/events` is one event stream about every space you can see
#' (as [spaces_list()] lists them): first a `snapshot` of them all, then
#' `space` (a space is new or changed: status, settings, members, activity),
#' `deleted` (gone, or no longer visible to you) and `progress` (a start or
#' stop under way) as they happen.
#'
#' `spaces_feed()` hands you each event, with its data parsed (`snapshot`:
#' `list(items)`, `space`: the space, `deleted`: `list(name)`, `progress`:
#' `list(name, percent, message)`).
#'
#' `spaces_follow()` keeps the list of spaces up to date from the feed and
#' calls `callback(spaces, event)` after each event, with the spaces as a
#' data frame like [spaces_list()]'s. When the connection drops (the network,
#' a restarted domain, or the domain closing the stream because your access
#' changed) it reconnects, with growing pauses up to `max_backoff` seconds,
#' and the new snapshot reloads the list. A refusal that reconnecting cannot
#' cure (an invalid token: 401, 403) ends it with the classed HTTP error.
#'
#' @param callback `spaces_feed()`: a function of one event (a list with
#'   `event`, `data`, `id`). `spaces_follow()`: a function of the spaces (a
#'   data frame) and the event; `NULL` to only follow. Reading stops when it
#'   returns anything but `TRUE`.
#' @param timeout Seconds after which to stop (`Inf`: never).
#' @param max_backoff `spaces_follow()`: the longest pause between
#'   reconnection attempts, in seconds.
#' @param conn A connection from [spaces_connect()].
#' @return `spaces_feed()`: the number of events read, invisibly.
#'   `spaces_follow()`: the spaces when it stopped (a data frame), invisibly.
#' @export
#' @examples
#' \dontrun{
#' # Print every change of status, for ten minutes.
#' spaces_follow(function(spaces, ev) {
#'   if (ev$event == "space") message(ev$data$name, " is ", ev$data$status)
#'   TRUE
#' }, timeout = 600)
#' }
spaces_feed <- function(callback, timeout = 600, conn = spaces_connect()) {
  sse_stream(feed_request(conn), function(ev) callback(feed_event(ev)), timeout = timeout)
}

#' @rdname spaces_feed
#' @export
spaces_follow <- function(callback = NULL, timeout = Inf, max_backoff = 30,
                          conn = spaces_connect()) {
  go_on <- TRUE
  f <- feed_follower(conn, function(spaces, ev) {
    if (!is.null(callback) && !isTRUE(callback(spaces, ev))) go_on <<- FALSE
    go_on
  }, max_backoff = max_backoff)
  on.exit(f$close(), add = TRUE)
  deadline <- Sys.time() + timeout
  while (go_on && Sys.time() < deadline) {
    f$pump()
    if (go_on) Sys.sleep(0.05)
  }
  invisible(f$spaces())
}

# The feed's request: pure, as spaces_request().
feed_request <- function(conn) {
  httr2::req_headers(spaces_request(conn, "GET", "events"), Accept = "text/event-stream")
}

# An event with its JSON data parsed (data that is not JSON stays a string).
feed_event <- function(ev) {
  ev$data <- tryCatch(jsonlite::fromJSON(ev$data, simplifyVector = FALSE),
                      error = function(e) ev$data)
  ev
}

# The spaces after an event: `state` is a named list of spaces (by name), as
# the listing gives them. Pure.
feed_reduce <- function(state, ev) {
  data <- ev$data
  switch(
    ev$event,
    snapshot = {
      items <- data$items %||% list()
      names(items) <- vapply(items, function(s) s$name, "")
      items
    },
    space = {
      if (is.list(data) && is.character(data$name)) state[[data$name]] <- data
      state
    },
    deleted = {
      if (is.list(data) && is.character(data$name)) state[[data$name]] <- NULL
      state
    },
    state # progress and what a newer domain may add: the list is unchanged
  )
}

# The spaces as a data frame like spaces_list()'s, by name.
feed_table <- function(state) {
  items <- unname(state)
  if (length(items)) items <- items[order(vapply(items, function(s) s$name, ""))]
  records_df(items, space_columns)
}

# Follow the feed without blocking: `pump()` reads what has arrived (for an
# event loop, or a loop of its own in spaces_follow()), reconnecting after a
# drop; `on_event(spaces, ev)` is called after each event. A stream that has
# been silent for `stall` seconds (the domain sends a keep-alive every 15 s)
# counts as dropped. Connection state for a UI: `status()`.
feed_follower <- function(conn, on_event, max_backoff = 30, stall = 45,
                          clock = Sys.time) {
  state <- list()
  handle <- NULL
  parser <- NULL
  last_data <- NULL
  retry_at <- clock()
  backoff <- 0.5
  connected <- FALSE
  problem <- NULL

  chunk <- function(buf) {
    last_data <<- clock()
    go_on <- TRUE
    for (ev in parser$feed(buf)) {
      ev <- feed_event(ev)
      state <<- feed_reduce(state, ev)
      if (identical(ev$event, "snapshot")) {
        connected <<- TRUE
        problem <<- NULL
        backoff <<- 0.5
      }
      if (!isTRUE(on_event(feed_table(state), ev))) go_on <- FALSE
    }
    go_on
  }
  drop <- function(why) {
    if (!is.null(handle)) handle$close()
    handle <<- NULL
    connected <<- FALSE
    problem <<- why
    retry_at <<- clock() + backoff
    backoff <<- min(backoff * 2, max_backoff)
  }
  connect <- function() {
    parser <<- sse_parser()
    last_data <<- clock()
    handle <<- tryCatch(
      spaces_send(feed_request(conn), stream = chunk, timeout = Inf, wait = FALSE),
      jupyterspaces_error = function(e) {
        # Reconnecting cannot cure a refused token (and tryCatch's later
        # handlers would catch a re-signal from an earlier one: one handler).
        if (inherits(e, c("jupyterspaces_http_401", "jupyterspaces_http_403"))) stop(e)
        drop(conditionMessage(e))
        NULL
      }
    )
  }
  pump <- function() {
    if (is.null(handle)) {
      if (clock() < retry_at) return(invisible(FALSE))
      connect()
      if (is.null(handle)) return(invisible(FALSE))
    }
    open <- tryCatch(handle$pump(), jupyterspaces_error = function(e) {
      drop(conditionMessage(e))
      NA
    })
    if (isFALSE(open)) {
      drop("the domain closed the stream")
    } else if (isTRUE(open) && as.numeric(difftime(clock(), last_data, units = "secs")) > stall) {
      drop(sprintf("nothing heard from the domain for %d seconds", as.integer(stall)))
    }
    invisible(connected)
  }
  list(
    pump = pump,
    spaces = function() feed_table(state),
    # Go on from a list read otherwise (GET spaces): the later of the two wins.
    replace = function(items) {
      names(items) <- vapply(items, function(s) s$name, "")
      state <<- items
      invisible()
    },
    status = function() list(connected = connected, problem = problem),
    close = function() {
      if (!is.null(handle)) handle$close()
      handle <<- NULL
      connected <<- FALSE
      invisible()
    }
  )
}

test_that("the SSE parser handles events split across chunks", {
  p <- jupyterspaces:::sse_parser()
  expect_equal(p$feed(charToRaw("event: progress\ndata: {\"percent\": 10,")), list())
  evs <- p$feed(charToRaw(" \"message\": \"pulling\"}\n\nevent: status\r\ndata: {\"status\": \"running\"}\r\n\r\n"))
  expect_length(evs, 2)
  expect_equal(evs[[1]]$event, "progress")
  expect_equal(jsonlite::fromJSON(evs[[1]]$data)$percent, 10)
  expect_equal(evs[[2]]$event, "status")
  expect_equal(jsonlite::fromJSON(evs[[2]]$data)$status, "running")
})

test_that("comments, multi-line data, ids and default event type", {
  p <- jupyterspaces:::sse_parser()
  evs <- p$feed(": keep-alive\n\nid: 7\ndata: a\ndata: b\n\n")
  expect_length(evs, 1)
  expect_equal(evs[[1]], list(event = "message", data = "a\nb", id = "7"))
})

test_that("UTF-8 characters split across chunks survive", {
  p <- jupyterspaces:::sse_parser()
  bytes <- charToRaw(enc2utf8("data: d\u00e9marrage\n\n"))
  cut <- which(bytes == as.raw(0xc3))
  expect_length(p$feed(bytes[seq_len(cut)]), 0)
  evs <- p$feed(bytes[(cut + 1):length(bytes)])
  expect_equal(evs[[1]]$data, enc2utf8("d\u00e9marrage"))
})

test_that("the status tracker knows when a wait ends", {
  t <- jupyterspaces:::status_tracker("running", "starting")
  expect_false(t$done("starting"))
  expect_true(t$done("running"))
  expect_true(t$done("failed"))
  expect_true(t$done("stopped"))
  t <- jupyterspaces:::status_tracker("running", "stopped")
  expect_false(t$done("stopped"))
  t <- jupyterspaces:::status_tracker("stopped", "stopping")
  expect_true(t$done("stopped"))
})

test_that("sse_stream reads a stream and stops when the callback says so", {
  f <- withr::local_tempfile(fileext = ".txt")
  writeLines(c("event: progress", 'data: {"percent": 40, "message": "half"}', "",
               ": ping", "",
               "event: status", 'data: {"status": "running"}', "",
               "event: status", 'data: {"status": "never read"}', ""), f)
  req <- httr2::request(paste0("file://", normalizePath(f)))
  seen <- list()
  n <- jupyterspaces:::sse_stream(req, function(ev) {
    seen[[length(seen) + 1]] <<- ev
    !grepl("running", ev$data)
  }, timeout = 10)
  expect_equal(n, 2L)
  expect_equal(vapply(seen, `[[`, "", "event"), c("progress", "status"))
})

test_that("space_wait follows status events to running, with progress", {
  conn <- fake_conn()
  f <- withr::local_tempfile(fileext = ".txt")
  writeLines(c("event: status", 'data: {"status": "starting", "failure_reason": null}', "",
               "event: progress", 'data: {"percent": 50, "message": "launching"}', "",
               "event: status", 'data: {"status": "running", "failure_reason": null}', ""), f)
  file_events <- function(name, callback, timeout, conn) {
    jupyterspaces:::sse_stream(httr2::request(paste0("file://", normalizePath(f))), callback, timeout)
  }
  m <- recording_mock(function(req) json_response(space_json("demo", status = "running")))
  sp <- httr2::with_mock(m$mock, jupyterspaces:::space_wait(
    "demo", "running", space_json("demo", status = "starting"), timeout = 10,
    progress = TRUE, conn = conn, events = file_events))
  expect_equal(sp$status, "running")
  expect_length(m$requests, 1) # one confirming GET, no polling

  writeLines(c("event: status", 'data: {"status": "failed", "failure_reason": "no memory"}', ""), f)
  m <- recording_mock(function(req) json_response(space_json("demo", status = "failed", failure_reason = "no memory")))
  err <- httr2::with_mock(m$mock, tryCatch(jupyterspaces:::space_wait(
    "demo", "running", space_json("demo", status = "starting"), timeout = 10,
    progress = FALSE, conn = conn, events = file_events), error = function(e) e))
  expect_s3_class(err, "jupyterspaces_start_failed")
  expect_equal(err$failure_reason, "no memory")
})

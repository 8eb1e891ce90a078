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

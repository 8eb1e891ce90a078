# The live feed's pure parts: its request and how events change the list.

test_that("the feed's request is built without I/O", {
  conn <- fake_conn()
  req <- jupyterspaces:::feed_request(conn)
  expect_equal(req$url, "http://spaces.test:8888/base/spaces/api/events")
  expect_equal(req$headers$Accept, "text/event-stream")
  expect_equal(req$headers$Authorization, "token s3cret-token-value")
  expect_identical(req, jupyterspaces:::feed_request(conn))
})

test_that("snapshot, space, deleted and progress events keep the list", {
  ev <- function(event, data) {
    jupyterspaces:::feed_event(list(event = event, id = NULL,
                                    data = as.character(jsonlite::toJSON(data, auto_unbox = TRUE, null = "null"))))
  }
  reduce <- jupyterspaces:::feed_reduce
  s <- reduce(list(), ev("snapshot", list(items = list(space_json("b"), space_json("a")))))
  expect_equal(jupyterspaces:::feed_table(s)$name, c("a", "b"))
  s <- reduce(s, ev("space", space_json("c", status = "starting", sharing = "shared")))
  s <- reduce(s, ev("space", space_json("a", status = "running")))
  t <- jupyterspaces:::feed_table(s)
  expect_equal(t$name, c("a", "b", "c"))
  expect_equal(t$status, c("running", "stopped", "starting"))
  expect_s3_class(t$created, "POSIXct")
  expect_identical(reduce(s, ev("progress", list(name = "c", percent = 50, message = "x"))), s)
  s <- reduce(s, ev("deleted", list(name = "b")))
  expect_equal(jupyterspaces:::feed_table(s)$name, c("a", "c"))
  # A new snapshot (after a reconnect) replaces everything.
  s <- reduce(s, ev("snapshot", list(items = list())))
  expect_equal(nrow(jupyterspaces:::feed_table(s)), 0)
  expect_true(all(c("name", "status", "role") %in% names(jupyterspaces:::feed_table(s))))
})

test_that("following an unreachable domain retries without end, then stops on time", {
  conn <- spaces_connect("http://127.0.0.1:1/", "t")
  f <- jupyterspaces:::feed_follower(conn, function(spaces, ev) TRUE, max_backoff = 0.2)
  for (i in 1:3) {
    f$pump()
    Sys.sleep(0.25)
  }
  st <- f$status()
  expect_false(st$connected)
  expect_match(st$problem, "^Cannot reach http://127.0.0.1:1/spaces/api/events")
  start <- Sys.time()
  res <- spaces_follow(timeout = 1, max_backoff = 0.2, conn = conn)
  expect_lt(as.numeric(difftime(Sys.time(), start, units = "secs")), 5)
  expect_equal(nrow(res), 0)
})

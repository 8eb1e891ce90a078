test_that("HTTP errors become classed conditions with the server's message", {
  resp <- json_response(list(message = "Space not found", reason = "not_found"), status = 404)
  cnd <- http_condition(resp)
  expect_s3_class(cnd, "jupyterspaces_http_404")
  expect_s3_class(cnd, "jupyterspaces_http_error")
  expect_s3_class(cnd, "jupyterspaces_error")
  expect_s3_class(cnd, "error")
  expect_equal(cnd$status, 404)
  expect_equal(cnd$reason, "not_found")
  expect_equal(cnd$server_message, "Space not found")
  expect_match(conditionMessage(cnd), "^Space not found \\[HTTP 404 not_found")
})

test_that("a non-JSON error body still gives a classed condition", {
  resp <- httr2::response(status_code = 502, body = charToRaw("<html>bad gateway</html>"))
  cnd <- http_condition(resp)
  expect_s3_class(cnd, "jupyterspaces_http_502")
  expect_true(is.na(cnd$reason))
  expect_match(cnd$server_message, "Bad Gateway")
})

test_that("spaces_send signals the condition; the token stays out of it", {
  conn <- fake_conn()
  mock <- function(req) served(req, json_response(list(message = "space r-demo is stopping", reason = "conflict"), 409))
  err <- httr2::with_mock(mock, tryCatch(
    space_start("demo", conn = conn), error = function(e) e))
  expect_s3_class(err, "jupyterspaces_http_409")
  expect_equal(err$server_message, "space r-demo is stopping")
  expect_equal(err$method, "POST")
  expect_false(grepl("s3cret", conditionMessage(err)))
})

test_that("an unreachable server is a connection error", {
  conn <- spaces_connect("http://127.0.0.1:1/", "s3cret")
  err <- tryCatch(me(conn = conn), error = function(e) e)
  expect_s3_class(err, "jupyterspaces_connection_error")
  expect_s3_class(err, "jupyterspaces_error")
  expect_false(grepl("s3cret", conditionMessage(err)))
})

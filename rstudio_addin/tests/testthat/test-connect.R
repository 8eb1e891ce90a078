test_that("spaces_connect reads the environment and normalises the URL", {
  withr::local_envvar(JUPYTER_SPACES_URL = "http://example.org:8888/base",
                      JUPYTER_SPACES_TOKEN = "tok-123")
  conn <- spaces_connect()
  expect_s3_class(conn, "jupyterspaces_connection")
  expect_equal(conn$url, "http://example.org:8888/base/")
  expect_equal(conn$api_url, "http://example.org:8888/base/spaces/api/")
})

test_that("spaces_connect fails with a classed condition without config", {
  withr::local_envvar(JUPYTER_SPACES_URL = NA, JUPYTER_SPACES_TOKEN = NA)
  expect_error(spaces_connect(), class = "jupyterspaces_config_error")
  expect_error(spaces_connect("http://x/"), class = "jupyterspaces_config_error")
  expect_error(spaces_connect("x.org", "t"), class = "jupyterspaces_config_error")
})

test_that("the token is never printed", {
  conn <- spaces_connect("http://example.org/", "very-secret-token")
  out <- capture.output(print(conn))
  expect_false(any(grepl("very-secret-token", out)))
  expect_match(paste(out, collapse = ""), "token: <hidden>")
  expect_false(grepl("very-secret-token", format(conn)))
  expect_false(any(grepl("very-secret-token", capture.output(str(conn)))))
  req <- spaces_request(conn, "GET", "me")
  printed <- c(cli::cli_fmt(print(req)), capture.output(print(req), type = "message"))
  expect_false(any(grepl("very-secret-token", printed)))
})

test_that("spaces_request builds URL, method, headers, query and body", {
  conn <- fake_conn()
  req <- spaces_request(conn, "get", "spaces",
                        query = list(limit = 10L, sharing = "shared", owner = NULL, flag = TRUE))
  expect_s3_class(req, "httr2_request")
  expect_equal(req$method, "GET")
  expect_equal(req$url, "http://spaces.test:8888/base/spaces/api/spaces?limit=10&sharing=shared&flag=true")
  expect_equal(req$headers$Authorization, "token s3cret-token-value")
  expect_equal(req$headers$Accept, "application/json")
  expect_null(req$body)

  req <- spaces_request(conn, "PATCH", "spaces/x", body = list(volume_gb = 10, image = NULL))
  expect_equal(req$method, "PATCH")
  expect_equal(req_body_data(req), list(volume_gb = 10))
  expect_equal(req$body$type, "json")
})

test_that("path segments are escaped", {
  expect_equal(jupyterspaces:::api_path("spaces", "a b", "members", "x/y"),
               "spaces/a%20b/members/x%2Fy")
  expect_error(jupyterspaces:::api_path("spaces", ""), class = "jupyterspaces_usage_error")
  expect_equal(jupyterspaces:::contents_path("dir/sub file.R"), "dir/sub%20file.R")
  expect_equal(jupyterspaces:::contents_path("./a//b/"), "a/b")
  expect_error(jupyterspaces:::contents_path("../etc/passwd"), class = "jupyterspaces_usage_error")
})

test_that("contents requests go through the domain proxy", {
  conn <- fake_conn()
  req <- jupyterspaces:::space_contents_request(conn, "demo", "data/x y.csv", "PUT",
                                                 body = list(type = "file"))
  expect_equal(req$url, "http://spaces.test:8888/base/spaces/demo/api/contents/data/x%20y.csv")
  expect_equal(req$method, "PUT")
  expect_equal(req$headers$Authorization, "token s3cret-token-value")
  req <- jupyterspaces:::space_contents_request(conn, "demo", "")
  expect_equal(req$url, "http://spaces.test:8888/base/spaces/demo/api/contents")
})

test_that("building a request does no I/O", {
  conn <- spaces_connect("http://127.0.0.1:1/", "t")
  expect_s3_class(spaces_request(conn, "DELETE", "spaces/a"), "httr2_request")
})

test_that("building is pure: the same arguments give the same request, and nothing is sent", {
  conn <- spaces_connect("http://127.0.0.1:1/", "t")
  build <- function() spaces_request(conn, "POST", "spaces", query = list(a = 1),
                                     body = list(name = "x", image = NULL))
  expect_identical(build(), build())
  req <- jupyterspaces:::space_contents_request(conn, "x", "a/b.R", "PUT", body = list(type = "file"))
  expect_identical(req, jupyterspaces:::space_contents_request(conn, "x", "a/b.R", "PUT",
                                                                body = list(type = "file")))
  # Sending it is what fails (nothing listens on port 1).
  expect_error(spaces_send(build()), class = "jupyterspaces_connection_error")
})

test_that("space_upload sends files and folders as base64 through the proxy", {
  conn <- fake_conn()
  dir <- withr::local_tempdir()
  dir.create(file.path(dir, "proj", "sub"), recursive = TRUE)
  bin <- as.raw(c(0:255, 0, 0))
  writeBin(bin, file.path(dir, "proj", "sub", "data.bin"))
  writeLines("x <- 1", file.path(dir, "proj", "a.R"))
  writeLines("hidden", file.path(dir, "proj", ".hidden"))
  m <- recording_mock(function(req) json_response(list(name = "x"), 201))
  out <- httr2::with_mock(m$mock, space_upload("demo", file.path(dir, "proj"), to = "work/proj", conn = conn))
  urls <- vapply(m$requests, function(r) sub("^.*/api/contents/", "", r$url), "")
  expect_equal(urls, c("work", "work/proj", "work/proj/a.R", "work/proj/sub", "work/proj/sub/data.bin"))
  expect_equal(out, c("work/proj", "work/proj/a.R", "work/proj/sub", "work/proj/sub/data.bin"))
  expect_true(all(vapply(m$requests, function(r) r$method, "") == "PUT"))
  expect_equal(req_body_data(m$requests[[1]]), list(type = "directory"))
  b <- req_body_data(m$requests[[5]])
  expect_equal(b$format, "base64")
  expect_equal(jsonlite::base64_dec(b$content), bin)
})

test_that("large files are uploaded in chunks", {
  conn <- fake_conn()
  f <- withr::local_tempfile()
  bytes <- as.raw(sample(0:255, 2500, replace = TRUE))
  writeBin(bytes, f)
  m <- recording_mock(function(req) json_response(list(name = "x"), 200))
  httr2::with_mock(m$mock, space_upload("demo", f, to = "big.bin", chunk_size = 1000, conn = conn))
  chunks <- vapply(m$requests, function(r) req_body_data(r)$chunk, 1)
  expect_equal(chunks, c(1, 2, -1))
  got <- do.call(c, lapply(m$requests, function(r) jsonlite::base64_dec(req_body_data(r)$content)))
  expect_equal(got, bytes)
})

test_that("space_download fetches folders recursively and decodes base64", {
  conn <- fake_conn()
  to <- file.path(withr::local_tempdir(), "out")
  bin <- as.raw(c(1, 2, 250, 0))
  m <- recording_mock(function(req) {
    path <- sub("\\?.*$", "", sub("^.*/api/contents/?", "", req$url))
    if (path == "proj") {
      if (grepl("content=0", req$url)) return(json_response(list(type = "directory", name = "proj")))
      return(json_response(list(type = "directory", content = list(
        list(name = "a.bin", path = "proj/a.bin", type = "file"),
        list(name = "sub", path = "proj/sub", type = "directory")))))
    }
    if (path == "proj/sub") {
      return(json_response(list(type = "directory", content = list())))
    }
    if (path == "proj/a.bin") {
      if (grepl("content=0", req$url)) return(json_response(list(type = "file")))
      return(json_response(list(type = "file", format = "base64",
                                content = jsonlite::base64_enc(bin))))
    }
    json_response(list(message = "No such file", reason = "not_found"), 404)
  })
  httr2::with_mock(m$mock, {
    out <- space_download("demo", "proj", to = to, conn = conn)
    expect_equal(readBin(file.path(to, "a.bin"), "raw", 100), bin)
    expect_true(dir.exists(file.path(to, "sub")))
    expect_error(space_download("demo", "proj/a.bin", to = file.path(to, "a.bin"), conn = conn),
                 class = "jupyterspaces_file_exists")
    expect_error(space_download("demo", "nope", conn = conn), class = "jupyterspaces_http_404")
  })
})

test_that("DESCRIPTION declares the issue's dependencies", {
  d <- utils::packageDescription("jupyterspaces")
  deps <- function(field) sort(trimws(sub("\\(.*$", "", strsplit(d[[field]], ",")[[1]])))
  expect_equal(deps("Suggests"), sort(c("miniUI", "rstudioapi", "shiny", "testthat", "withr")))
  expect_true(all(c("cli", "httr2", "jsonlite") %in% deps("Imports")))
  # Besides them only curl (httr2's own dependency, for the non-blocking event
  # stream) and base R's utils.
  expect_equal(setdiff(deps("Imports"), c("cli", "httr2", "jsonlite")), c("curl", "utils"))
})

test_that("addins.dcf declares the three addins, bound to exported functions", {
  dcf <- system.file("rstudio", "addins.dcf", package = "jupyterspaces")
  expect_true(nzchar(dcf))
  addins <- as.data.frame(read.dcf(dcf), stringsAsFactors = FALSE)
  expect_equal(addins$Name, c("Jupyter Spaces", "Send current file to space",
                              "Open space in browser"))
  expect_equal(addins$Binding, c("addin_spaces", "addin_send_file", "addin_open_space"))
  expect_equal(addins$Interactive, rep("true", 3))
  expect_true(all(nzchar(addins$Description)))
  for (b in addins$Binding) {
    expect_true(b %in% getNamespaceExports("jupyterspaces"), info = b)
    # RStudio calls a binding without arguments.
    expect_length(formals(getExportedValue("jupyterspaces", b)), 0)
  }
})

test_that("each addin runs its function and reports errors through the context", {
  skip_if_not_installed("shiny")
  skip_if_not_installed("miniUI")
  messages <- character()
  ctx <- spaces_context(active_document = function() stop("not asked"),
                        browse = function(url) stop("not asked"),
                        choose = function(choices, title) stop("not asked"),
                        inform = function(m) messages <<- c(messages, m))
  withr::local_options(jupyterspaces.context = ctx)
  withr::local_envvar(JUPYTER_SPACES_URL = NA, JUPYTER_SPACES_TOKEN = NA)
  for (addin in list(addin_spaces, addin_send_file, addin_open_space)) {
    expect_null(addin())
  }
  expect_length(messages, 3)
  expect_match(messages, "^Jupyter Spaces: No domain URL: .*JUPYTER_SPACES_URL")
})

test_that("outside RStudio the real context says so with classed conditions", {
  skip_if(requireNamespace("rstudioapi", quietly = TRUE) && rstudioapi::isAvailable(),
          "running inside RStudio")
  ctx <- rstudio_context()
  expect_s3_class(ctx, "jupyterspaces_context")
  expect_error(ctx$active_document(), class = "jupyterspaces_context_error")
  if (!interactive()) {
    expect_error(ctx$choose(c("a", "b"), "Pick one"), class = "jupyterspaces_context_error")
  }
  expect_message(ctx$inform("hello there"), "hello there")
  opened <- NULL
  withr::local_options(browser = function(url) opened <<- url)
  ctx$browse("http://spaces.test/spaces/a/lab")
  expect_equal(opened, "http://spaces.test/spaces/a/lab")
})

test_that("spaces_context replaces only what it is given; the option sets the default", {
  ctx <- spaces_context(active_document = function() "a.R")
  expect_equal(ctx$active_document(), "a.R")
  expect_true(all(vapply(ctx, is.function, logical(1))))
  expect_setequal(names(ctx), c("active_document", "browse", "choose", "inform"))
  withr::local_options(jupyterspaces.context = ctx)
  expect_identical(jupyterspaces:::default_context(), ctx)
  withr::local_options(jupyterspaces.context = NULL)
  expect_identical(names(jupyterspaces:::default_context()), names(ctx))
})

test_that("spaces_send is the only function that sends anything", {
  ns <- asNamespace("jupyterspaces")
  io <- paste(c("httr2::req_perform", "httr2::req_stream", "curl::curl\\(",
                "curl::curl_fetch", "curl::multi_", "\\burl\\(", "download\\.file",
                "socketConnection", "\\breq_perform\\("), collapse = "|")
  senders <- Filter(function(f) {
    fn <- get(f, envir = ns)
    is.function(fn) && any(grepl(io, deparse(fn)))
  }, ls(ns, all.names = TRUE))
  expect_equal(senders, "spaces_send")
})

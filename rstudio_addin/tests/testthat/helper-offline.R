# Helpers for offline tests: a fake connection and canned responses.

fake_conn <- function(token = "s3cret-token-value") {
  spaces_connect("http://spaces.test:8888/base", token)
}

json_response <- function(x, status = 200, url = "http://spaces.test:8888/base/", headers = list()) {
  body <- if (is.null(x)) raw() else charToRaw(enc2utf8(jsonlite::toJSON(x, auto_unbox = TRUE, null = "null")))
  httr2::response(status_code = status, url = url,
                  headers = c(list(`Content-Type` = "application/json"), headers), body = body)
}

space_json <- function(name = "demo", status = "stopped", sharing = "private",
                       role = "owner", ...) {
  modifyList(list(
    name = name, display_name = toupper(name), owner = "owner", sharing = sharing,
    app_type = "jupyterlab", instance_type = "small", image = "default",
    volume_gb = 5, idle_timeout_minutes = 60, status = status,
    failure_reason = NULL, created = "2024-05-01T10:00:00Z",
    updated = "2024-05-01T10:00:00Z", last_activity = "2024-05-01T10:00:00Z", role = role,
    url = paste0("/base/spaces/", name, "/"), volume_used_bytes = 0
  ), list(...))
}

# An entry of GET app-types, as jupyter_spaces/apps.py describes the app.
app_type_json <- function(name = "jupyterlab", available = TRUE, reason = "") {
  lab <- identical(name, "jupyterlab")
  list(name = name, display_name = if (lab) "JupyterLab" else "RStudio",
       description = if (lab) "Notebooks, consoles, terminals and files." else "RStudio Server.",
       icon = if (lab) "jupyter" else name,
       co_edits = lab, viewers = if (lab) "read-only" else "refused",
       viewer_reason = if (lab) "" else "RStudio has no read-only mode.",
       opens_in = if (lab) "jupyterlab" else "tab", available = available, reason = reason)
}

# Record requests and answer from a function of the request.
recording_mock <- function(answer) {
  env <- new.env()
  env$requests <- list()
  env$mock <- function(req) {
    env$requests[[length(env$requests) + 1]] <- req
    served(req, answer(req))
  }
  env
}

# Every canned answer goes through here. With JUPYTER_SPACES_RECORD_RESPONSES
# naming a file, each exchange is appended to it as one JSON line (method, url,
# request body, status, headers, body): tests/domain/test_r_fixtures.py runs
# these tests and checks the lines against jupyter_spaces/openapi.yaml, so the
# hand-built answers cannot drift from what the server sends.
served <- function(req, resp) {
  out <- Sys.getenv("JUPYTER_SPACES_RECORD_RESPONSES", "")
  if (!nzchar(out) || !inherits(resp, "httr2_response")) return(resp)
  body <- req$body
  sent <- if (is.null(body$data)) NULL
    else if (identical(body$type, "json"))
      as.character(do.call(jsonlite::toJSON, c(list(body$data), body$params)))
    else NA  # not JSON (an upload's bytes): not checked
  line <- list(
    method = req$method %||% (if (is.null(body$data)) "GET" else "POST"),
    url = req$url,
    request_body = sent,
    request_headers = as.list(unclass(req$headers)),
    status = resp$status_code,
    headers = as.list(unclass(resp$headers)),
    body = if (length(resp$body)) rawToChar(resp$body) else NULL
  )
  cat(jsonlite::toJSON(line, auto_unbox = TRUE, null = "null"), "\n",
      file = out, append = TRUE, sep = "")
  resp
}

req_body_data <- function(req) req$body$data

# Helpers for offline tests: a fake connection and canned responses.

fake_conn <- function(token = "s3cret-token-value") {
  spaces_connect("http://spaces.test:8888/base", token)
}

json_response <- function(x, status = 200, url = "http://spaces.test:8888/base/") {
  body <- if (is.null(x)) raw() else charToRaw(enc2utf8(jsonlite::toJSON(x, auto_unbox = TRUE, null = "null")))
  httr2::response(status_code = status, url = url,
                  headers = list(`Content-Type` = "application/json"), body = body)
}

space_json <- function(name = "demo", status = "stopped", sharing = "private",
                       role = "owner", ...) {
  modifyList(list(
    name = name, display_name = toupper(name), owner = "owner", sharing = sharing,
    app_type = "jupyterlab", instance_type = "small", image = "default",
    volume_gb = 5, idle_timeout_minutes = 60, status = status,
    failure_reason = NULL, created = "2024-05-01T10:00:00Z",
    updated = "2024-05-01T10:00:00+00:00", last_activity = NULL, role = role,
    url = paste0("/base/spaces/", name, "/"), volume_used_bytes = 0
  ), list(...))
}

# Record requests and answer from a function of the request.
recording_mock <- function(answer) {
  env <- new.env()
  env$requests <- list()
  env$mock <- function(req) {
    env$requests[[length(env$requests) + 1]] <- req
    answer(req)
  }
  env
}

req_body_data <- function(req) req$body$data

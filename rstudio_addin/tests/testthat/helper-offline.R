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
  app <- switch(
    name,
    jupyterlab = list(display_name = "JupyterLab",
                      description = "Notebooks, consoles, terminals and files.",
                      icon = "jupyter", co_edits = TRUE, viewers = "read-only",
                      viewer_reason = "", opens_in = "jupyterlab"),
    `code-editor` = list(display_name = "Code Editor",
                         description = "VS Code in the browser (code-server).",
                         icon = "code", co_edits = FALSE, viewers = "refused",
                         viewer_reason = "The Code Editor has no read-only mode.",
                         opens_in = "tab"),
    mlflow = list(display_name = "MLflow", description = "An MLflow tracking server.",
                  icon = "mlflow", co_edits = FALSE, viewers = "read-only",
                  viewer_reason = "", opens_in = "tab"),
    list(display_name = "RStudio", description = "RStudio Server.", icon = name,
         co_edits = FALSE, viewers = "refused", viewer_reason = "RStudio has no read-only mode.",
         opens_in = "tab")
  )
  c(list(name = name), app, list(available = available, reason = reason))
}

# GET app-types as a domain with Code Editor and MLflow installed answers it.
app_types_json <- function() {
  list(items = list(
    app_type_json("jupyterlab"), app_type_json("code-editor"), app_type_json("mlflow"),
    app_type_json("rstudio", available = FALSE,
                  reason = "RStudio Server is in none of the package registries.")))
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

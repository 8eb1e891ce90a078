#' Copy files and folders to and from a running space
#'
#' Files move through the running space's Jupyter contents API
#' (`<url>spaces/<name>/api/contents/<path>`) behind the domain's proxy, with
#' the connection's token; the space must be running and you need a role that
#' may write (owner or editor) to upload. Contents travel base64-encoded, so
#' binary files are copied byte for byte; files larger than `chunk_size` are
#' uploaded in chunks. Folders are copied recursively (hidden files, whose
#' names start with a dot, are skipped: Jupyter does not serve them).
#'
#' @inheritParams space_get
#' @param path `space_upload()`: a local file or folder. `space_download()`:
#'   a file or folder in the space, relative to the space's home (`""` for
#'   the whole home).
#' @param to `space_upload()`: the path in the space (default: the local
#'   name, at the top of the space's home). `space_download()`: the local
#'   path (default: the remote name in the working directory).
#' @param overwrite `space_download()`: replace existing local files?
#' @param chunk_size Upload files larger than this many bytes in chunks.
#' @return The paths written (in the space for `space_upload()`, locally for
#'   `space_download()`), invisibly.
#' @export
#' @examples
#' \dontrun{
#' space_upload("analysis", "data/survey.csv", to = "data/survey.csv")
#' space_upload("analysis", "R")          # a folder, recursively
#' space_download("analysis", "results", to = "results")
#' }
space_upload <- function(name, path, to = NULL, chunk_size = 8 * 1024^2,
                         conn = spaces_connect()) {
  check_string(name, "name")
  check_string(path, "path")
  if (!file.exists(path)) {
    js_abort(sprintf("No such local file or folder: '%s'.", path),
             "jupyterspaces_usage_error")
  }
  to <- to %||% basename(normalizePath(path, mustWork = TRUE))
  to <- contents_rel(to)
  # Make sure the folders above `to` exist.
  parts <- strsplit(to, "/", fixed = TRUE)[[1]]
  if (length(parts) > 1) {
    for (i in seq_len(length(parts) - 1)) {
      remote_mkdir(conn, name, paste(parts[seq_len(i)], collapse = "/"))
    }
  }
  invisible(upload_any(conn, name, path, to, chunk_size))
}

upload_any <- function(conn, name, path, to, chunk_size) {
  if (dir.exists(path)) {
    remote_mkdir(conn, name, to)
    out <- to
    for (entry in sort(list.files(path, all.files = FALSE, no.. = TRUE))) {
      out <- c(out, upload_any(conn, name, file.path(path, entry),
                               paste(c(if (nzchar(to)) to, entry), collapse = "/"),
                               chunk_size))
    }
    out
  } else {
    upload_file(conn, name, path, to, chunk_size)
    to
  }
}

upload_file <- function(conn, name, path, to, chunk_size) {
  size <- file.size(path)
  if (size <= chunk_size) {
    bytes <- readBin(path, "raw", n = max(size, 1))
    body <- list(type = "file", format = "base64",
                 content = jsonlite::base64_enc(bytes))
    spaces_send(space_contents_request(conn, name, to, "PUT", body = body))
    return(invisible(to))
  }
  con <- file(path, "rb")
  on.exit(close(con))
  chunk <- 1L
  read <- 0
  while (read < size) {
    bytes <- readBin(con, "raw", n = chunk_size)
    read <- read + length(bytes)
    body <- list(type = "file", format = "base64",
                 content = jsonlite::base64_enc(bytes),
                 chunk = if (read >= size) -1L else chunk)
    spaces_send(space_contents_request(conn, name, to, "PUT", body = body))
    chunk <- chunk + 1L
  }
  invisible(to)
}

remote_mkdir <- function(conn, name, path) {
  if (!nzchar(path)) return(invisible())
  spaces_send(space_contents_request(conn, name, path, "PUT",
                                     body = list(type = "directory")))
  invisible()
}

contents_rel <- function(path) {
  p <- contents_path(path)
  utils::URLdecode(p)
}

#' @rdname space_upload
#' @export
space_download <- function(name, path, to = NULL, overwrite = FALSE,
                           conn = spaces_connect()) {
  check_string(name, "name")
  if (!is.character(path) || length(path) != 1 || is.na(path)) {
    js_abort("`path` must be a single string.", "jupyterspaces_usage_error")
  }
  path <- contents_rel(path)
  to <- to %||% (if (nzchar(path)) basename(path) else name)
  invisible(download_any(conn, name, path, to, overwrite))
}

download_any <- function(conn, name, path, to, overwrite) {
  model <- resp_json(spaces_send(space_contents_request(
    conn, name, path, "GET", query = list(content = 0L)
  )))
  if (identical(model$type, "directory")) {
    listing <- resp_json(spaces_send(space_contents_request(
      conn, name, path, "GET", query = list(content = 1L)
    )))
    if (file.exists(to) && !dir.exists(to)) {
      js_abort(sprintf("'%s' exists and is not a folder.", to), "jupyterspaces_file_exists")
    }
    dir.create(to, showWarnings = FALSE, recursive = TRUE)
    out <- to
    for (entry in listing$content) {
      out <- c(out, download_any(conn, name, entry$path, file.path(to, entry$name), overwrite))
    }
    return(out)
  }
  if (file.exists(to) && !overwrite) {
    js_abort(sprintf("'%s' exists; use overwrite = TRUE to replace it.", to),
             "jupyterspaces_file_exists")
  }
  model <- resp_json(spaces_send(space_contents_request(
    conn, name, path, "GET", query = list(type = "file", format = "base64", content = 1L)
  )))
  content <- model$content %||% ""
  bytes <- if (identical(model$format, "base64")) {
    jsonlite::base64_dec(gsub("[\r\n]", "", content))
  } else {
    charToRaw(enc2utf8(content))
  }
  parent <- dirname(to)
  if (!dir.exists(parent)) dir.create(parent, recursive = TRUE)
  writeBin(bytes, to)
  to
}

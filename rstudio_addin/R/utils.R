`%||%` <- function(x, y) if (is.null(x)) y else x

# Drop NULL elements of a list.
compact <- function(x) x[!vapply(x, is.null, logical(1))]

# A condition of class c(class, "jupyterspaces_error", "error", "condition").
js_condition <- function(message, class = character(), ..., call = NULL) {
  structure(
    class = unique(c(class, "jupyterspaces_error", "error", "condition")),
    list(message = message, call = call, ...)
  )
}

js_abort <- function(message, class = character(), ...) {
  stop(js_condition(message, class = class, ...))
}

# Escape one URL path segment.
url_segment <- function(x) {
  x <- as.character(x)
  if (length(x) != 1 || is.na(x) || !nzchar(x)) {
    js_abort("A name in a URL path must be a single non-empty string.",
             "jupyterspaces_usage_error")
  }
  curl::curl_escape(x)
}

# Build a relative API path from segments: api_path("spaces", name, "start").
api_path <- function(...) {
  paste(vapply(c(...), url_segment, character(1)), collapse = "/")
}

# Escape a file path inside a space, keeping the slashes.
contents_path <- function(path) {
  path <- gsub("\\\\", "/", as.character(path %||% ""))
  parts <- strsplit(path, "/", fixed = TRUE)[[1]]
  parts <- parts[nzchar(parts) & parts != "."]
  if (any(parts == "..")) {
    js_abort("A path inside a space may not contain '..'.",
             "jupyterspaces_usage_error")
  }
  paste(vapply(parts, curl::curl_escape, character(1)), collapse = "/")
}

# Query values as the server expects them (logicals as true/false).
query_value <- function(x) {
  if (is.logical(x)) return(tolower(as.character(x)))
  x
}

check_string <- function(x, what) {
  if (!is.character(x) || length(x) != 1 || is.na(x) || !nzchar(x)) {
    js_abort(sprintf("`%s` must be a single non-empty string.", what),
             "jupyterspaces_usage_error")
  }
  invisible(x)
}

# Parse ISO 8601 timestamps ("2024-05-01T10:00:00Z", "...+02:00") to POSIXct.
parse_time <- function(x) {
  x <- as.character(x)
  out <- rep(NA_real_, length(x))
  ok <- !is.na(x) & nzchar(x)
  if (any(ok)) {
    s <- x[ok]
    offset <- rep(0, length(s))
    m <- regmatches(s, regexec("([+-])(\\d{2}):?(\\d{2})$", s))
    has <- lengths(m) == 4
    if (any(has)) {
      sign <- ifelse(vapply(m[has], `[`, "", 2) == "-", -1, 1)
      offset[has] <- sign * (as.numeric(vapply(m[has], `[`, "", 3)) * 3600 +
                               as.numeric(vapply(m[has], `[`, "", 4)) * 60)
    }
    s <- sub("(Z|[+-]\\d{2}:?\\d{2})$", "", s)
    t <- as.POSIXct(s, format = "%Y-%m-%dT%H:%M:%OS", tz = "UTC")
    out[ok] <- as.numeric(t) - offset
  }
  as.POSIXct(out, origin = "1970-01-01", tz = "UTC")
}

# Turn a list of records (named lists) into a data frame. `columns` gives the
# columns that always exist, in order, with their types ("character",
# "numeric", "logical", "time", or "list": a list column of character
# vectors); other fields are appended.
records_df <- function(items, columns = character()) {
  fields <- unique(c(names(columns), unlist(lapply(items, names))))
  n <- length(items)
  cols <- lapply(fields, function(f) {
    vals <- lapply(items, function(it) it[[f]])
    type <- if (f %in% names(columns)) columns[[f]] else NA
    if (identical(type, "list")) {
      return(I(lapply(vals, function(v) as.character(unlist(v, use.names = FALSE)))))
    }
    scalar <- vapply(vals, function(v) is.null(v) || (is.atomic(v) && length(v) == 1), logical(1))
    if (!all(scalar)) return(I(vals))
    if (is.na(type)) {
      present <- Filter(Negate(is.null), vals)
      type <- if (!length(present)) "character"
        else if (all(vapply(present, is.logical, logical(1)))) "logical"
        else if (all(vapply(present, is.numeric, logical(1)))) "numeric"
        else "character"
    }
    na <- switch(type, logical = NA, numeric = NA_real_, NA_character_)
    v <- unlist(lapply(vals, function(x) if (is.null(x)) na else x), use.names = FALSE)
    if (type == "time") return(parse_time(v))
    if (type == "numeric") return(as.numeric(v))
    if (type == "logical") return(as.logical(v))
    as.character(v)
  })
  names(cols) <- fields
  if (n == 0) {
    cols <- lapply(fields, function(f) {
      switch(columns[[f]] %||% "character",
             logical = logical(), numeric = numeric(), list = I(list()),
             time = parse_time(character()), character())
    })
    names(cols) <- fields
  }
  df <- as.data.frame(cols, stringsAsFactors = FALSE, optional = TRUE)
  if (n == 0) df <- df[0, , drop = FALSE]
  rownames(df) <- NULL
  df
}

user_columns <- c(name = "character", display_name = "character",
                  initials = "character", color = "character",
                  admin = "logical", created = "time", last_activity = "time")

space_columns <- c(
  name = "character", display_name = "character", owner = "character",
  sharing = "character", app_type = "character", instance_type = "character",
  image = "character", volume_gb = "numeric", idle_timeout_minutes = "numeric",
  status = "character", failure_reason = "character", role = "character",
  url = "character", volume_used_bytes = "numeric", created = "time",
  updated = "time", last_activity = "time"
)

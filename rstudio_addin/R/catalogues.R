#' The caller and the domain's catalogues
#'
#' `me()` describes the user the token belongs to. `instance_types()`,
#' `images()` and `app_types()` list what a space can be created with; each
#' says whether it is available on this host (`available`) and why not
#' (`reason`). An image is the environment a space runs in (its Python, its
#' libraries, R where installed); `images()` gives its `description` too.
#'
#' @param conn A connection from [spaces_connect()].
#' @return `me()`: a list (`name`, `display_name`, `initials`, `color`,
#'   `admin`, ...). The others: a data frame, one row per entry, with
#'   `name`, `display_name`, `available`, `reason` (`""` or `NA` when
#'   available) and, for images, `description`.
#' @export
#' @examples
#' \dontrun{
#' me()
#' instance_types()
#' }
me <- function(conn = spaces_connect()) {
  spaces_api(conn, "GET", "me")
}

#' @rdname me
#' @export
instance_types <- function(conn = spaces_connect()) {
  res <- spaces_api(conn, "GET", "instance-types")
  records_df(res$items %||% list(),
             c(name = "character", display_name = "character", cpus = "numeric",
               memory_gb = "numeric", max_processes = "numeric",
               available = "logical", reason = "character"))
}

#' @rdname me
#' @export
images <- function(conn = spaces_connect()) {
  res <- spaces_api(conn, "GET", "images")
  records_df(res$items %||% list(),
             c(name = "character", display_name = "character",
               description = "character", available = "logical",
               reason = "character"))
}

#' @rdname me
#' @export
app_types <- function(conn = spaces_connect()) {
  res <- spaces_api(conn, "GET", "app-types")
  records_df(res$items %||% list(),
             c(name = "character", display_name = "character",
               available = "logical", reason = "character"))
}

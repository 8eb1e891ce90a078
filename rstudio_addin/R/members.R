#' Members of a shared space
#'
#' Every domain user sees every shared space. Members get the role given
#' here; others get the domain's default role. Only the owner (or an admin)
#' manages members; a private space has none (409).
#'
#' @inheritParams space_get
#' @param user A domain user's name.
#' @param role `"editor"` (edit, run) or `"viewer"` (read only).
#' @return `space_members()`: a data frame with one row per member (the owner
#'   first): `user`, `role`, `display_name`, `initials`, `color`, `admin`.
#'   `space_add_member()`: the member, a one-row data frame.
#'   `space_remove_member()`: `TRUE`, invisibly.
#' @export
#' @examples
#' \dontrun{
#' space_add_member("analysis", "alice", role = "viewer")
#' space_members("analysis")
#' space_remove_member("analysis", "alice")
#' }
space_members <- function(name, conn = spaces_connect()) {
  check_string(name, "name")
  res <- spaces_api(conn, "GET", api_path("spaces", name, "members"))
  members_df(res$items %||% list())
}

#' @rdname space_members
#' @export
space_add_member <- function(name, user, role = c("editor", "viewer"),
                             conn = spaces_connect()) {
  check_string(name, "name")
  check_string(user, "user")
  role <- match.arg(role)
  res <- spaces_api(conn, "PUT", api_path("spaces", name, "members", user),
                    body = list(role = role))
  members_df(list(res))
}

#' @rdname space_members
#' @export
space_remove_member <- function(name, user, conn = spaces_connect()) {
  check_string(name, "name")
  check_string(user, "user")
  spaces_api(conn, "DELETE", api_path("spaces", name, "members", user))
  invisible(TRUE)
}

# Flatten {user: {...}, role} records.
flatten_user_records <- function(items) {
  lapply(items, function(it) {
    u <- it$user
    rest <- it[setdiff(names(it), "user")]
    if (is.list(u)) {
      c(list(user = u$name), rest, u[setdiff(names(u), c("name", names(rest)))])
    } else {
      if (is.null(it$user) && !is.null(it$name)) {
        rest <- rest[setdiff(names(rest), "name")]
        c(list(user = it$name), rest)
      } else {
        it
      }
    }
  })
}

members_df <- function(items) {
  records_df(flatten_user_records(items),
             c(user = "character", role = "character", user_columns[-1]))
}

#' Who is in a space now
#'
#' The users with the running space open, with the documents each has open.
#' Needs a space you may open (never another user's private space, not even
#' for an admin: that is a 404). A stopped space has nobody in it.
#'
#' @inheritParams space_get
#' @return A data frame with one row per present user: `user`, `role` (in
#'   the space), `display_name`, `initials`, `color`, `documents` (a list
#'   column: the paths of the documents the user has open, relative to the
#'   space's home), `since` (when the user arrived) and the server's other
#'   fields.
#' @export
#' @examples
#' \dontrun{
#' p <- space_presence("analysis")
#' p[, c("user", "role")]
#' p$documents[[1]]
#' }
space_presence <- function(name, conn = spaces_connect()) {
  check_string(name, "name")
  res <- spaces_api(conn, "GET", api_path("spaces", name, "presence"))
  items <- if (!is.null(names(res)) && "items" %in% names(res)) res$items else res
  records_df(flatten_user_records(items %||% list()), presence_columns)
}

presence_columns <- c(user = "character", role = "character",
                      display_name = "character", initials = "character",
                      color = "character", documents = "list", since = "time")

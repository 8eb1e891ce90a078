#' The RStudio context seam
#'
#' The addins reach RStudio only through a context: a list of functions that
#' give the path of the active document, open a URL, let the user choose
#' among names, and tell the user something. [rstudio_context()] is the real
#' one (RStudio through rstudioapi, with plain-R fallbacks);
#' `spaces_context()` builds one from your own functions, for tests or other
#' IDEs. Set `options(jupyterspaces.context = spaces_context(...))` to make it
#' the default.
#'
#' @param active_document A function of no argument returning the path of
#'   the (saved) file open in the editor.
#' @param browse A function of a URL that opens it.
#' @param choose A function of `choices` (character) and `title` returning
#'   one of the choices (or `""`/`NULL` for none).
#' @param inform A function of a message string.
#' @return A `jupyterspaces_context` list.
#' @export
#' @examples
#' ctx <- spaces_context(active_document = function() "analysis.R",
#'                       browse = function(url) message("would open ", url))
#' ctx$active_document()
spaces_context <- function(active_document = NULL, browse = NULL,
                           choose = NULL, inform = NULL) {
  base <- rstudio_context()
  structure(
    list(
      active_document = active_document %||% base$active_document,
      browse = browse %||% base$browse,
      choose = choose %||% base$choose,
      inform = inform %||% base$inform
    ),
    class = "jupyterspaces_context"
  )
}

#' @rdname spaces_context
#' @export
rstudio_context <- function() {
  in_rstudio <- function() {
    requireNamespace("rstudioapi", quietly = TRUE) && rstudioapi::isAvailable()
  }
  structure(
    list(
      active_document = function() {
        if (!in_rstudio()) {
          js_abort("Sending the current file needs RStudio (or a context with `active_document`).",
                   "jupyterspaces_context_error")
        }
        doc <- rstudioapi::getSourceEditorContext()
        if (is.null(doc)) {
          js_abort("No document is open in the editor.", "jupyterspaces_context_error")
        }
        if (!nzchar(doc$path %||% "")) {
          js_abort("Save the document to a file first.", "jupyterspaces_context_error")
        }
        if (rstudioapi::hasFun("documentSave")) rstudioapi::documentSave(doc$id)
        doc$path
      },
      browse = function(url) utils::browseURL(url),
      choose = function(choices, title = "Choose") {
        if (!interactive()) {
          js_abort(sprintf("%s: needs an interactive session.", title),
                   "jupyterspaces_context_error")
        }
        utils::select.list(choices, title = title)
      },
      inform = function(message) base::message(message)
    ),
    class = "jupyterspaces_context"
  )
}

default_context <- function() {
  ctx <- getOption("jupyterspaces.context")
  if (is.null(ctx)) rstudio_context() else ctx
}

# Choose a space among those matching `keep` (a function of the spaces data
# frame returning a logical vector).
pick_space <- function(conn, context, keep = NULL, title = "Space") {
  spaces <- spaces_list(conn = conn)
  if (!is.null(keep)) spaces <- spaces[keep(spaces), , drop = FALSE]
  if (!nrow(spaces)) {
    js_abort(sprintf("%s: no space to choose from.", title), "jupyterspaces_usage_error")
  }
  if (nrow(spaces) == 1) return(spaces$name)
  labels <- sprintf("%s (%s, %s)", spaces$name, spaces$status, spaces$sharing)
  picked <- context$choose(labels, title)
  if (is.null(picked) || !length(picked) || !nzchar(picked[1])) {
    js_abort("No space chosen.", "jupyterspaces_cancelled")
  }
  i <- match(picked[1], labels)
  if (is.na(i)) picked[1] else spaces$name[i]
}

#' Send the current file to a space; open a space in the browser
#'
#' The logic of the "Send current file to space" and "Open space in browser"
#' addins, usable from the console. Without `space`, the option
#' `jupyterspaces.space` is used, or you choose among the spaces that can
#' take the action (running spaces you may write to, for sending).
#'
#' @param space A space name, or `NULL` to choose.
#' @param to Path in the space (default: the file's name at the top of the
#'   space's home).
#' @param context The RStudio context, see [spaces_context()].
#' @param conn A connection from [spaces_connect()].
#' @return `send_current_file()`: the path in the space, invisibly.
#'   `open_space()`: the URL, invisibly.
#' @export
send_current_file <- function(space = NULL, to = NULL, context = default_context(),
                              conn = spaces_connect()) {
  force(conn)
  path <- context$active_document()
  space <- space %||% getOption("jupyterspaces.space") %||%
    pick_space(conn, context, function(s) {
      s$status == "running" & !is.na(s$role) & s$role %in% c("owner", "editor")
    }, title = "Send to which running space?")
  remote <- space_upload(space, path, to = to %||% basename(path), conn = conn)
  context$inform(sprintf("Sent %s to space '%s' as %s.", basename(path), space, remote[1]))
  invisible(remote[1])
}

#' @rdname send_current_file
#' @param path A file to open in the space (JupyterLab spaces).
#' @export
open_space <- function(space = NULL, path = NULL, context = default_context(),
                       conn = spaces_connect()) {
  force(conn)
  space <- space %||% getOption("jupyterspaces.space") %||%
    pick_space(conn, context, function(s) !is.na(s$role), title = "Open which space?")
  url <- space_browse(space, path = path, browse = context$browse, conn = conn)
  invisible(url)
}

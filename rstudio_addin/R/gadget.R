# The "Jupyter Spaces" gadget: plain functions (tested without RStudio or a
# browser) and a thin shiny/miniUI layer over them.

# The table the gadget shows, from the spaces as spaces_list() or the live
# feed (feed_table()) give them.
gadget_table <- function(s) {
  cols <- c("name", "display_name", "status", "app_type", "sharing", "owner",
            "role", "instance_type")
  s <- s[, cols, drop = FALSE]
  s$role[is.na(s$role)] <- "(metadata only)"
  s
}

gadget_spaces_table <- function(conn) gadget_table(spaces_list(conn = conn))

# The status line's words for a feed event, or NULL: a start or stop under
# way, with its percent.
gadget_progress <- function(ev) {
  if (!identical(ev$event, "progress") || !is.list(ev$data)) return(NULL)
  d <- ev$data
  if (!is.character(d$name) || !is.numeric(d$percent)) return(NULL)
  sprintf("'%s': %d%% %s", d$name, as.integer(round(d$percent)), d$message %||% "")
}

# The line saying whether the list is live.
gadget_feed_line <- function(status) {
  if (isTRUE(status$connected)) return("Live: changes show as they happen.")
  if (is.null(status$problem)) return("Connecting to the live feed...")
  sprintf("Live feed lost (%s); reconnecting.", status$problem)
}

# Carry out a button: "start", "stop" or "open". Returns a message for the
# status line.
gadget_action <- function(action, name, conn, context) {
  if (is.null(name) || !nzchar(name)) return("Select a space first.")
  switch(
    action,
    start = {
      sp <- space_start(name, wait = FALSE, conn = conn)
      sprintf("Starting '%s' (status: %s).", name, sp$status)
    },
    stop = {
      sp <- space_stop(name, wait = FALSE, conn = conn)
      sprintf("Stopping '%s' (status: %s).", name, sp$status)
    },
    open = {
      url <- space_browse(name, browse = context$browse, conn = conn)
      sprintf("Opened %s", url)
    },
    js_abort(sprintf("Unknown action '%s'.", action), "jupyterspaces_usage_error")
  )
}

# Who is present in a space: a data frame, or a sentence saying why not.
gadget_presence <- function(name, conn) {
  if (is.null(name) || !nzchar(name)) return("Select a space.")
  sp <- space_get(name, conn = conn)
  if (!identical(sp$sharing, "shared")) return("Presence is shown for shared spaces.")
  if (!identical(sp$status, "running")) return(sprintf("'%s' is %s: nobody is in it.", name, sp$status))
  p <- space_presence(name, conn = conn)
  if (!nrow(p)) return(sprintf("Nobody is in '%s' right now.", name))
  out <- data.frame(user = p$user, name = p$display_name, role = p$role,
                    stringsAsFactors = FALSE)
  out$documents <- vapply(p$documents, function(d) paste(d, collapse = ", "), "")
  out
}

# Create from the form.
gadget_create <- function(name, sharing, app_type, instance_type, conn, image = "") {
  sp <- space_create(name, sharing = sharing, app_type = app_type,
                     instance_type = if (nzchar(instance_type %||% "")) instance_type,
                     image = if (nzchar(image %||% "")) image,
                     conn = conn)
  sprintf("Created %s space '%s'.", sp$sharing, sp$name)
}

# The create form's choices from a catalogue (a data frame from images(),
# app_types() or instance_types()): the available entries, named by their
# label ("Display name - description" where there is a description).
gadget_choices <- function(catalog) {
  if (!is.data.frame(catalog) || !nrow(catalog)) return(character())
  ok <- catalog[catalog$available %in% TRUE | is.na(catalog$available), , drop = FALSE]
  label <- ok$display_name
  if (!is.null(ok$description)) {
    has <- !is.na(ok$description) & nzchar(ok$description)
    label[has] <- paste(label[has], "-", ok$description[has])
  }
  choices <- ok$name
  names(choices) <- label
  choices
}

# The entries of a catalogue that cannot be chosen, with why: one sentence each.
gadget_unavailable <- function(catalog, what) {
  if (!is.data.frame(catalog) || !nrow(catalog)) return(character())
  off <- catalog[catalog$available %in% FALSE, , drop = FALSE]
  if (!nrow(off)) return(character())
  reason <- ifelse(is.na(off$reason) | !nzchar(off$reason), "no reason given", off$reason)
  sprintf("%s '%s' is unavailable: %s", what, off$display_name, reason)
}

# The create form's catalogues: choices and what is unavailable (or an error).
gadget_catalogs <- function(conn) {
  apps <- app_types(conn = conn)
  types <- instance_types(conn = conn)
  imgs <- images(conn = conn)
  list(
    app_types = gadget_choices(apps),
    instance_types = gadget_choices(types),
    images = gadget_choices(imgs),
    unavailable = c(gadget_unavailable(apps, "App"),
                    gadget_unavailable(types, "Instance type"),
                    gadget_unavailable(imgs, "Image"))
  )
}

# Run `expr`; on a jupyterspaces error, return its message instead.
gadget_try <- function(expr) {
  tryCatch(expr, jupyterspaces_error = function(e) paste("Error:", conditionMessage(e)))
}

need_gadget_packages <- function() {
  missing <- Filter(function(p) !requireNamespace(p, quietly = TRUE), c("shiny", "miniUI"))
  if (length(missing)) {
    js_abort(sprintf("The gadget needs the packages %s; install them first.",
                     paste(missing, collapse = ", ")),
             "jupyterspaces_usage_error")
  }
}

gadget_ui <- function() {
  shiny::tagList(
    miniUI::miniPage(
      miniUI::gadgetTitleBar("Jupyter Spaces",
                             left = miniUI::miniTitleBarButton("refresh", "Refresh")),
      miniUI::miniTabstripPanel(
        miniUI::miniTabPanel(
          "Spaces", icon = shiny::icon("list"),
          miniUI::miniContentPanel(
            shiny::selectInput("space", "Space", choices = character()),
            shiny::actionButton("start", "Start"),
            shiny::actionButton("stop", "Stop"),
            shiny::actionButton("open", "Open in browser"),
            shiny::tags$p(shiny::textOutput("status_line")),
            shiny::tags$p(class = "help-block", shiny::textOutput("feed_line")),
            shiny::tableOutput("spaces"),
            shiny::tags$h4("Who is here"),
            shiny::textOutput("presence_text"),
            shiny::tableOutput("presence_table")
          )
        ),
        miniUI::miniTabPanel(
          "New space", icon = shiny::icon("plus"),
          miniUI::miniContentPanel(
            shiny::textInput("new_name", "Name (a-z, 0-9, hyphens)"),
            shiny::radioButtons("new_sharing", "Sharing", c("private", "shared")),
            shiny::selectInput("new_app_type", "App", choices = "jupyterlab"),
            shiny::selectInput("new_instance_type", "Instance type", choices = ""),
            shiny::selectInput("new_image", "Image", choices = ""),
            shiny::actionButton("create", "Create"),
            shiny::tags$div(class = "help-block", shiny::htmlOutput("new_unavailable"))
          )
        )
      )
    )
  )
}

gadget_server <- function(conn, context, follow = TRUE) {
  function(input, output, session) {
    tick <- shiny::reactiveVal(0)
    message <- shiny::reactiveVal("")
    refresh <- function() tick(tick() + 1)

    # The list: read on refresh and after each action, and kept current in
    # between by the domain's live feed (no polling of the API): each event
    # updates it; after a drop the follower reconnects and its snapshot
    # reloads it.
    shown <- shiny::reactiveVal(NULL)
    feed_status <- shiny::reactiveVal(list(connected = FALSE, problem = NULL))
    feed <- if (isTRUE(follow)) {
      feed_follower(conn, function(spaces, ev) {
        if (identical(ev$event, "progress")) {
          line <- gadget_progress(ev)
          if (!is.null(line)) message(line)
        } else {
          shown(gadget_table(spaces))
        }
        TRUE
      })
    }
    shiny::observeEvent(tick(), {
      items <- gadget_try(spaces_paged(conn, "spaces"))
      if (is.character(items)) {
        message(items)
        return()
      }
      if (!is.null(feed)) feed$replace(items)
      shown(gadget_table(records_df(items, space_columns)))
    })
    if (!is.null(feed)) {
      following <- TRUE
      shiny::observe({
        if (!following) return()
        # Reads what the open stream has brought; no request unless reconnecting.
        shiny::invalidateLater(200)
        res <- gadget_try(feed$pump())
        if (is.character(res)) {
          # A refusal reconnecting cannot cure (an invalid token).
          following <<- FALSE
          feed_status(list(connected = FALSE, problem = sub("^Error: ", "", res)))
          message(res)
          return()
        }
        st <- feed$status()
        if (!identical(st, shiny::isolate(feed_status()))) feed_status(st)
      })
      session$onSessionEnded(function() feed$close())
    }
    output$feed_line <- shiny::renderText({
      if (is.null(feed)) "" else gadget_feed_line(feed_status())
    })

    spaces <- shiny::reactive(shown())

    shiny::observe({
      s <- spaces()
      if (is.null(s)) return()
      selected <- shiny::isolate(input$space)
      shiny::updateSelectInput(
        session, "space", choices = s$name,
        selected = if (!is.null(selected) && selected %in% s$name) selected else s$name[1]
      )
    })

    # The create form's choices: available entries only (images with their
    # description); what is unavailable is listed below the form, with why.
    catalogs <- shiny::reactive({
      tick()
      gadget_try(gadget_catalogs(conn))
    })
    shiny::observe({
      cats <- catalogs()
      if (is.character(cats)) {
        message(cats)
        return()
      }
      keep <- function(current, choices) {
        if (!is.null(current) && current %in% choices) current else unname(choices[1])
      }
      shiny::isolate({
        if (length(cats$app_types)) {
          shiny::updateSelectInput(session, "new_app_type", choices = cats$app_types,
                                   selected = keep(input$new_app_type, cats$app_types))
        }
        types <- c(`(default)` = "", cats$instance_types)
        shiny::updateSelectInput(session, "new_instance_type", choices = types,
                                 selected = keep(input$new_instance_type, types))
        if (length(cats$images)) {
          shiny::updateSelectInput(session, "new_image", choices = cats$images,
                                   selected = keep(input$new_image, cats$images))
        }
      })
    })
    output$new_unavailable <- shiny::renderUI({
      cats <- catalogs()
      if (is.character(cats) || !length(cats$unavailable)) return(NULL)
      shiny::tags$ul(lapply(cats$unavailable, shiny::tags$li))
    })

    output$spaces <- shiny::renderTable(spaces())
    output$status_line <- shiny::renderText(message())
    presence <- shiny::reactive({
      tick()
      gadget_try(gadget_presence(input$space, conn))
    })
    output$presence_text <- shiny::renderText({
      p <- presence()
      if (is.character(p)) p else ""
    })
    output$presence_table <- shiny::renderTable({
      p <- presence()
      if (is.data.frame(p)) p else NULL
    })

    act <- function(action) {
      message(gadget_try(gadget_action(action, input$space, conn, context)))
      refresh()
    }
    shiny::observeEvent(input$start, act("start"))
    shiny::observeEvent(input$stop, act("stop"))
    shiny::observeEvent(input$open, act("open"))
    shiny::observeEvent(input$refresh, refresh())
    shiny::observeEvent(input$create, {
      message(gadget_try(gadget_create(input$new_name, input$new_sharing,
                                       input$new_app_type, input$new_instance_type, conn,
                                       image = input$new_image)))
      refresh()
    })
    shiny::observeEvent(input$done, shiny::stopApp(invisible(shiny::isolate(input$space))))
    shiny::observeEvent(input$cancel, shiny::stopApp(invisible(NULL)))
  }
}

#' The Jupyter Spaces gadget
#'
#' A small shiny app (an RStudio gadget): your spaces with their status,
#' kept current by the domain's live feed (as [spaces_follow()] does: changes
#' made elsewhere show at once, and after a network drop it reconnects and
#' reloads), start, stop and open buttons (Code Editor and MLflow spaces open
#' in a browser tab), who is present in a shared space, and a form
#' to create a space. The form offers the app types, instance types and images
#' (with their description) available on the domain's host; those that are not
#' are listed below it with the reason.
#'
#' @param conn A connection from [spaces_connect()].
#' @param context The RStudio context, see [spaces_context()].
#' @param viewer Where to show the gadget: a shiny viewer such as
#'   `shiny::paneViewer()` (the default in RStudio) or `shiny::browserViewer()`.
#' @return The name of the space selected when "Done" is pressed, invisibly.
#' @export
#' @examples
#' \dontrun{
#' spaces_gadget()
#' }
spaces_gadget <- function(conn = spaces_connect(), context = default_context(),
                          viewer = NULL) {
  need_gadget_packages()
  force(conn)
  app <- shiny::shinyApp(gadget_ui(), gadget_server(conn, context))
  shiny::runGadget(app, viewer = viewer %||% shiny::paneViewer(minHeight = 500))
}

#' RStudio addins
#'
#' The bindings of `inst/rstudio/addins.dcf`: "Jupyter Spaces"
#' ([spaces_gadget()]), "Send current file to space" ([send_current_file()])
#' and "Open space in browser" ([open_space()]). Errors are shown as messages
#' rather than stack traces.
#'
#' @return See the functions above.
#' @export
addin_spaces <- function() {
  addin_run(spaces_gadget())
}

#' @rdname addin_spaces
#' @export
addin_send_file <- function() {
  addin_run(send_current_file())
}

#' @rdname addin_spaces
#' @export
addin_open_space <- function() {
  addin_run(open_space())
}

addin_run <- function(expr) {
  tryCatch(expr, jupyterspaces_error = function(e) {
    default_context()$inform(paste("Jupyter Spaces:", conditionMessage(e)))
    invisible(NULL)
  })
}

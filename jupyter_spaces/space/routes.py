"""Every route of a space server, and which role may use it (see :mod:`jupyter_spaces.routes`).

Roles come from the domain's signature: ``owner``, ``editor``, ``viewer``;
``anonymous`` is an unsigned request, which the identity provider refuses before
any role is asked (only the domain's revocation notice, signed otherwise, gets
through). Everything refused here is 403.

* owner, editor: everything the space offers, except what is refused for all below.
* viewer: reads. No writes of any kind: not to files, not to kernels, terminals,
  sessions, config, and not to their own JupyterLab settings or workspaces either
  (those are per user but live on the owner's volume: a viewer must not be able
  to fill it). Viewers join collaboration rooms, whose service refuses their edits.
* nobody: the extension manager's install/uninstall/enable/disable (pip in the
  server's own environment: the space's image, shared with other spaces where
  spaces are not sandboxed, and a change of the JupyterLab every collaborator
  loads; packages for one's work go to the volume with ``%pip install``), a
  JupyterLab build (the image's JupyterLab is built), ``api/shutdown`` (a space is
  stopped through the domain, which keeps its state) and ``metrics``.
"""

from __future__ import annotations

from ..routes import READ, WEBSOCKET, WRITE, Enforcement, Route, RouteTable

ROLES = ("anonymous", "viewer", "editor", "owner")
SIGNED = ("viewer", "editor", "owner")


def allow(read=(), write=()) -> dict:
    """``read`` for every signed role, ``read`` and ``write`` for owner and editor."""
    read, write = frozenset(read), frozenset(write)
    return {"viewer": read, "editor": read | write, "owner": read | write}


READ_ONLY = allow(READ)
REFUSED: dict = {}

_JS = "jupyter_server."
_LAB = "jupyterlab_server."
_STATIC = _JS + "base.handlers.FileFindHandler"
_PATH = "(?P<path>(?:(?:/[^/]+)+|/?))"
_KERNEL = r"/api/kernels/(?P<kernel_id>\w+-\w+-\w+-\w+-\w+)"

ROUTES = [
    # Pages, static files, redirects, not-found pages.
    Route("/", _JS + "base.handlers.MainHandler", READ_ONLY),
    # Where default_url is not base_url (`jupyter lab`, as the launcher runs it): / goes to /lab.
    Route("/?", _JS + "base.handlers.RedirectWithParams", READ_ONLY),
    Route("/.*/", _JS + "base.handlers.TrailingSlashHandler", READ_ONLY),
    Route("(.*)", _JS + "base.handlers.Template404", READ_ONLY),
    Route("/static/(.*)", _STATIC, READ_ONLY),
    Route("/static/lab/(.*)", _STATIC, READ_ONLY),
    Route("/lab/extensions/(.*)", _STATIC, READ_ONLY),
    Route(r"/(robots\.txt)", _STATIC, READ_ONLY),
    Route(r"/(favicon\.ico)", _STATIC, READ_ONLY),
    # Both under base_url (rootfiles.py), in place of jupyter_server's rule below.
    Route(r"/(favicon\.ico|robots\.txt)", _STATIC, READ_ONLY),
    # Registered by jupyter_server without its directory: it cannot start (rootfiles.py).
    Route(r"/(robots\.txt|favicon\.ico)", _JS + "base.handlers.PublicStaticFileHandler", REFUSED),
    Route("/lab/.*", _LAB + "handlers.NotFoundHandler", READ_ONLY),
    Route(
        r"/(?P<mode>lab|doc)(?P<workspace>/workspaces/[a-zA-Z0-9\-\_]+)?(?P<tree>/tree/.*)?",
        _LAB + "handlers.LabHandler",
        READ_ONLY,
    ),
    Route(f"/view{_PATH}", _JS + "view.handlers.ViewHandler", READ_ONLY),
    Route("/files/(.*)", _JS + "base.handlers.AuthenticatedFileHandler", READ_ONLY),
    # jupyter_server's API.
    Route("/api", _JS + "base.handlers.APIVersionHandler", READ_ONLY),
    Route("/api/spec.yaml", _JS + "services.api.handlers.APISpecHandler", READ_ONLY),
    Route("/api/status", _JS + "services.api.handlers.APIStatusHandler", READ_ONLY),
    Route("/api/me", _JS + "services.api.handlers.IdentityHandler", READ_ONLY),
    Route("/api/resolvePath", _JS + "services.api.handlers.PathResolverHandler", READ_ONLY),
    Route(r"/api/config/(?P<section_name>\w+)", _JS + "services.config.handlers.ConfigHandler",
          allow(READ, {"PUT", "PATCH"})),  # fmt: skip
    Route(f"/api/contents{_PATH}", _JS + "services.contents.handlers.ContentsHandler", allow(READ, WRITE)),
    Route(f"/api/contents{_PATH}/checkpoints", _JS + "services.contents.handlers.CheckpointsHandler",
          allow(READ, {"POST"})),  # fmt: skip
    Route(
        rf"/api/contents{_PATH}/checkpoints/(?P<checkpoint_id>[\w-]+)",
        _JS + "services.contents.handlers.ModifyCheckpointsHandler",
        allow(write={"POST", "DELETE"}),
    ),
    Route(f"/api/contents{_PATH}/trust", _JS + "services.contents.handlers.TrustNotebooksHandler",
          allow(write={"POST"})),  # fmt: skip
    Route("/api/notebooks/?(.*)", _JS + "services.contents.handlers.NotebooksRedirectHandler", allow(READ, WRITE)),
    Route("/api/kernels", _JS + "services.kernels.handlers.MainKernelHandler", allow(READ, {"POST"})),
    Route(_KERNEL, _JS + "services.kernels.handlers.KernelHandler", allow(READ, {"DELETE"})),
    Route(_KERNEL + "/(?P<action>restart|interrupt)", _JS + "services.kernels.handlers.KernelActionHandler",
          allow(write={"POST"})),  # fmt: skip
    Route(_KERNEL + "/channels", _JS + "services.kernels.websocket.KernelWebsocketHandler",
          allow(write={WEBSOCKET})),  # fmt: skip
    Route("/api/kernelspecs", _JS + "services.kernelspecs.handlers.MainKernelSpecHandler", READ_ONLY),
    Route(r"/api/kernelspecs/(?P<kernel_name>[\w\.\-%]+)", _JS + "services.kernelspecs.handlers.KernelSpecHandler",
          READ_ONLY),  # fmt: skip
    Route(r"/kernelspecs/(?P<kernel_name>[\w\.\-%]+)/(?P<path>.*)",
          _JS + "kernelspecs.handlers.KernelSpecResourceHandler", READ_ONLY),  # fmt: skip
    Route("/api/sessions", _JS + "services.sessions.handlers.SessionRootHandler", allow(READ, {"POST"})),
    Route(r"/api/sessions/(?P<session_id>\w+-\w+-\w+-\w+-\w+)", _JS + "services.sessions.handlers.SessionHandler",
          allow(READ, {"PATCH", "DELETE"})),  # fmt: skip
    Route("/api/nbconvert", _JS + "services.nbconvert.handlers.NbconvertRootHandler", READ_ONLY),
    Route(rf"/nbconvert/(?P<format>\w+){_PATH}", _JS + "nbconvert.handlers.NbconvertFileHandler", READ_ONLY),
    Route(r"/nbconvert/(?P<format>\w+)", _JS + "nbconvert.handlers.NbconvertPostHandler", allow(write={"POST"})),
    Route("/api/events", _JS + "services.events.handlers.EventHandler", allow(write={"POST"})),
    Route("/api/events/subscribe", _JS + "services.events.handlers.SubscribeWebsocket", allow({WEBSOCKET})),
    Route("/api/security/csp-report", _JS + "services.security.handlers.CSPReportHandler", allow(write={"POST"})),
    Route("/api/shutdown", _JS + "services.shutdown.ShutdownHandler", REFUSED),
    Route("/metrics", _JS + "base.handlers.PrometheusMetricsHandler", REFUSED),
    # Terminals (jupyter_server_terminals) and language servers (jupyter_lsp) run processes.
    Route("/api/terminals", "jupyter_server_terminals.api_handlers.TerminalRootHandler", allow(READ, {"POST"})),
    Route(r"/api/terminals/(\w+)", "jupyter_server_terminals.api_handlers.TerminalHandler", allow(READ, {"DELETE"})),
    Route(r"/terminals/websocket/(\w+)", "jupyter_server_terminals.handlers.TermSocket", allow(write={WEBSOCKET})),
    Route("/lsp/status", "jupyter_lsp.handlers.LanguageServersHandler", READ_ONLY),
    Route("/lsp/ws/(?P<language_server>.*)", "jupyter_lsp.handlers.LanguageServerWebSocketHandler",
          allow(write={WEBSOCKET})),  # fmt: skip
    # JupyterLab: settings and workspaces are per user (personal.py), written by owner and editor.
    Route("/lab/api/settings/?", _LAB + "settings_handler.SettingsHandler", READ_ONLY),
    Route("/lab/api/settings/(?P<schema_name>.+)", _LAB + "settings_handler.SettingsHandler", allow(READ, {"PUT"})),
    Route("/lab/api/workspaces/?", _LAB + "workspaces_handler.WorkspacesHandler", READ_ONLY),
    Route("/lab/api/workspaces/(?P<space_name>.+)", _LAB + "workspaces_handler.WorkspacesHandler",
          allow(READ, {"PUT", "DELETE"})),  # fmt: skip
    Route("/lab/api/translations/?", _LAB + "translations_handler.TranslationsHandler", READ_ONLY),
    Route("/lab/api/translations/(?P<locale>.*)", _LAB + "translations_handler.TranslationsHandler", READ_ONLY),
    Route("/lab/api/listings/(.*)", _LAB + "listings_handler.ListingsHandler", READ_ONLY),
    Route("/lab/api/themes/(.*)", _LAB + "themes_handler.ThemesHandler", READ_ONLY),
    Route("/lab/api/licenses/(.*)", _LAB + "licenses_handler.LicensesHandler", READ_ONLY),
    Route("/lab/api/update", "jupyterlab.handlers.announcements.CheckForUpdateHandler", READ_ONLY),
    Route("/lab/api/news", "jupyterlab.handlers.announcements.NewsHandler", READ_ONLY),
    Route("/lab/api/build", "jupyterlab.handlers.build_handler.BuildHandler", READ_ONLY),
    Route("/lab/api/extensions", "jupyterlab.handlers.extension_manager_handler.ExtensionHandler", READ_ONLY),
    # Enabling or disabling a plugin changes the space's page config for all: like
    # editing ~/.jupyter, which owner and editor may do anyway.
    Route("/lab/api/plugins", "jupyterlab.handlers.plugin_manager_handler.PluginHandler", allow(READ, {"POST"})),
    # Collaboration: viewers open documents (PUT session) and join rooms read-only.
    Route("/api/collaboration/session/(.*)", "jupyter_spaces.collab.handlers.SessionHandler", allow({"PUT"})),
    Route("/api/collaboration/room/(.*)", "jupyter_spaces.collab.handlers.RoomHandler", allow({WEBSOCKET})),
    # The agent's own routes.
    Route("/api/spaces-agent/presence", "jupyter_spaces.space.presence.PresenceHandler", READ_ONLY),
    Route("/api/spaces-agent/identity", "jupyter_spaces.space.whoami.IdentityHandler", READ_ONLY),
    # The domain's revocation notice carries its own signature, checked by the handler.
    Route("/api/spaces-agent/revoke", "jupyter_spaces.space.revocation.RevokeHandler",
          dict.fromkeys(ROLES, frozenset({"POST"}))),  # fmt: skip
]

TABLE = RouteTable(ROLES, ROUTES)


def role_of(user) -> str:
    role = getattr(user, "role", None)
    return role if role in SIGNED else "anonymous"


ENFORCEMENT = Enforcement(TABLE, role_of, unlisted_status=403)

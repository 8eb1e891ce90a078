"""Every route of the domain server, and who may use it (see :mod:`jupyter_spaces.routes`).

The domain serves the login page, static files, the spaces home (JupyterLab with
only the spaces panel), the REST API and the proxy into spaces. It runs no user
code, installs nothing and serves no files: kernels, terminals, contents,
sessions, config, nbconvert, language servers, the extension and plugin managers
are refused for everyone, admins included. Roles: ``anonymous`` (not logged in),
``user``, ``admin``; the API handlers decide the rest (owner, member, admin) from
the access policy. A route not listed answers 404, a refused method 403, and a
page asked for by nobody logged in goes to the login page.

JupyterLab's settings and workspaces are each user's own, under
``<data_dir>/lab/users/<user id>/``; nothing goes to the process's home directory.
"""

from __future__ import annotations

import os

from ..labsettings import scope_to
from ..routes import READ, WEBSOCKET, WRITE, Enforcement, Route, RouteTable

ROLES = ("anonymous", "user", "admin")


def everyone(verbs) -> dict:
    return dict.fromkeys(ROLES, frozenset(verbs))


def users(verbs) -> dict:
    """Logged-in users, admins included; admin-only API routes are the policy's to refuse."""
    return {"user": frozenset(verbs), "admin": frozenset(verbs)}


# Listed, and refused for everyone: a decision, not an oversight.
REFUSED: dict = {}

_JS = "jupyter_server."
_LAB = "jupyterlab_server."
_API = "jupyter_spaces.domain.handlers."
_HOST = "jupyter_spaces.domain.space_host."
_STATIC = _JS + "base.handlers.FileFindHandler"
_SPACE = r"(?P<name>[^/]+)"

ROUTES = [
    # Signing in, and what a page needs before anyone is signed in.
    Route("/login", "jupyter_spaces.domain.auth.LoginHandler", everyone({"GET", "POST"})),
    Route("/logout", "jupyter_spaces.domain.auth.LogoutHandler", everyone(READ)),
    Route("/static/(.*)", _STATIC, everyone(READ)),
    Route("/static/lab/(.*)", _STATIC, everyone(READ)),
    Route("/lab/extensions/(.*)", _STATIC, everyone(READ)),
    Route(r"/(robots\.txt)", _STATIC, everyone(READ)),
    Route(r"/(favicon\.ico)", _STATIC, everyone(READ)),
    # Both under base_url (rootfiles.py), in place of jupyter_server's rule below.
    Route(r"/(favicon\.ico|robots\.txt)", _STATIC, everyone(READ)),
    # Registered by jupyter_server without its directory: it cannot start (rootfiles.py).
    Route(r"/(robots\.txt|favicon\.ico)", _JS + "base.handlers.PublicStaticFileHandler", REFUSED),
    # Redirects and not-found pages.
    Route("/", _JS + "base.handlers.MainHandler", users(READ)),
    # `/` when default_url is not base_url (a `jupyter spaces` server: the home)
    Route("/?", _JS + "base.handlers.RedirectWithParams", users(READ)),
    Route("/.*/", _JS + "base.handlers.TrailingSlashHandler", everyone(READ)),
    Route("(.*)", _JS + "base.handlers.Template404", everyone(READ)),
    Route("/lab/.*", _LAB + "handlers.NotFoundHandler", users(READ)),
    Route("/spaces/home", _API + "home.HomeHandler", users(READ)),
    # The REST API; the handlers apply the access policy.
    Route("/spaces/api/me", _API + "users.MeHandler", users(READ)),
    Route("/spaces/api/users", _API + "users.UsersHandler", users(READ | {"POST"})),
    Route("/spaces/api/users/(?P<name>[^/]+)", _API + "users.UserHandler", users(READ | {"PATCH", "DELETE"})),
    Route("/spaces/api/users/(?P<name>[^/]+)/tokens", _API + "users.TokensHandler", users(READ | {"POST"})),
    Route(
        "/spaces/api/users/(?P<name>[^/]+)/tokens/(?P<token_id>[0-9]{1,12})",
        _API + "users.TokenHandler",
        users({"DELETE"}),
    ),
    Route("/spaces/api/users/(?P<name>[^/]+)/sessions", _API + "users.SessionsHandler", users({"DELETE"})),
    Route("/spaces/api/users/(?P<name>[^/]+)/login-link", _API + "users.LoginLinkHandler", users({"POST"})),
    Route("/spaces/api/audit", _API + "users.AuditHandler", users(READ)),
    Route("/spaces/api/spaces", _API + "spaces.SpacesHandler", users(READ | {"POST"})),
    Route(f"/spaces/api/spaces/{_SPACE}", _API + "spaces.SpaceHandler", users(READ | {"PATCH", "DELETE"})),
    Route(f"/spaces/api/spaces/{_SPACE}/(?P<verb>start|stop)", _API + "spaces.LifecycleHandler", users({"POST"})),
    Route(f"/spaces/api/spaces/{_SPACE}/events", _API + "spaces.EventsHandler", users(READ)),
    Route(f"/spaces/api/spaces/{_SPACE}/presence", _API + "spaces.PresenceHandler", users(READ)),
    Route("/spaces/api/events", _API + "feed.FeedHandler", users(READ)),
    Route(f"/spaces/api/spaces/{_SPACE}/members", _API + "spaces.MembersHandler", users(READ)),
    Route(
        f"/spaces/api/spaces/{_SPACE}/members/(?P<user>[^/]+)",
        _API + "spaces.MemberHandler",
        users({"PUT", "DELETE"}),
    ),
    Route("/spaces/api/instance-types", _API + "catalog.InstanceTypesHandler", users(READ)),
    Route("/spaces/api/images", _API + "catalog.ImagesHandler", users(READ)),
    Route("/spaces/api/app-types", _API + "catalog.AppTypesHandler", users(READ)),
    Route("/spaces/api/.*", _API + "base.NotFoundHandler", users(READ | WRITE)),
    # JupyterLab's assets of each image, public like static/ (domain/shared_assets.py).
    Route(
        "/spaces/_assets/(?P<key>[0-9a-f]{32})/(?P<path>(?:lab|ext)/.+)",
        "jupyter_spaces.domain.shared_assets.SharedAssetHandler",
        everyone(READ),
    ),
    # The proxy into spaces authenticates for itself (an anonymous browser goes to the
    # login page, or from a space's own host to the domain's); the policy and the
    # space's own table decide the rest.
    Route(f"/spaces/{_SPACE}/(?P<path>.*)", "jupyter_spaces.domain.proxy.handler.SpaceProxyHandler",
          everyone(READ | WRITE | {WEBSOCKET})),  # fmt: skip
    # On a space's own host (see space_host): entering with a ticket, redirects, and
    # what the space's labextension reads about this space.
    Route("/spaces/_enter", _HOST + "EnterHandler", everyone(READ)),
    Route(f"/spaces/{_SPACE}/logout", _HOST + "SpaceLogoutHandler", everyone(READ)),
    Route("/(.*)", _HOST + "SpaceHostPagesHandler", everyone(READ)),
    Route("/spaces/api/me", _HOST + "SpaceMeHandler", users(READ)),
    Route("/spaces/api/spaces", _HOST + "ThisSpaceListHandler", users(READ)),
    Route(f"/spaces/api/spaces/{_SPACE}", _HOST + "ThisSpaceHandler", users(READ)),
    Route(f"/spaces/api/spaces/{_SPACE}/events", _HOST + "ThisSpaceEventsHandler", users(READ)),
    Route(f"/spaces/api/spaces/{_SPACE}/presence", _HOST + "ThisSpacePresenceHandler", users(READ)),
    Route("/spaces/api/instance-types", _HOST + "SpaceInstanceTypesHandler", users(READ)),
    Route("/spaces/api/images", _HOST + "SpaceImagesHandler", users(READ)),
    Route("/spaces/api/app-types", _HOST + "SpaceAppTypesHandler", users(READ)),
    Route("/spaces/api/.*", _HOST + "SpaceApiNotFoundHandler", users(READ | WRITE)),
    # The home: JupyterLab's page and what its frontend reads; settings and
    # workspaces are the caller's own (see enforcement()).
    Route(
        r"/(?P<mode>lab|doc)(?P<workspace>/workspaces/[a-zA-Z0-9\-\_]+)?(?P<tree>/tree/.*)?",
        _LAB + "handlers.LabHandler",
        users(READ),
    ),
    Route("/lab/api/settings/?", _LAB + "settings_handler.SettingsHandler", users(READ)),
    Route("/lab/api/settings/(?P<schema_name>.+)", _LAB + "settings_handler.SettingsHandler", users(READ | {"PUT"})),
    Route("/lab/api/workspaces/?", _LAB + "workspaces_handler.WorkspacesHandler", users(READ)),
    Route("/lab/api/workspaces/(?P<space_name>.+)", _LAB + "workspaces_handler.WorkspacesHandler",
          users(READ | {"PUT", "DELETE"})),  # fmt: skip
    Route("/lab/api/translations/?", _LAB + "translations_handler.TranslationsHandler", users(READ)),
    Route("/lab/api/translations/(?P<locale>.*)", _LAB + "translations_handler.TranslationsHandler", users(READ)),
    Route("/lab/api/listings/(.*)", _LAB + "listings_handler.ListingsHandler", users(READ)),
    Route("/lab/api/themes/(.*)", _LAB + "themes_handler.ThemesHandler", users(READ)),
    Route("/lab/api/licenses/(.*)", _LAB + "licenses_handler.LicensesHandler", users(READ)),
    # Whether a rebuild is due, read-only: the domain never builds.
    Route("/lab/api/build", "jupyterlab.handlers.build_handler.BuildHandler", users(READ)),
    # The extension manager runs pip and asks PyPI on the caller's behalf; the plugin
    # manager rewrites the page config of every user; announcements fetch from the
    # internet. Their frontends are disabled in the home (handlers.home).
    Route("/lab/api/extensions", "jupyterlab.handlers.extension_manager_handler.ExtensionHandler", REFUSED),
    Route("/lab/api/plugins", "jupyterlab.handlers.plugin_manager_handler.PluginHandler", REFUSED),
    Route("/lab/api/update", "jupyterlab.handlers.announcements.CheckForUpdateHandler", REFUSED),
    Route("/lab/api/news", "jupyterlab.handlers.announcements.NewsHandler", REFUSED),
    # jupyter_server's own API: identity and status only.
    Route("/api", _JS + "base.handlers.APIVersionHandler", users(READ)),
    Route("/api/status", _JS + "services.api.handlers.APIStatusHandler", users(READ)),
    Route("/api/me", _JS + "services.api.handlers.IdentityHandler", users(READ)),
    Route("/api/security/csp-report", _JS + "services.security.handlers.CSPReportHandler", users({"POST"})),
    # Code, files and server control: never on the domain (from here one would reach
    # every volume). Metrics name every handler's traffic: not for users either.
    *(
        Route(pattern, _JS + handler, REFUSED)
        for pattern, handler in (
            ("/api/spec.yaml", "services.api.handlers.APISpecHandler"),
            ("/api/resolvePath", "services.api.handlers.PathResolverHandler"),
            (r"/api/config/(?P<section_name>\w+)", "services.config.handlers.ConfigHandler"),
            ("/api/contents(?P<path>(?:(?:/[^/]+)+|/?))/checkpoints", "services.contents.handlers.CheckpointsHandler"),
            (r"/api/contents(?P<path>(?:(?:/[^/]+)+|/?))/checkpoints/(?P<checkpoint_id>[\w-]+)",
             "services.contents.handlers.ModifyCheckpointsHandler"),
            ("/api/contents(?P<path>(?:(?:/[^/]+)+|/?))/trust", "services.contents.handlers.TrustNotebooksHandler"),
            ("/api/contents(?P<path>(?:(?:/[^/]+)+|/?))", "services.contents.handlers.ContentsHandler"),
            ("/api/notebooks/?(.*)", "services.contents.handlers.NotebooksRedirectHandler"),
            ("/api/kernels", "services.kernels.handlers.MainKernelHandler"),
            (r"/api/kernels/(?P<kernel_id>\w+-\w+-\w+-\w+-\w+)", "services.kernels.handlers.KernelHandler"),
            (r"/api/kernels/(?P<kernel_id>\w+-\w+-\w+-\w+-\w+)/(?P<action>restart|interrupt)",
             "services.kernels.handlers.KernelActionHandler"),
            (r"/api/kernels/(?P<kernel_id>\w+-\w+-\w+-\w+-\w+)/channels",
             "services.kernels.websocket.KernelWebsocketHandler"),
            (r"/kernelspecs/(?P<kernel_name>[\w\.\-%]+)/(?P<path>.*)", "kernelspecs.handlers.KernelSpecResourceHandler"),
            ("/api/kernelspecs", "services.kernelspecs.handlers.MainKernelSpecHandler"),
            (r"/api/kernelspecs/(?P<kernel_name>[\w\.\-%]+)", "services.kernelspecs.handlers.KernelSpecHandler"),
            (r"/nbconvert/(?P<format>\w+)", "nbconvert.handlers.NbconvertPostHandler"),
            (r"/nbconvert/(?P<format>\w+)(?P<path>(?:(?:/[^/]+)+|/?))", "nbconvert.handlers.NbconvertFileHandler"),
            ("/api/nbconvert", "services.nbconvert.handlers.NbconvertRootHandler"),
            (r"/api/sessions/(?P<session_id>\w+-\w+-\w+-\w+-\w+)", "services.sessions.handlers.SessionHandler"),
            ("/api/sessions", "services.sessions.handlers.SessionRootHandler"),
            ("/api/shutdown", "services.shutdown.ShutdownHandler"),
            ("/view(?P<path>(?:(?:/[^/]+)+|/?))", "view.handlers.ViewHandler"),
            ("/api/events", "services.events.handlers.EventHandler"),
            ("/api/events/subscribe", "services.events.handlers.SubscribeWebsocket"),
            ("/files/(.*)", "base.handlers.AuthenticatedFileHandler"),
            ("/metrics", "base.handlers.PrometheusMetricsHandler"),
        )
    ),
    # Language servers (jupyter_lsp, when installed) run processes.
    Route("/lsp/status", "jupyter_lsp.handlers.LanguageServersHandler", REFUSED),
    Route("/lsp/ws/(?P<language_server>.*)", "jupyter_lsp.handlers.LanguageServerWebSocketHandler", REFUSED),
]

TABLE = RouteTable(ROLES, ROUTES)


def role_of(user) -> str:
    if user is None:
        return "anonymous"
    return "admin" if getattr(user, "admin", False) else "user"


def enforcement(lab_dir: str) -> Enforcement:
    """The domain's table, with JupyterLab's settings and workspaces kept per user
    (by immutable id: a later user of the same name starts afresh) under ``lab_dir``."""

    def admitted(handler, user) -> None:
        if user is not None:
            scope_to(handler, os.path.join(lab_dir, "users", str(user.id)))

    return Enforcement(TABLE, role_of, unlisted_status=404, admitted=admitted)


"""Authorization complete by construction: one explicit route table per server.

A table lists every route a server serves (its tornado pattern relative to
``base_url`` and the handler class behind it) with the methods each role may use.
``WEBSOCKET`` stands for a GET asking for a websocket upgrade, so a route can be
readable without being a live channel (and the reverse).

:func:`guard` makes the table the first check of every request: it walks every
rule of the running tornado application (every extension's, through nested
routers) and puts in each rule's place a subclass of its handler whose
``prepare`` asks the table before the handler's own. A route the table does not
list is refused for everyone; a method the caller's role is not given is
refused. This also covers handlers that never ask jupyter_server's authorizer
(jupyterlab_server's, jupyterlab's, tornado's own), which stays the second line.

The walk happens on the first request, when every extension has registered its
handlers, and again after any later ``add_handlers``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from inspect import isawaitable, isclass

from tornado import web
from tornado.httputil import url_concat
from tornado.routing import PathMatches, Rule, RuleRouter

from .errors import Forbidden, NotFound, SpacesError

WEBSOCKET = "WEBSOCKET"
READ = frozenset({"GET", "HEAD"})
WRITE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
VERBS = READ | WRITE | {"OPTIONS", WEBSOCKET}
NOTHING: frozenset[str] = frozenset()

# The table's refusals, in the error shape of jupyter_spaces.errors.
NOT_SERVED = "This route is not served here."
NOT_ALLOWED = "This method is not allowed on this route."
NOT_FOR_ROLE = "Your role may not use this method on this route."
# A viewer of a space meets refusals in JupyterLab's own dialogs (a new notebook, a
# rename): said in their terms, not the table's.
NOT_FOR_VIEWER = (
    "You are a viewer of this space: you can read its files and notebooks, but not change "
    "them, run code or open terminals. Its owner can make you an editor."
)
LOG_IN = "Log in first."
BAD_TOKEN = (
    "The API token is not valid: it is unknown, expired or revoked. "
    "Ask for a new one (an administrator makes it with `jupyter spaces user token NAME`)."
)
REFUSALS = frozenset({NOT_SERVED, NOT_ALLOWED, NOT_FOR_ROLE, NOT_FOR_VIEWER, LOG_IN, BAD_TOKEN})


@dataclass(frozen=True)
class Route:
    """One route: ``pattern`` (relative to base_url) served by ``handler``
    (``module.QualName``), and for each role the verbs it may use."""

    pattern: str
    handler: str
    allow: Mapping[str, frozenset[str]]

    def allows(self, role: str, verb: str) -> bool:
        return verb in self.allow.get(role, NOTHING)


@dataclass
class RouteTable:
    roles: tuple[str, ...]
    routes: Iterable[Route]
    _index: dict = field(init=False, repr=False)

    def __post_init__(self):
        self.routes = tuple(self.routes)
        self._index = {}
        for route in self.routes:
            unknown = set(route.allow) - set(self.roles)
            bad = set().union(*route.allow.values()) - VERBS if route.allow else set()
            if unknown or bad:
                raise ValueError(f"{route.pattern}: unknown roles {unknown or ''} or verbs {bad or ''}")
            key = (route.pattern, route.handler)
            if key in self._index:
                raise ValueError(f"{route.pattern} ({route.handler}) is listed twice")
            self._index[key] = route

    def lookup(self, pattern: str, handler: str) -> Route | None:
        return self._index.get((pattern, handler))

    def everyone_may(self, route: Route, verb: str) -> bool:
        return all(route.allows(role, verb) for role in self.roles)

    def someone_may(self, route: Route, verb: str) -> bool:
        return any(route.allows(role, verb) for role in self.roles)


def handler_name(cls) -> str:
    return f"{cls.__module__}.{cls.__qualname__}" if isclass(cls) else repr(cls)


def leaf_rules(router) -> Iterator[Rule]:
    """Every rule of ``router`` whose target is not itself a rule router, depth first."""
    for rule in getattr(router, "rules", ()):
        if isinstance(rule.target, RuleRouter):
            yield from leaf_rules(rule.target)
        else:
            yield rule


def relative_pattern(rule: Rule, base_url: str) -> str:
    """The rule's path regex without its base_url prefix and tornado's trailing ``$``;
    ``repr`` of the matcher when it does not match on paths."""
    if not isinstance(rule.matcher, PathMatches):
        return repr(rule.matcher)
    pattern = rule.matcher.regex.pattern
    pattern = pattern[:-1] if pattern.endswith("$") else pattern
    prefix = base_url.rstrip("/")
    # tornado's own static rules (static/, favicon.ico, robots.txt) carry the prefix
    # re.escape'd ("-" becomes "\-"): without this, a space whose name has a dash found
    # them in no table entry and refused its own favicons.
    for written in (prefix, re.escape(prefix)):
        if prefix and pattern.startswith(written + "/"):
            return pattern[len(written) :]
    return pattern


def app_routes(app, base_url: str) -> list[tuple[str, str]]:
    """(pattern, handler) of every rule the application serves."""
    return [(relative_pattern(rule, base_url), handler_name(_original(rule.target))) for rule in leaf_rules(app.default_router)]


def request_verb(handler: web.RequestHandler) -> str:
    request = handler.request
    if request.method == "GET" and request.headers.get("Upgrade", "").lower() == "websocket":
        return WEBSOCKET
    return request.method or ""


@dataclass
class Enforcement:
    """How one server applies its table.

    ``role_of(user)`` names the caller's role (``user`` is what the identity
    provider returned, ``None`` when nobody is logged in); ``unlisted_status`` is the
    answer for a route not in the table; ``admitted(handler, user)`` runs for each
    request let through by the caller's role (not for routes open to everyone).
    """

    table: RouteTable
    role_of: Callable[[object], str]
    unlisted_status: int = 404
    admitted: Callable[[web.RequestHandler, object], None] | None = None

    async def admit(self, handler: web.RequestHandler, route: Route | None) -> bool:
        """True to go on with the request; otherwise the refusal has been answered."""
        verb = request_verb(handler)
        if route is None:
            error = NotFound if self.unlisted_status == 404 else Forbidden
            return _refuse(handler, error(NOT_SERVED))
        if not self.table.someone_may(route, verb):
            return _refuse(handler, Forbidden(NOT_ALLOWED))
        if self.table.everyone_may(route, verb):
            return True
        try:
            user = await _current_user(handler)
        except web.HTTPError as e:
            # The identity provider refused the credentials (a space's unsigned request):
            # answered here, as every refusal of the table, since some handlers' own error
            # pages never finish (jupyterlab_server's LicensesHandler.finish needs an argument).
            error = SpacesError(e.log_message % e.args if e.args else (e.log_message or LOG_IN), reason="forbidden")
            error.status = e.status_code
            return _refuse(handler, error)
        role = self.role_of(user)
        if route.allows(role, verb):
            if self.admitted is not None:
                self.admitted(handler, user)
            return True
        if user is None:
            return _to_login(handler)
        return _refuse(handler, Forbidden(NOT_FOR_VIEWER if role == "viewer" else NOT_FOR_ROLE))


def guard(app, base_url: str, enforcement: Enforcement) -> None:
    """Make ``enforcement``'s table the first check of every request ``app`` serves."""

    def walk():
        for rule in leaf_rules(app.default_router):
            if getattr(rule.target, "_spaces_route_guarded", False):
                continue
            route = enforcement.table.lookup(relative_pattern(rule, base_url), handler_name(rule.target))
            if isclass(rule.target) and issubclass(rule.target, web.RequestHandler):
                rule.target = _guarded(rule.target, route, enforcement)
            else:  # a delegate or a router we cannot look into: nothing to ask, so refuse it
                rule.target, rule.target_kwargs = _guarded(_Unlisted, None, enforcement), {}
        default = app.settings.get("default_handler_class")
        if default is not None and not getattr(default, "_spaces_route_guarded", False):
            app.settings["default_handler_class"] = _guarded(default, None, enforcement)

    def find_handler_first(request, **kwargs):
        del app.find_handler  # from now on the Application's own, with guarded rules
        walk()
        return app.find_handler(request, **kwargs)

    add_handlers = app.add_handlers

    def add_handlers_guarded(host_pattern, host_handlers):
        add_handlers(host_pattern, host_handlers)
        if "find_handler" not in vars(app):  # already walked: guard the newcomers too
            walk()

    app.find_handler = find_handler_first
    app.add_handlers = add_handlers_guarded


class _Unlisted(web.RequestHandler):
    """Stands in for a rule target that is not a handler class."""


def _guarded(cls: type[web.RequestHandler], route: Route | None, enforcement: Enforcement):
    async def prepare(self):
        if not await enforcement.admit(self, route):
            return
        result = cls.prepare(self)
        if isawaitable(result):
            await result

    # Same names as the original, so logs, metrics and the table see the same handler.
    return type(
        cls.__name__,
        (cls,),
        {
            "prepare": prepare,
            "__module__": cls.__module__,
            "__qualname__": cls.__qualname__,
            "_spaces_route_guarded": True,
            "_spaces_route": route,
        },
    )


def _original(cls):
    while getattr(cls, "_spaces_route_guarded", False):
        cls = cls.__mro__[1]
    return cls


async def _current_user(handler: web.RequestHandler):
    """The caller, asked once per request (the handler's own prepare reuses it)."""
    user = getattr(handler, "_jupyter_current_user", None)
    if user is None:
        user = handler.settings["identity_provider"].get_user(handler)
        if isawaitable(user):
            user = await user
        handler.current_user = handler._jupyter_current_user = user
    return user


def _refuse(handler: web.RequestHandler, error: SpacesError) -> bool:
    handler.clear()
    handler.set_status(error.status)
    handler.set_header("Content-Type", "application/json")
    # RequestHandler's own finish: some handlers override it with other arguments.
    web.RequestHandler.finish(handler, json.dumps(error.to_json()))
    return False


def _sent_token(handler: web.RequestHandler) -> bool:
    """Whether the request carries an API token (header or ``?token=``)."""
    scheme = handler.request.headers.get("Authorization", "").split(" ", 1)[0].lower()
    return scheme in ("token", "bearer") or bool(handler.request.query_arguments.get("token"))


def _to_login(handler: web.RequestHandler) -> bool:
    """Nobody logged in: a browser asking for a page goes to the login page, anything else is 403."""
    login_url = handler.settings.get("login_url")
    wants_page = handler.request.method in READ and "text/html" in handler.request.headers.get("Accept", "")
    if not (login_url and wants_page):
        if _sent_token(handler):
            # A token was sent and matched nobody: say so, not just "log in".
            return _refuse(handler, Forbidden(BAD_TOKEN, reason="invalid_token"))
        return _refuse(handler, Forbidden(LOG_IN))
    handler.clear()
    handler.set_status(302)
    handler.set_header("Location", url_concat(login_url, {"next": handler.request.uri}))
    web.RequestHandler.finish(handler)
    return False

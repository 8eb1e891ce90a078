"""What the domain serves on a space's own host (``{space}.<suffix>``, see :mod:`.origins`).

Only this, in this order; nothing of the domain's own pages or API otherwise:

- ``<base>spaces/_enter?ticket=...&next=...``: a browser enters the space. The
  one-time ticket (minted by the proxy on the domain's host for a logged-in
  user, bound to user, login session and space) becomes a *space session* and
  its host-only cookie, then the browser goes on to ``next`` (a path of this
  space).
- ``<base>spaces/<this space>/...``: the proxy (:mod:`.proxy`).
- ``<base>spaces/api/...``: what the labextension inside the space reads, about
  *this* space only, and only reads: ``me``, ``spaces`` (this space alone),
  ``spaces/<this>``, its ``events`` and ``presence``, the catalogues. A page
  of the space (written by its editors) can call these with the visitor's
  space session; it must learn nothing there that the space does not show it
  anyway (no other space, not even a name), and change nothing.
- ``<base>lab`` (the labextension's way home) and ``/``: redirects to the
  domain's home and to this space's JupyterLab.
- ``<base>spaces/<this space>/logout`` (JupyterLab's File > Log Out in the space):
  a redirect to the domain's logout, which ends the login session and its space
  sessions (the space's own server has no logout: it answered 404).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web

from ..errors import NotFound
from .auth import SETTINGS_KEY
from .handlers.base import DomainHandler
from .handlers.catalog import AppTypesHandler, ImagesHandler, InstanceTypesHandler
from .handlers.spaces import EventsHandler, PresenceHandler, SpaceHandler
from .handlers.users import MeHandler
from .origins import SPACE_COOKIE, TICKET_PARAM
from .proxy import SpaceProxyHandler
from .space_entry import enter_space


def host_space(handler) -> str | None:
    return handler.settings[SETTINGS_KEY].origins.space_of(handler.request.host)


class _OnSpaceHost:
    """A domain handler on a space's host: reads of that space only."""

    def check_host(self) -> bool:
        return host_space(self) is not None  # the router matched a space host

    async def prepare(self):
        name = self.path_kwargs.get("name")
        if self.request.method not in ("GET", "HEAD") or (name is not None and name != host_space(self)):
            raise NotFound("No such API route.")
        await super().prepare()


class SpaceMeHandler(_OnSpaceHost, MeHandler):
    pass


class ThisSpaceListHandler(_OnSpaceHost, DomainHandler):
    """``GET spaces`` on a space's host: this space alone (the switcher shows it)."""

    @web.authenticated
    async def get(self):
        space = await self.call(self.domain.service.get_space, self.caller, host_space(self))
        self.reply({"items": [space], "next_cursor": None})


class ThisSpaceHandler(_OnSpaceHost, SpaceHandler):
    pass


class ThisSpaceEventsHandler(_OnSpaceHost, EventsHandler):
    pass


class ThisSpacePresenceHandler(_OnSpaceHost, PresenceHandler):
    pass


class SpaceInstanceTypesHandler(_OnSpaceHost, InstanceTypesHandler):
    pass


class SpaceImagesHandler(_OnSpaceHost, ImagesHandler):
    pass


class SpaceAppTypesHandler(_OnSpaceHost, AppTypesHandler):
    pass


class SpaceApiNotFoundHandler(_OnSpaceHost, DomainHandler):
    async def prepare(self):
        raise NotFound("No such API route.")


class EnterHandler(JupyterHandler):
    """Trades a one-time ticket for a space session on this host."""

    auth_resource = "spaces"

    def check_host(self) -> bool:
        return host_space(self) is not None

    def check_xsrf_cookie(self):
        return None  # a GET that the ticket itself authorizes

    @property
    def domain(self):
        return self.settings[SETTINGS_KEY]

    def _next(self, space: str) -> str:
        """Only a path of this space (no open redirect)."""
        prefix = f"{self.base_url}spaces/{space}/"
        target = self.get_argument("next", "")
        parts = urlsplit(target)
        if target.startswith(prefix) and not parts.scheme and not parts.netloc and "\\" not in target:
            return target
        return prefix + "lab"

    @allow_unauthenticated
    async def get(self):
        space = host_space(self)
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Cache-Control", "no-store")
        ticket = self.get_argument(TICKET_PARAM, "")
        client = self.request.remote_ip or ""
        entered = await self.domain.run(enter_space, self.domain.service, ticket, space, client) if ticket else None
        if entered is None:
            # Used, expired or for another space: the domain's address of this space mints a new one.
            origin = self.domain.origins.domain_origin(self.request.protocol, self.request.host)
            return self.redirect(origin + self._next(space))
        self.set_secure_cookie(
            SPACE_COOKIE,
            entered,
            expires_days=None,
            httponly=True,
            samesite="Lax",
            secure=self.request.protocol == "https",
            path="/",
        )
        self.redirect(self._next(space))


class SpaceHostPagesHandler(JupyterHandler):
    """``/`` opens this space; ``<base>lab`` (the labextension's home) the domain's home."""

    auth_resource = "spaces"

    def check_host(self) -> bool:
        return host_space(self) is not None

    @allow_unauthenticated
    def get(self, _path: str = ""):
        space = host_space(self)
        origins = self.settings[SETTINGS_KEY].origins
        base = self.base_url
        path = self.request.path  # as sent (base_url may be %-encoded)
        if path in ("/", base):
            return self.redirect(f"{base}spaces/{space}/lab")
        if path in (url_path_join(base, "lab"), url_path_join(base, "spaces/home")):
            query = f"?{self.request.query}" if self.request.query else ""
            home = origins.domain_origin(self.request.protocol, self.request.host) + url_path_join(base, "lab")
            return self.redirect(home + query)
        raise web.HTTPError(404)


class SpaceLogoutHandler(JupyterHandler):
    """JupyterLab's Log Out in a space: the domain's logout, on the domain's host."""

    auth_resource = "spaces"

    def check_host(self) -> bool:
        return host_space(self) is not None

    @allow_unauthenticated
    def get(self, name: str):
        if name != host_space(self):
            raise web.HTTPError(404)
        origins = self.settings[SETTINGS_KEY].origins
        domain = origins.domain_origin(self.request.protocol, self.request.host)
        self.redirect(domain + url_path_join(self.base_url, "logout"))


def space_host_handlers(base_url: str) -> list:
    """The rules of every space host (base_url applied), the catch-all last."""
    api = url_path_join(base_url, "spaces/api")
    name = r"(?P<name>[^/]+)"
    return [
        (url_path_join(base_url, "spaces/_enter"), EnterHandler),
        (f"{api}/me", SpaceMeHandler),
        (f"{api}/spaces", ThisSpaceListHandler),
        (f"{api}/spaces/{name}", ThisSpaceHandler),
        (f"{api}/spaces/{name}/events", ThisSpaceEventsHandler),
        (f"{api}/spaces/{name}/presence", ThisSpacePresenceHandler),
        (f"{api}/instance-types", SpaceInstanceTypesHandler),
        (f"{api}/images", SpaceImagesHandler),
        (f"{api}/app-types", SpaceAppTypesHandler),
        (f"{api}/.*", SpaceApiNotFoundHandler),
        (url_path_join(base_url, r"spaces/(?P<name>[^/]+)/logout"), SpaceLogoutHandler),
        (url_path_join(base_url, r"spaces/(?P<name>[^/]+)/(?P<path>.*)"), SpaceProxyHandler),
        (r"/(.*)", SpaceHostPagesHandler),
    ]

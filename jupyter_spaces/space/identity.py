"""Authentication inside a space server: only requests signed by the domain.

There is no token, no password, no login page and no login cookie here. The
domain authenticates the user, checks that they may open this space, and its
proxy signs every forwarded request (``jupyter_spaces.signing``). This
provider verifies that signature on every request, HTTP and websocket alike,
and builds the jupyter_server ``User`` from the signed identity, so
``GET api/me`` and collaborators' cursors show the domain user's name,
initials and colour. Anything unsigned, forged, stale, replayed, or signed
for another path or space is answered 403 (JSON for API routes, an error
page for page routes); it is never redirected to a login form.

XSRF and origin checks
----------------------
jupyter_server skips its XSRF-cookie and Origin checks for token-authenticated
requests, because a token cannot be sent by a third-party page. A valid
signature is in the same position: a browser cannot produce it, only the
domain can, so this provider marks signed requests as token-authenticated.
Protection against cross-site requests therefore lives where the browser's
credential (the domain login cookie) is checked, in the domain proxy, which
before signing must:

* enforce its XSRF check on unsafe methods (POST, PUT, PATCH, DELETE) of
  cookie-authenticated requests, and
* check ``Origin`` against its own host on websocket upgrades (websockets are
  not covered by XSRF tokens).

Requests authenticated with an API token at the domain need neither, as in
jupyter_server itself. (As for tokens, jupyter_server echoes the request's
``Origin`` in ``Access-Control-Allow-Origin`` on signed requests, but never
``Access-Control-Allow-Credentials``, so a foreign page cannot read a response
to a request carrying the domain cookie.)
"""

from __future__ import annotations

from dataclasses import dataclass

from jupyter_server.auth.identity import IdentityProvider, User
from tornado import web
from traitlets import Instance, default

from ..signing import InvalidSignature, Verifier
from . import personal
from .revocation import OpenSockets


@dataclass
class SpaceUser(User):
    """A jupyter_server user that also carries its role in this space."""

    role: str = "viewer"


class SpaceIdentityProvider(IdentityProvider):
    """Accepts only requests carrying a valid domain signature."""

    verifier = Instance(
        Verifier,
        allow_none=True,
        help="Checks signatures; set by SpaceAgentApp. While unset, every request is refused.",
    )

    @default("token")
    def _token_default(self):
        # The signed identity is the only credential; never generate or read a token.
        return ""

    @default("updatable_fields")
    def _updatable_fields_default(self):
        # Names and colours belong to the domain; a space cannot change them.
        return []

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Config (or JUPYTER_TOKEN) may still carry a token. It is never accepted,
        # so do not let jupyter_server print it or put it into pages either.
        self.token = ""
        # Every websocket by user and role, for the domain's revocation notices.
        self.sockets = OpenSockets()

    @property
    def auth_enabled(self):
        return True

    @property
    def login_available(self):
        # No /login route: nobody logs in to a space server directly.
        return False

    @property
    def logout_available(self):
        return False

    def get_user(self, handler: web.RequestHandler) -> SpaceUser:
        # A request is verified once: a second verify would see its own nonce as a replay.
        cached = getattr(handler, "_jupyter_current_user", None)
        if cached is not None:
            return cached
        request = handler.request
        try:
            if self.verifier is None:
                raise InvalidSignature("the space agent has no secret yet")
            identity = self.verifier.verify(request.method, request.uri, request.headers)
        except InvalidSignature as e:
            self.log.warning(
                "Refusing %s %s from %s: %s", request.method, request.path, request.remote_ip, e.reason
            )
            # Error pages read current_user; make it a plain None before raising.
            handler.current_user = handler._jupyter_current_user = None
            # Raise rather than return None: None would redirect page routes to a login form.
            raise web.HTTPError(
                403, f"This space accepts only requests through the jupyter-spaces domain ({e.reason})."
            ) from None
        # Lets jupyter_server skip XSRF and Origin checks for this request (see module docstring).
        handler._token_authenticated = True
        # The one hook every request passes: JupyterLab's settings and workspaces
        # handlers never ask the authorizer, so they are made per-user here.
        personal.scope_to_user(handler, identity.name)
        self.sockets.track(handler, identity.name, identity.role)
        return SpaceUser(
            username=identity.name,
            name=identity.display_name,
            display_name=identity.display_name,
            initials=identity.initials or None,
            color=identity.color or None,
            role=identity.role,
        )

    def get_handlers(self):
        return []

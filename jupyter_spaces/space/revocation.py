"""Live revocation inside a space server: the domain's notice closes a user's websockets.

When a user's access to a running space changes (role lowered, removed from the
space, user deleted), the domain tells the space at once:
``POST <base_url>api/spaces-agent/revoke`` with ``{"user": name, "role": new role or null}``,
signed for ``signing.control_space(space)`` (a user's request, which the proxy signs
for the space name, never passes). Every websocket of that user opened with another
role is closed: kernels, terminals, collaboration rooms. The role of a new
connection is whatever the domain signs for it then (a new viewer's collaboration
room is read-only, their kernel websocket refused).
"""

from __future__ import annotations

import json
import weakref

from jupyter_server.auth.decorator import allow_unauthenticated
from tornado import web
from tornado.log import app_log
from tornado.websocket import WebSocketHandler

from ..signing import ROLES, InvalidSignature, Verifier

#: Policy violation: the access this connection was opened with is gone.
CLOSE_CODE = 1008
#: Where the agent finds the verifier of the domain's notices (``settings``).
SETTINGS_KEY = "jupyter_spaces_notice_verifier"


class OpenSockets:
    """Each user's websockets in this server, with the role each was opened with.

    The identity provider adds every websocket upgrade it verifies; a closed
    handler drops out by itself (weak references).
    """

    def __init__(self):
        self._by_user: dict[str, weakref.WeakKeyDictionary] = {}

    def track(self, handler, name: str, role: str) -> None:
        if isinstance(handler, WebSocketHandler):
            self._by_user.setdefault(name, weakref.WeakKeyDictionary())[handler] = role

    def close(self, name: str, keep_role: str | None, reason: str) -> int:
        """Close ``name``'s open websockets not opened as ``keep_role``; how many were closed."""
        sockets = self._by_user.get(name)
        if sockets is None:
            return 0
        closing = [h for h, role in list(sockets.items()) if role != keep_role and h.ws_connection is not None]
        for handler in closing:
            del sockets[handler]
            # A collaboration room's own close also refuses the messages still in flight.
            close = getattr(handler, "close_with", None) or handler.close
            close(CLOSE_CODE, reason)
        if not sockets:
            del self._by_user[name]
        return len(closing)


class RevokeHandler(web.RequestHandler):
    """The domain's notice; nobody else's request verifies (see module docstring)."""

    def check_xsrf_cookie(self):
        pass  # the signature is the credential, and no browser can make one

    @allow_unauthenticated  # authenticated here, by the domain's signature
    def post(self):
        verifier: Verifier = self.settings[SETTINGS_KEY]
        try:
            verifier.verify(self.request.method, self.request.uri, self.request.headers)
        except InvalidSignature as e:
            raise web.HTTPError(403, f"Only the domain sends revocation notices ({e.reason}).") from None
        try:
            body = json.loads(self.request.body)
            user, role = body["user"], body["role"]
        except (ValueError, TypeError, KeyError):
            raise web.HTTPError(400, "Expected {user, role}.") from None
        if not isinstance(user, str) or not user or (role is not None and role not in ROLES):
            raise web.HTTPError(400, "Expected {user, role}.")
        reason = f"Your access to this space changed (now {role})." if role else "Your access to this space ended."
        closed = self.settings["identity_provider"].sockets.close(user, role, reason)
        app_log.info("jupyter-spaces agent: %s is now %s here; closed %d websocket(s)", user, role, closed)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"closed": closed}))


handlers = [(r"/api/spaces-agent/revoke", RevokeHandler)]

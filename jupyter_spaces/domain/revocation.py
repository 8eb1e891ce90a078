"""Live revocation: access taken away ends the connections that were opened with it.

What stays open past one request is registered here: the proxy's websocket relays
and the events streams, each under its space, user id, credential and (relays) the
role signed into it. When access changes, ``Revocations`` closes what the change
ends, at once:

- a member's role changed or the member removed: their relays into that space not
  opened with the new role;
- a user removed: everything of theirs;
- admin rights given or taken: their events streams (admin rights reach no space's
  inside, ``policy.role_of``; what they showed was other users' private spaces' state);
- a token revoked: everything opened with it;
- a sign-in session ended (logout, sign out everywhere): the user's browser connections;
- a space stopped, started or deleted: every relay into it.

It also drops the proxy's cached targets, and tells each running space concerned
with a notice signed for ``signing.control_space(name)`` (never polled), so that
the space agent closes the user's own websockets there as well: kernels,
terminals, collaboration rooms (``jupyter_spaces.space.revocation``). The next
request is checked anew: a new viewer is served read-only, a removed user refused.
(The identity provider's cache is cleared by the user and token handlers.)
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from .. import signing
from .accounts import token_digest
from .lifecycle import DOMAIN_IDENTITY

log = logging.getLogger("jupyter_spaces.revocation")

#: Policy violation: the access this connection was opened with is gone.
CLOSE_CODE = 1008
#: Seconds a running space has to take a notice (the caller's request waits for it).
NOTICE_TIMEOUT = 2.0
#: The agent's route for notices (``jupyter_spaces.space.revocation``).
NOTICE_ROUTE = "api/spaces-agent/revoke"


@dataclass(eq=False)
class Open:
    """One open connection: ``close(reason)`` ends it."""

    space: str
    user_id: int
    credential: str
    role: str | None  # signed into a relay; None for an events stream
    close: Callable[[str], None]


class OpenConnections:
    def __init__(self):
        self._by_user: dict[int, set[Open]] = {}

    def add(self, space: str, user_id: int, credential: str, role: str | None, close) -> Open:
        conn = Open(space, user_id, credential, role, close)
        self._by_user.setdefault(user_id, set()).add(conn)
        return conn

    def discard(self, conn: Open) -> None:
        conns = self._by_user.get(conn.user_id)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self._by_user[conn.user_id]

    def end(self, reason: str, match: Callable[[Open], bool], user_id: int | None = None) -> int:
        """Close the connections (of ``user_id``, or anyone's) that ``match``; how many."""
        pool = self._by_user.get(user_id, ()) if user_id is not None else [
            c for conns in self._by_user.values() for c in conns
        ]
        ending = [c for c in pool if match(c)]
        for conn in ending:
            self.discard(conn)
            conn.close(reason)
        return len(ending)


_registries: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def connections(domain) -> OpenConnections:
    """The domain's open connections (per domain object)."""
    registry = _registries.get(domain)
    if registry is None:
        registry = _registries[domain] = OpenConnections()
    return registry


#: The credential of connections opened with a sign-in session (the user's, any of them).
SESSION = "session"


def token_credential(digest: str) -> str:
    return "t:" + digest


def credential_of(handler) -> str:
    """What authenticated ``handler``'s request: an API token (by digest) or a sign-in session."""
    token = handler.identity_provider.get_token(handler)
    return token_credential(token_digest(token)) if token else SESSION


class Revocations:
    """What the handlers and the lifecycle call once a change is stored."""

    def __init__(self, domain):
        self.domain = domain

    @property
    def open(self) -> OpenConnections:
        return connections(self.domain)

    async def member_changed(self, space: str, user: str, role: str | None) -> None:
        """``user``'s role in ``space`` is now ``role`` (None: removed, back to the default role)."""
        found = await self.domain.run(self.domain.service.user_by_name, user)
        self.domain.proxy.forget(space)
        if found is not None:
            self.open.end(
                f"Your role in space {space} changed.",
                lambda c: c.space == space and c.role is not None and c.role != role,
                found.id,
            )
        await self._notify(user, role, space)

    async def user_removed(self, user_id: int, name: str) -> None:
        self.domain.proxy.forget(user_id=user_id)
        self.open.end("Your account was removed.", lambda c: True, user_id)
        await self._notify(name, None)

    async def admin_changed(self, user: str) -> None:
        found = await self.domain.run(self.domain.service.user_by_name, user)
        if found is not None:
            self.domain.proxy.forget(user_id=found.id)
            self.open.end("Your administrator rights changed.", lambda c: c.role is None, found.id)

    def credential_revoked(self, credential: str) -> None:
        self.open.end("The credential of this connection was revoked.", lambda c: c.credential == credential)

    def sessions_ended(self, user_id: int) -> None:
        """A logout or "sign out everywhere": the user's browser connections end (one that
        still has a live session reconnects)."""
        self.open.end("You were signed out.", lambda c: c.credential == SESSION, user_id)

    def space_changed(self, name: str) -> None:
        """Space ``name`` started, stopped or was deleted: no relay outlives its server."""
        self.open.end(f"Space {name} stopped.", lambda c: c.space == name and c.role is not None)

    async def _notify(self, user: str, role: str | None, space: str | None = None) -> None:
        """Tell running space ``space`` (or every running space) that ``user`` is now ``role``."""
        rows = await self.domain.run(self.domain.service.active_spaces)
        running = [
            r for r in rows
            if r["status"] == "running" and r["server_url"] and r["secret"] and space in (None, r["name"])
        ]
        await asyncio.gather(*(self._notice(r, user, role) for r in running))

    async def _notice(self, row: dict, user: str, role: str | None) -> None:
        name = row["name"]
        path = f"{self.domain.lifecycle.base_url}spaces/{name}/{NOTICE_ROUTE}"
        headers = signing.sign_request(row["secret"], signing.control_space(name), "POST", path, DOMAIN_IDENTITY)
        headers["Content-Type"] = "application/json"
        try:
            await AsyncHTTPClient().fetch(
                row["server_url"].rstrip("/") + path, method="POST", headers=headers,
                body=json.dumps({"user": user, "role": role}), request_timeout=NOTICE_TIMEOUT,
            )
        except (HTTPClientError, OSError) as e:
            # Its relays are closed already; the space's own websockets stay until it answers again.
            log.warning("Space %s did not take the revocation notice for %s: %s", name, user, e)

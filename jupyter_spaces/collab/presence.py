"""Who is in the space now, and in which document -- for the space agent to report."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

IDENTITY_FIELDS = ("username", "name", "display_name", "initials", "avatar_url", "color")


def identity_of(user: Any) -> dict[str, Any]:
    """The identity fields of jupyter_server's ``current_user`` (a ``User`` or a dict)."""
    if isinstance(user, dict):
        src = user
    else:
        src = {f: getattr(user, f, None) for f in IDENTITY_FIELDS}
    ident = {f: src.get(f) for f in IDENTITY_FIELDS}
    ident["username"] = ident["username"] or "anonymous"
    ident["name"] = ident["name"] or ident["username"]
    ident["display_name"] = ident["display_name"] or ident["name"]
    if not ident["initials"]:
        ident["initials"] = "".join(w[0] for w in ident["display_name"].split()[:2]).upper()
    return ident


class Presence:
    """In-process registry of open collaboration connections.

    ``snapshot()`` gives one entry per user with the documents they have open;
    ``subscribe(callback)`` calls ``callback(snapshot)`` whenever it changes.
    """

    def __init__(self) -> None:
        self._conns: dict[int, dict[str, Any]] = {}
        self._listeners: list[Callable[[list[dict[str, Any]]], Any]] = []

    def join(self, conn_id: int, identity: dict[str, Any], document: str | None, role: str) -> None:
        self._conns[conn_id] = {
            "identity": identity,
            "document": document,
            "role": role,
            "since": time.time(),
        }
        self._changed()

    def leave(self, conn_id: int) -> None:
        if self._conns.pop(conn_id, None) is not None:
            self._changed()

    def snapshot(self) -> list[dict[str, Any]]:
        users: dict[str, dict[str, Any]] = {}
        for entry in self._conns.values():
            ident = entry["identity"]
            u = users.setdefault(
                ident["username"],
                dict(ident, documents=set(), role=entry["role"], since=entry["since"]),
            )
            if entry["document"]:
                u["documents"].add(entry["document"])
            u["since"] = min(u["since"], entry["since"])
        out = []
        for u in sorted(users.values(), key=lambda u: u["username"]):
            u["documents"] = sorted(u["documents"])
            out.append(u)
        return out

    def subscribe(self, callback: Callable[[list[dict[str, Any]]], Any]) -> Callable[[], None]:
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback)

    def _changed(self) -> None:
        if not self._listeners:
            return
        snap = self.snapshot()
        for cb in list(self._listeners):
            try:
                cb(snap)
            except Exception:  # a listener must not break the room
                pass

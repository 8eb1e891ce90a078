"""The clients of a room and the awareness relay between them. The global awareness
room is just this; a document room (room.Room) adds the document."""

from __future__ import annotations

import json
from typing import Any, Protocol

from pycrdt import create_awareness_message

from . import protocol as P


class Conn(Protocol):
    """What a room needs from a connection (the websocket handler implements it)."""

    conn_id: int
    identity: dict[str, Any]
    can_write: bool
    session_id: str | None
    client_ids: set[int]
    pending_adoption: bool

    def send(self, message: bytes) -> None: ...
    def send_frame(self, frame: bytes) -> None: ...
    def close_with(self, code: int, reason: str) -> None: ...


class AwarenessRoom:
    """Clients + awareness relay. The global awareness room is just this; the
    identity in each state's ``user`` field is the server's, not the client's claim."""

    def __init__(self) -> None:
        self.clients: set[Conn] = set()
        # awareness: client id -> (clock, json state)
        self.awareness: dict[int, tuple[int, str]] = {}

    def broadcast(self, message: bytes, exclude: Conn | None = None) -> None:
        self.broadcast_frame(P.ws_frame(message), exclude)

    def broadcast_frame(self, frame: bytes, exclude: Conn | None = None) -> None:
        # framed once: every client is written the same bytes
        for c in list(self.clients):
            if c is not exclude and not c.pending_adoption:
                c.send_frame(frame)

    # ------------------------------------------------------------------ awareness
    def apply_awareness(self, conn: Conn, payload: bytes) -> None:
        states = P.decode_awareness(payload)
        out = []
        for client, clock, state in states:
            if state and state != "null":
                obj = json.loads(state)
                obj["user"] = conn.identity  # identity comes from the server, not the client
                state = json.dumps(obj, separators=(",", ":"))
                conn.client_ids.add(client)
                prev = self.awareness.get(client)
                if prev is None or prev[0] <= clock:
                    self.awareness[client] = (clock, state)
            else:
                state = "null"
                self.awareness.pop(client, None)
                conn.client_ids.discard(client)
            out.append((client, clock, state))
        if out:
            self.broadcast(create_awareness_message(P.encode_awareness(out)), exclude=conn)

    def awareness_snapshot(self) -> bytes | None:
        if not self.awareness:
            return None
        states = [(c, clock, s) for c, (clock, s) in self.awareness.items()]
        return create_awareness_message(P.encode_awareness(states))

    # ------------------------------------------------------------------ clients
    def add(self, conn: Conn) -> None:
        self.clients.add(conn)
        self._cancel_eviction()

    def remove(self, conn: Conn) -> None:
        self.clients.discard(conn)
        gone = [(c, self.awareness[c][0] + 1, "null") for c in conn.client_ids if c in self.awareness]
        for c, _, _ in gone:
            del self.awareness[c]
        if gone:
            self.broadcast(create_awareness_message(P.encode_awareness(gone)))
        if not self.clients:
            self._schedule_eviction()

    def _schedule_eviction(self) -> None:
        pass

    def _cancel_eviction(self) -> None:
        pass

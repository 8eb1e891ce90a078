"""What the domain's server-sent event streams share (the per-space events, the feed)."""

from __future__ import annotations

from ..revocation import credential_of
from .base import DomainHandler


class EventStreamHandler(DomainHandler):
    """A long-lived ``text/event-stream`` answer, registered with the domain's revocations:
    the caller's access ending (a role, admin rights, a token, a session, the account)
    closes the connection at once; the stream's loop ends at its next write.
    ``stream_space()`` is the space it is about ("" for none: closed by what ends all of
    a user's streams)."""

    keepalive_seconds = 15
    _open = None  # this stream in the revocation registry

    def stream_space(self) -> str:
        return ""

    async def prepare(self):
        await super().prepare()
        if self.current_user is not None:
            self._open = self.domain.revocations.open.add(
                self.stream_space(), self.current_user.id, credential_of(self), None,
                lambda reason: self.request.connection.close(),
            )

    def on_finish(self):
        self._forget_open()

    def on_connection_close(self):
        self._forget_open()

    def _forget_open(self):
        if self._open is not None:
            self.domain.revocations.open.discard(self._open)

    def start_stream(self) -> None:
        self.set_header("Content-Type", "text/event-stream")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")

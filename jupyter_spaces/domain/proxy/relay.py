"""Relaying one space server's response to the client, with bounded memory.

The response head is rewritten (``relayed_header_lines``) and sent as bytes with
the first body bytes; the body is relayed as it arrives, with at most
``RELAY_HIGH_WATER`` bytes waiting for the client before the space server is read
again (no wait per chunk). A body of ``PUMP_MIN_BODY`` bytes or more with a
Content-Length is pumped without copies in Python: socket reads land in a few
rotating buffers that are sent as they are, and the space server's socket wakes
the domain only once ``PUMP_LOWAT`` bytes have arrived (``SO_RCVLOWAT``; a slow
sender is relayed anyway after ``PUMP_LOWAT_WAIT`` seconds). The handler and the
fast path (for large bodies) both relay with it.
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque

from tornado import httputil
from tornado.iostream import StreamClosedError

from . import tornado_compat
from .headers import connection_tokens, encode_head, relayed_header_lines
from .limits import (
    CHUNK_SIZE,
    PUMP_BUFFERS,
    PUMP_LOWAT,
    PUMP_LOWAT_WAIT,
    PUMP_MIN_BODY,
    RELAY_HIGH_WATER,
    RELAY_LOW_WATER,
)

__all__ = ["PUMP_SUPPORTED", "Relay"]

#: Whether large bodies can be pumped here (the pump needs ``SO_RCVLOWAT``).
PUMP_SUPPORTED = hasattr(socket, "SO_RCVLOWAT")


def relax(sock: socket.socket) -> None:
    """Drop a receive watermark (the waiting read then sees what has arrived)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, 1)
    except OSError:
        pass


class Relay(httputil.HTTPMessageDelegate):
    """Relays one upstream response to the client of ``owner``.

    ``owner`` is the request being answered (the handler): it has ``request``
    (the client's ``HTTPServerRequest``) and ``upstream_stream``, and answers
    ``relay_finished()`` (the client's response is over already),
    ``relay_cookies()`` (``Set-Cookie`` values of the domain's own to add),
    ``relay_head(code, reason)`` (the head is being sent) and ``abort_upstream()``.

    The response head is encoded here as bytes and written straight to the
    client's stream together with the first body bytes (one write for a small
    response); tornado's own header machinery is skipped. Body chunks are
    written as they arrive without waiting for each to reach the client: the
    upstream is read again as long as less than ``RELAY_HIGH_WATER`` bytes
    wait to be sent, then the oldest writes are awaited (backpressure without
    a stall per chunk).
    """

    __slots__ = ("complete", "framing", "head", "keep_alive", "outstanding", "owner", "started", "stream",
                 "truncated", "upstream", "writes")

    def __init__(self, owner):
        self.owner = owner
        self.keep_alive = True
        self.started = False
        self.complete = False
        self.head: bytes | None = None
        self.framing = "length"  # "length" (or no body), "chunked" (to an HTTP/1.1 client), "close"
        self.stream = owner.request.connection.stream
        self.writes: deque = deque()  # (future, size) of writes not known to be flushed
        self.outstanding = 0
        self.upstream = owner.upstream_stream
        self.truncated = False

    def headers_received(self, start_line, headers):
        self.started = True
        owner = self.owner
        if owner.relay_finished():
            return None
        request = owner.request
        code = start_line.code
        extra = connection_tokens(headers.get("Connection", ""))
        if "close" in extra:
            self.keep_alive = False
        reason = start_line.reason or httputil.responses.get(code, "Unknown")
        lines = [f"HTTP/1.1 {code} {reason}", *relayed_header_lines(headers.get_all(), extra, request.path)]
        has_length = "Content-Length" in headers and "content-length" not in extra
        lines.extend("Set-Cookie: " + c for c in owner.relay_cookies())  # ours: the domain's _xsrf cookie
        server_conn = request.connection
        http11 = request.version == "HTTP/1.1"
        bodiless = request.method == "HEAD" or code in (204, 304) or code < 200
        if not bodiless and not has_length:
            if http11:
                self.framing = "chunked"
                lines.append("Transfer-Encoding: chunked")
            else:
                # An HTTP/1.0 client: the end of the body is the end of the connection.
                self.framing = "close"
                tornado_compat.close_after_response(server_conn)
        if tornado_compat.closes_after_response(server_conn):
            if http11:
                lines.append("Connection: close")
        elif not http11 and request.headers.get("Connection", "").lower() == "keep-alive":
            lines.append("Connection: Keep-Alive")
        self.head = encode_head("\r\n".join(lines) + "\r\n\r\n")
        owner.relay_head(code, reason)
        if has_length and not bodiless and PUMP_SUPPORTED:
            length = headers.get("Content-Length", "")
            if length.isdigit() and int(length) >= PUMP_MIN_BODY:
                # The body is ours from here: the connection then reads an empty one.
                headers["Content-Length"] = "0"
                return self.pump(int(length))
        return None

    def write(self, data):
        """Write to the client (the head first); this write's future."""
        head = self.head
        if head is not None:
            self.head = None
            data = head + data if data else head
        future = self.stream.write(data)  # raises StreamClosedError if the client is gone
        if not future.done():
            self.writes.append((future, len(data)))
            self.outstanding += len(data)
        return future

    async def _drain(self, limit: int) -> None:
        """Wait until no more than ``limit`` bytes of ours wait to be sent."""
        writes = self.writes
        while writes and (self.outstanding > limit or writes[0][0].done()):
            future, size = writes[0]
            if not future.done():
                await future  # StreamClosedError if the client went away
            writes.popleft()
            self.outstanding -= size

    async def pump(self, remaining: int) -> None:
        """Relay a ``remaining``-byte body: socket reads land in rotating buffers
        that go to the client as they are (no copies in Python); a buffer is
        read into again once the client's stream has sent it."""
        up = self.upstream
        loop = asyncio.get_running_loop()
        sock = up.socket
        buffers = [bytearray(CHUNK_SIZE) for _ in range(PUMP_BUFFERS)]
        sent: list = [None] * PUMP_BUFFERS
        lowat = 1
        relaxed = False
        i = 0
        try:
            while remaining > 0:
                pending = sent[i]
                if pending is not None and not pending.done():
                    try:
                        await pending
                    except StreamClosedError:
                        self.owner.abort_upstream()
                        self.truncated = True
                        return
                want = 1 if relaxed else min(PUMP_LOWAT, remaining)
                if want != lowat:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, want)
                    lowat = want
                view = memoryview(buffers[i])[: min(CHUNK_SIZE, remaining)]
                reading = up.read_into(view, partial=True)
                timer = None
                if not reading.done() and lowat > 1:
                    # A slow sender is relayed as it comes, not held back by the watermark.
                    timer = loop.call_later(PUMP_LOWAT_WAIT, relax, sock)
                try:
                    got = await reading
                except StreamClosedError:
                    self.truncated = True  # the space server went away mid-body
                    return
                finally:
                    # After a wait that ended on the timer, the next read does not wait either.
                    relaxed = timer is not None and timer.when() <= loop.time()
                    if timer is not None:
                        timer.cancel()
                remaining -= got
                try:
                    future = self.write(view[:got])
                except StreamClosedError:
                    self.owner.abort_upstream()
                    self.truncated = True
                    return
                sent[i] = future
                i = (i + 1) % PUMP_BUFFERS
        finally:
            if lowat != 1 and not up.closed():
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, 1)
                except OSError:
                    up.close()

    async def data_received(self, chunk):
        if not chunk or self.owner.relay_finished():
            return
        try:
            if self.framing == "chunked":
                self.write(b"%x\r\n" % len(chunk))
                self.write(chunk)
                self.write(b"\r\n")
            else:
                self.write(chunk)
            if self.outstanding > RELAY_HIGH_WATER:
                await self._drain(RELAY_LOW_WATER)
        except StreamClosedError:
            # The client went away: stop reading from the space server.
            self.owner.abort_upstream()

    def finish(self):
        self.complete = not self.truncated

    def on_connection_close(self):
        self.keep_alive = False

    async def close(self) -> bool:
        """End the response (after a complete body); False if the client went away."""
        try:
            if self.framing == "chunked":
                self.write(b"0\r\n\r\n")
            elif self.head is not None:
                self.write(b"")
            await self._drain(0)
        except StreamClosedError:
            return False
        return True

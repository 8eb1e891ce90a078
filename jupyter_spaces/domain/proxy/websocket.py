"""Websockets through the proxy: the handshake is checked and signed, then only bytes move.

The handler decides as for any request (identity, origin, policy) and sends the
space server the client's upgrade request, signed, with the client's own
``Sec-WebSocket-Key``, subprotocols and extensions: the space server answers the
handshake itself, and its ``101`` goes back to the client. From then on the two
connections are spliced (``Splice``): bytes move between two asyncio transports
as they arrive. Nothing is parsed, unmasked, re-framed or re-masked in Python;
a client's frames reach the space server masked as the client sent them.
Backpressure is the transports' own: a side whose peer cannot keep up is not
read until the peer has drained (``pause_reading``), so a slow reader holds back
its own connection and nobody else's.

The proxy still ends a socket whenever it must (revocation, shutdown), and ends
it properly: it follows the *headers* of the space server's frames (a few integer
operations per frame, ``FrameCursor``), so it always knows where a frame ends, and
can send the client a close frame with a code and reason of its own without
cutting a frame in two. The space server's connection is then simply closed.
"""

from __future__ import annotations

import asyncio
import socket

from tornado import httputil

from .headers import encode_head, relayed_header_lines

__all__ = ["FrameCursor", "Handshake", "Splice", "close_frame", "open_upstream"]

#: The longest response head a space server may send to an upgrade request.
MAX_HEAD = 64 * 1024
#: The longest body of a refused upgrade passed on to the client.
MAX_REFUSAL_BODY = 1024 * 1024
#: Bytes waiting for a slow peer before the other side stops being read.
HIGH_WATER = 1024 * 1024
LOW_WATER = 256 * 1024
#: Seconds a socket being ended waits for the frame under way before it is cut.
FRAME_END_WAIT = 2.0
#: Seconds a closed connection's last bytes may take to be read before it is cut.
CLOSE_WAIT = 30.0


def close_frame(code: int, reason: str) -> bytes:
    """A server-to-client close frame (unmasked) with ``code`` and ``reason``."""
    payload = code.to_bytes(2, "big") + reason.encode()[:123]
    return bytes((0x88, len(payload))) + payload


class FrameCursor:
    """Follows where frames begin in a websocket byte stream, reading headers only."""

    __slots__ = ("head", "left")

    def __init__(self) -> None:
        self.left = 0  # bytes of the current frame still to come
        self.head = b""  # the start of a frame header split across reads

    @property
    def at_boundary(self) -> bool:
        return self.left == 0 and not self.head

    def feed(self, data: bytes) -> None:
        """Account for ``data``, the next bytes of the stream."""
        n = len(data)
        left = self.left
        if n <= left:  # inside one frame's payload: the common case for big messages
            self.left = left - n
            return
        if self.head:  # left is 0 here
            data = self.head + data
            n = len(data)
            self.head = b""
        pos = left
        while pos < n:
            size = _frame_size(data, pos, n)
            if size is None:
                self.head = bytes(data[pos:])
                self.left = 0
                return
            pos += size
        self.left = pos - n

    def through_frame(self, data: bytes) -> int | None:
        """How many bytes of ``data`` end the current frame (0 at a boundary), consuming
        them; ``None`` if the frame goes on past ``data`` (all of it consumed)."""
        if self.at_boundary:
            return 0
        n = len(data)
        if not self.head:
            if self.left <= n:
                end, self.left = self.left, 0
                return end
            self.left -= n
            return None
        joined = self.head + data
        size = _frame_size(joined, 0, len(joined))
        if size is None:
            self.head = joined
            return None
        end = size - len(self.head)
        self.head = b""
        if end <= n:
            return end
        self.left = end - n
        return None


def _frame_size(data, pos: int, n: int) -> int | None:
    """The size (header and payload) of the frame starting at ``pos``; ``None`` if its
    header is not all in ``data[:n]``."""
    if n - pos < 2:
        return None
    b1 = data[pos + 1]
    length = b1 & 0x7F
    header = 2 + (4 if b1 & 0x80 else 0)
    if length == 126:
        header += 2
        if n - pos < header:
            return None
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
    elif length == 127:
        header += 8
        if n - pos < header:
            return None
        length = int.from_bytes(data[pos + 2 : pos + 10], "big")
    elif n - pos < header:
        return None
    return header + length


class Handshake:
    """The space server's answer to an upgrade request."""

    __slots__ = ("body", "code", "headers", "reason")

    def __init__(self, code: int, reason: str, headers: httputil.HTTPHeaders, body: bytes):
        self.code = code
        self.reason = reason
        self.headers = headers
        self.body = body

    def client_head(self) -> bytes:
        """The ``101`` for the client: the space server's headers, less hop-by-hop ones
        and its own ``_xsrf`` cookie, plus the upgrade's own."""
        lines = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade"]
        lines.extend(relayed_header_lines(self.headers.get_all(), ()))
        return encode_head("\r\n".join(lines) + "\r\n\r\n")


class _Side(asyncio.Protocol):
    """One connection of a splice; what it receives is written to ``peer``."""

    def __init__(self, splice: Splice) -> None:
        self.splice = splice
        self.transport: asyncio.Transport | None = None
        self.peer: _Side | None = None
        self.lost = False
        self.lingering = False  # ended: what it still sends is read and dropped (see Splice.end)

    def connection_made(self, transport) -> None:
        self.transport = transport  # asyncio sets TCP_NODELAY on TCP sockets
        transport.set_write_buffer_limits(HIGH_WATER, LOW_WATER)

    def data_received(self, data: bytes) -> None:
        if self.lingering:
            return
        self.splice.note_activity()
        self.peer.transport.write(data)

    def eof_received(self):
        self.splice.end()
        return False

    def connection_lost(self, exc) -> None:
        self.lost = True
        self.splice.end()
        self.splice.side_done()

    # The transport's own flow control: this side's buffer is full, stop reading the peer
    # (but for the end of the frame under way when the socket is being ended).
    def pause_writing(self) -> None:
        peer = self.peer
        if peer is not None and peer.transport is not None and getattr(peer, "ending", None) is None:
            peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None and not self.peer.lost:
            self.peer.transport.resume_reading()


class _Upstream(_Side):
    """The space server's side: reads the handshake's answer, then follows frame headers."""

    def __init__(self, splice: Splice) -> None:
        super().__init__(splice)
        self.buffer = bytearray()
        self.answered: asyncio.Future = asyncio.get_running_loop().create_future()
        self.handshake: Handshake | None = None
        self.early = b""  # frames sent right after the 101, before the client side is spliced
        self.cursor = FrameCursor()
        self.ending: tuple[int, str] | None = None  # a close frame owed to the client

    def data_received(self, data: bytes) -> None:
        if self.peer is not None:
            splice = self.splice
            splice.note_activity()
            if self.ending is None:
                self.cursor.feed(data)
                self.peer.transport.write(data)
            else:
                splice.finish_frame(data)
            return
        if self.handshake is None:
            self._read_handshake(data)
        elif self.handshake.code == 101:
            self.early += data
        else:
            self._read_refusal(data)

    def _read_handshake(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > MAX_HEAD:
                self._fail(ValueError("the space server's answer has an oversized head"))
            return
        try:
            head = self.buffer[:end].decode("latin-1")
            first, _, rest = head.partition("\r\n")
            start = httputil.parse_response_start_line(first)
            headers = httputil.HTTPHeaders.parse(rest)
        except (httputil.HTTPInputError, ValueError) as e:
            return self._fail(e)
        remainder = bytes(self.buffer[end + 4 :])
        self.buffer = bytearray()
        self.handshake = Handshake(start.code, start.reason, headers, b"")
        if start.code == 101:
            self.early = remainder
            self.transport.pause_reading()  # until the client side is spliced in
            self._answer()
        else:
            self._read_refusal(remainder)

    def _read_refusal(self, data: bytes) -> None:
        self.buffer += data
        headers = self.handshake.headers
        length = headers.get("Content-Length", "")
        # A chunked refusal is passed on without its body (space servers send lengths).
        want = int(length) if length.isdigit() else 0 if "Transfer-Encoding" in headers else None
        if want is not None and len(self.buffer) >= min(want, MAX_REFUSAL_BODY):
            self.handshake.body = bytes(self.buffer[: min(want, MAX_REFUSAL_BODY)])
            self._answer()
        elif len(self.buffer) >= MAX_REFUSAL_BODY:
            self.handshake.body = bytes(self.buffer[:MAX_REFUSAL_BODY])
            self._answer()

    def _answer(self) -> None:
        if not self.answered.done():
            self.answered.set_result(self.handshake)

    def _fail(self, error: Exception) -> None:
        if not self.answered.done():
            self.answered.set_exception(error)
        self.transport.close()

    def eof_received(self):
        if not self.answered.done():
            if self.handshake is not None:  # a refusal whose body ends with the connection
                self.handshake.body = bytes(self.buffer[:MAX_REFUSAL_BODY])
                self._answer()
            else:
                self._fail(ConnectionResetError("the space server closed the connection"))
        return super().eof_received()

    def connection_lost(self, exc) -> None:
        if not self.answered.done():
            self._fail(exc or ConnectionResetError("the space server closed the connection"))
        super().connection_lost(exc)


class Splice:
    """One client websocket spliced to a space server's, after the space server's ``101``.

    ``open_upstream`` makes one; ``start`` splices the client in. ``close(code, reason)``
    ends it from the domain's side (a revocation), ``abort()`` at once (the domain's
    shutdown); ``closed`` is done once both connections are (``wait_closed()``),
    whoever ended it; ``on_activity`` is called for every read, either way.
    """

    def __init__(self, on_activity) -> None:
        self.upstream = _Upstream(self)
        self.client = _Side(self)
        self.loop = asyncio.get_running_loop()
        self.closed: asyncio.Future = self.loop.create_future()
        self.ended = False  # end() was called: both connections are closing
        self.note_activity = on_activity

    async def start(self, client_sock: socket.socket, early_from_client: bytes) -> None:
        """Splice the client in: the ``101`` goes to it first, then bytes both ways."""
        loop = asyncio.get_running_loop()
        up = self.upstream
        await loop.connect_accepted_socket(lambda: self.client, sock=client_sock)
        if self.ended:  # the space server went away meanwhile
            self.client.transport.close()
            return
        self.client.peer, up.peer = up, self.client
        self.client.transport.write(up.handshake.client_head())
        if up.early:
            early, up.early = up.early, b""
            up.data_received(early)
        if early_from_client:
            self.client.data_received(early_from_client)
        if not up.lost:
            up.transport.resume_reading()

    def finish_frame(self, data: bytes) -> None:
        """While ending: pass on the rest of the frame under way, then the close frame."""
        end = self.upstream.cursor.through_frame(data)
        if end is None:
            self.client.transport.write(data)
            return
        if end:
            self.client.transport.write(data[:end])
        self._send_close()

    def close(self, code: int = 1001, reason: str = "") -> None:
        """End the socket from the domain's side: the client gets a close frame with
        ``code`` and ``reason`` (after the frame under way, if any); the space server's
        connection is closed."""
        up, client = self.upstream, self.client
        if self.ended or up.ending is not None:
            return
        up.ending = (code, reason)
        if client.transport is None or client.lost:
            self.end(cut=True)
        elif up.cursor.at_boundary or up.lost:
            self._send_close()
        else:
            # The frame under way ends first (read on even if the client is slow: at most
            # that frame is buffered), then the close frame; past a moment, it is cut.
            up.transport.resume_reading()
            self.loop.call_later(FRAME_END_WAIT, self.end, True)

    def _send_close(self) -> None:
        code, reason = self.upstream.ending
        self.client.transport.write(close_frame(code, reason))
        self.end(cut=True)

    def end(self, cut: bool = False) -> None:
        """Close both connections, each after what was written to it is sent (a peer
        that does not read it within ``CLOSE_WAIT`` seconds is cut off). ``cut``: the
        domain ended the socket, and what waits for the space server is dropped.

        The client's side closes gently: our half is shut once its last bytes are sent,
        and what the client still sends is read and dropped until it closes its half.
        Closing a socket with unread bytes would reset the connection, and a client
        could lose the last frames sent to it, the close frame among them."""
        up, client = self.upstream, self.client
        if up.transport is not None and not up.lost:
            if cut:
                up.transport.abort()
            else:
                up.transport.close()
                self.loop.call_later(CLOSE_WAIT, up.transport.abort)
        if client.transport is not None and not client.lost and not client.lingering:
            client.lingering = True
            transport = client.transport
            transport.resume_reading()
            if transport.can_write_eof():
                transport.write_eof()
            else:
                transport.close()
            self.loop.call_later(CLOSE_WAIT, transport.abort)
        self.ended = True
        self.side_done()

    def abort(self) -> None:
        """Cut both connections now (the domain is going away)."""
        for side in (self.upstream, self.client):
            if side.transport is not None and not side.lost:
                side.transport.abort()
        self.ended = True
        self.side_done()

    def side_done(self) -> None:
        """``closed`` once it has ended and neither connection is open any more."""
        if self.ended and not self.closed.done() and all(
            side.transport is None or side.lost for side in (self.upstream, self.client)
        ):
            self.closed.set_result(None)

    async def wait_closed(self) -> None:
        await asyncio.shield(self.closed)


async def open_upstream(netloc: str, head: bytes, on_activity, timeout: float) -> Splice:
    """Send the upgrade request ``head`` to the space server at ``netloc``; a ``Splice``
    whose ``upstream.handshake`` is its answer (a ``101``, or a refusal with its body).
    Raises ``OSError`` or ``asyncio.TimeoutError`` if the server is unreachable or
    does not answer in ``timeout`` seconds."""
    splice = Splice(on_activity)
    host, _, port = netloc.rpartition(":")
    loop = asyncio.get_running_loop()
    up = splice.upstream
    try:
        await asyncio.wait_for(loop.create_connection(lambda: up, host.strip("[]"), int(port)), timeout)
        up.transport.write(head)
        await asyncio.wait_for(asyncio.shield(up.answered), timeout)
    except BaseException as e:
        if up.transport is not None:
            up.transport.close()
        if isinstance(e, ValueError):  # an answer that is not HTTP
            raise OSError(str(e)) from e
        raise
    if up.handshake.code != 101:
        up.transport.close()
    return splice

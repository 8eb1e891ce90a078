"""Kept-alive connections to space servers, per ``host:port``.

Opening a TCP connection per request would cost more than relaying most
responses, so connections are reused: a small idle pool per upstream, each
connection checked before reuse (the space server may have closed it).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import deque

from tornado.iostream import IOStream
from tornado.tcpclient import TCPClient

from . import tornado_compat
from .limits import CHUNK_SIZE, CONNECT_TIMEOUT, POOL_IDLE_SECONDS, POOL_MAX_IDLE, READ_CHUNK

__all__ = ["Pool", "StreamPool", "still_open"]


class Pool:
    """Idle keep-alive connections to space servers, per ``host:port``.

    A subclass says how to open a connection (``_open``), whether one is
    closed (``_closed``) and whether an idle one is still usable (``_usable``);
    connections have ``close()``.
    """

    def __init__(self):
        self._idle: dict[str, deque] = {}

    async def _open(self, host: str, port: int):
        raise NotImplementedError

    def _closed(self, conn) -> bool:
        raise NotImplementedError

    def _usable(self, conn) -> bool:
        return not self._closed(conn)

    def take(self, netloc: str):
        """An idle connection still usable, if there is one."""
        idle = self._idle.get(netloc)
        now = time.monotonic()
        while idle:
            conn, since = idle.pop()
            if now - since < POOL_IDLE_SECONDS and self._usable(conn):
                return conn
            conn.close()
        return None

    async def connect(self, netloc: str):
        host, _, port = netloc.rpartition(":")
        if host.startswith("["):
            host = host[1:-1]
        return await asyncio.wait_for(self._open(host, int(port)), CONNECT_TIMEOUT)

    def release(self, netloc: str, conn) -> None:
        if self._closed(conn):
            return
        idle = self._idle.setdefault(netloc, deque())
        if len(idle) >= POOL_MAX_IDLE:
            idle.popleft()[0].close()
        idle.append((conn, time.monotonic()))

    def forget(self, netloc: str | None = None) -> None:
        for key in [netloc] if netloc else list(self._idle):
            for conn, _ in self._idle.pop(key, ()):
                conn.close()


class StreamPool(Pool):
    """The handler's connections: tornado streams."""

    def __init__(self):
        super().__init__()
        self._tcp = TCPClient()

    async def _open(self, host: str, port: int) -> IOStream:
        stream = await self._tcp.connect(host, port, max_buffer_size=4 * CHUNK_SIZE)
        # Each read allocates read_chunk_size bytes: tornado's 64 KiB default suits
        # heads and small bodies; large ones are pumped into buffers of their own.
        stream.read_chunk_size = READ_CHUNK
        tornado_compat.keep_nodelay(stream)
        return stream

    def _closed(self, stream: IOStream) -> bool:
        return stream.closed()

    def _usable(self, stream: IOStream) -> bool:
        return still_open(stream)


def still_open(stream: IOStream) -> bool:
    """An idle connection the server has not closed (nor sent anything on)."""
    if stream.closed() or tornado_compat.buffered_bytes(stream):
        return False
    try:
        stream.socket.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False  # EOF, or unsolicited bytes: unusable either way

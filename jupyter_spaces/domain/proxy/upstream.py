"""The fast path's connections to space servers: asyncio protocols, kept alive in a pool.

An ``Upstream`` hands every byte it reads to the exchange it currently serves
(``fast._FastRequest``), in the callback that read it; bytes that arrive with no
exchange make the connection unusable, so it is closed.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from .pool import Pool
from .state import Proxy


class Exchange(Protocol):
    """What an ``Upstream`` feeds: one request's response, read as it arrives."""

    def feed(self, data: bytes) -> None: ...

    def upstream_lost(self) -> None: ...


class Upstream(asyncio.Protocol):
    """A kept-alive connection to a space server; feeds the exchange it serves."""

    def __init__(self):
        self.transport: asyncio.Transport | None = None
        self.exchange: Exchange | None = None
        self.closed = False

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data: bytes):
        exchange = self.exchange
        if exchange is None:
            self.close()  # bytes nobody asked for: the connection is unusable
            return
        exchange.feed(data)

    def eof_received(self):
        return False  # close our side too

    def connection_lost(self, exc):
        self.closed = True
        exchange, self.exchange = self.exchange, None
        if exchange is not None:
            exchange.upstream_lost()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.transport.close()


class UpstreamPool(Pool):
    """The fast path's own connections: ``Upstream`` protocols."""

    async def _open(self, host: str, port: int) -> Upstream:
        _, up = await asyncio.get_running_loop().create_connection(Upstream, host, port)
        return up  # asyncio sets TCP_NODELAY on TCP connections

    def _closed(self, up: Upstream) -> bool:
        return up.closed


def fast_pool(proxy: Proxy) -> UpstreamPool:
    """The fast path's connections in ``proxy`` (made on first use)."""
    if proxy.fast_pool is None:
        proxy.fast_pool = UpstreamPool()
    return proxy.fast_pool

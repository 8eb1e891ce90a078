"""A byte relay that does nothing else: the floor of any proxy written in Python.

    python bench/tcp_relay.py LISTEN_PORT TARGET_PORT

Each connection to 127.0.0.1:LISTEN_PORT gets one to 127.0.0.1:TARGET_PORT, and
bytes are copied both ways as they arrive (asyncio protocols, TCP_NODELAY, pausing
the reader while the other side's buffer is full). No HTTP parsing, no identity, no
policy, no signing: ``bench_proxy.py`` puts it beside the domain proxy to show what
one more hop through a Python process costs on this machine by itself.
"""

from __future__ import annotations

import asyncio
import socket
import sys


class _Pipe(asyncio.Protocol):
    """One side of a relayed connection; ``peer`` is the other side's transport."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.peer: asyncio.Transport | None = None
        self.early: list[bytes] = []  # bytes that arrived before the other side connected

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        if self.peer is None:
            self.early.append(data)
        else:
            self.peer.write(data)

    def connection_lost(self, exc) -> None:
        if self.peer is not None:
            self.peer.close()

    # backpressure: our peer's buffer is full -> stop reading from our side
    def pause_writing(self) -> None:
        if self.peer is not None:
            self.peer.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None:
            self.peer.resume_reading()


async def main(listen: int, target: int) -> None:
    loop = asyncio.get_running_loop()

    async def join(client: _Pipe) -> None:
        try:
            transport, upstream = await loop.create_connection(_Pipe, "127.0.0.1", target)
        except OSError:
            client.transport.close()
            return
        upstream.peer, client.peer = client.transport, transport
        for data in client.early:
            transport.write(data)
        client.early.clear()

    def accept() -> _Pipe:
        client = _Pipe()
        loop.call_soon(lambda: asyncio.ensure_future(join(client)))
        return client

    server = await loop.create_server(accept, "127.0.0.1", listen)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))

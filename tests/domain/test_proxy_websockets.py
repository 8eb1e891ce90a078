"""The proxy's websocket splice under load, against a real websocket server process
(the echo server of ``test_proxy.py``) reached through a real in-process domain.

- 50 clients at once, each with 100 messages of mixed sizes in flight: every message
  comes back to its own client, in order, none lost or duplicated;
- a client that stops reading holds back its own connection only: the proxy stops
  reading its upstream (backpressure) while the others' round trips go on;
- that client's access revoked while frames are under way: it gets every frame whole,
  then the proxy's close frame (1008 with the reason), not a cut stream.
"""

from __future__ import annotations

import asyncio
import os
import random

import pytest
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from jupyter_spaces.domain.schemas import SpaceCreate, TokenCreate
from jupyter_spaces.domain.service import SYSTEM
from tests.domain.test_proxy import BASE, echo_server, set_running  # noqa: F401 (a fixture)

SPACE = "echo"
CLIENTS = 50
MESSAGES = 100


@pytest.fixture
def jp_base_url():
    return BASE


@pytest.fixture
def echoing(world, service, domain, echo_server):  # noqa: F811
    """The world of tests/domain/conftest.py with a shared space ``echo`` running on the echo server."""
    service.create_space(SYSTEM, SpaceCreate(name=SPACE, sharing="shared", app_type="jupyterlab"), owner="alice")
    set_running(service, SPACE, echo_server["url"], echo_server["secret"])
    yield world
    domain.proxy.shutdown()


def connect(port: int, token: str):
    url = f"ws://127.0.0.1:{port}{BASE}spaces/{SPACE}/ws"
    return websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {token}"}),
                             max_message_size=64 * 1024 * 1024)


def messages(seed: int, n: int) -> list:
    """Mixed text and binary messages, 1 byte to 200 KiB (every frame-length encoding)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        size = rng.choice((1, 100, 125, 126, 4000, 65535, 65536, 200_000))
        out.append(os.urandom(size) if i % 2 else f"{seed}:{i}:" + "x" * size)
    return out


async def round_trip(ws, sent: list) -> list:
    for m in sent:
        ws.write_message(m, binary=isinstance(m, bytes))
    return [await asyncio.wait_for(ws.read_message(), 60) for _ in sent]


async def test_fifty_clients_get_every_message_in_order(client, echoing, http_server_port):
    port = http_server_port[-1]
    sockets = await asyncio.gather(*(connect(port, client.tokens["editor"]) for _ in range(CLIENTS)))
    try:
        sent = [messages(i, MESSAGES) for i in range(CLIENTS)]
        got = await asyncio.gather(*(round_trip(ws, s) for ws, s in zip(sockets, sent)))
        for i, (g, s) in enumerate(zip(got, sent)):
            assert g == s, f"client {i}: messages lost, duplicated or out of order"
    finally:
        for ws in sockets:
            ws.close()


def _paused_splices(domain) -> list:
    return [s for s in domain.proxy.sockets if not s.ended and not s.upstream.transport.is_reading()]


async def test_a_slow_reader_holds_back_itself_only_and_still_closes_whole(client, echoing, domain,
                                                                          http_server_port):
    port = http_server_port[-1]
    second = domain.service.create_token(SYSTEM, "eddie", TokenCreate(note="slow reader"))
    slow = await connect(port, second["token"])
    others = await asyncio.gather(*(connect(port, client.tokens["owner"]) for _ in range(5)))
    try:
        # The slow reader sends 24 MiB to be echoed and reads none of it: its connection
        # backs up until the proxy stops reading its upstream.
        blob = [bytes([i]) * (1024 * 1024) for i in range(24)]
        for b in blob:
            slow.write_message(b, binary=True)
        for _ in range(200):
            if _paused_splices(domain):
                break
            await asyncio.sleep(0.05)
        assert _paused_splices(domain), "the proxy never applied backpressure to the slow reader"
        # Meanwhile everybody else's round trips go on.
        for round_ in range(3):
            sent = [messages(100 + round_ * 10 + i, 20) for i in range(len(others))]
            got = await asyncio.gather(*(round_trip(ws, s) for ws, s in zip(others, sent)))
            assert got == sent
        # The slow reader's token is revoked while its frames are under way: it reads
        # whole frames, in order, then the proxy's close frame.
        r = await client.request("DELETE", f"spaces/api/users/eddie/tokens/{second['id']}", who="editor")
        assert r.status == 204, r.text
        got = []
        while (m := await asyncio.wait_for(slow.read_message(), 30)) is not None:
            got.append(m)
        assert slow.close_code == 1008, (slow.close_code, slow.close_reason)
        assert slow.close_reason
        assert got == blob[: len(got)], "a frame was cut or reordered"
        # the others still work
        sent = [messages(999, 5) for _ in others]
        assert await asyncio.gather(*(round_trip(ws, s) for ws, s in zip(others, sent))) == sent
    finally:
        slow.close()
        for ws in others:
            ws.close()

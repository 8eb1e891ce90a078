"""The proxy's websocket splice follows frame boundaries from headers alone
(``FrameCursor``): checked here against frames tornado itself writes, cut at random
points and byte by byte, so a close frame of the proxy's own never lands inside a frame."""

import asyncio
import base64
import os
import random

from tornado import web, websocket
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from jupyter_spaces.domain.proxy.websocket import FrameCursor, close_frame


class _Sender(websocket.WebSocketHandler):
    def open(self):
        for p in self.application.settings["payloads"]:
            self.write_message(p, binary=isinstance(p, bytes))


async def tornado_frames(payloads) -> tuple[bytes, list[int]]:
    """The bytes a real tornado websocket server sends for ``payloads``, read off the
    wire by a raw socket, and the offset where each frame ends (from the payloads'
    sizes and RFC 6455's header sizes, not from the code under test)."""
    app = web.Application([("/ws", _Sender)], payloads=payloads)
    server = HTTPServer(app)
    sock, port = bind_unused_port()
    server.add_sockets([sock])
    key = base64.b64encode(os.urandom(16)).decode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write((f"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    await reader.readuntil(b"\r\n\r\n")
    ends, total = [], 0
    for p in payloads:
        n = len(p if isinstance(p, bytes) else p.encode())
        total += 2 + (0 if n < 126 else 2 if n < 65536 else 8) + n
        ends.append(total)
    data = await reader.readexactly(total)
    writer.close()
    server.stop()
    return data, ends


def sizes() -> list:
    # every length encoding: 7-bit, 16-bit and 64-bit, at their edges
    return [b"", "x", os.urandom(125), os.urandom(126), os.urandom(127), os.urandom(65535),
            os.urandom(65536), os.urandom(70000), "✓" * 40]


async def test_boundaries_hold_however_the_stream_is_cut():
    data, ends = await tornado_frames(sizes())
    rng = random.Random(7)
    for _ in range(300):
        cuts = sorted(rng.sample(range(1, len(data)), rng.randint(1, 40)))
        cursor = FrameCursor()
        prev = 0
        for cut in [*cuts, len(data)]:
            cursor.feed(data[prev:cut])
            assert cursor.at_boundary == (cut in ends), cut
            prev = cut


async def test_byte_by_byte_over_headers():
    data, ends = await tornado_frames(sizes())
    cursor = FrameCursor()
    for i in range(len(data)):
        cursor.feed(data[i : i + 1])
        assert cursor.at_boundary == (i + 1 in ends)


async def test_through_frame_finds_where_the_frame_under_way_ends():
    data, ends = await tornado_frames(sizes())
    rng = random.Random(3)
    for _ in range(300):
        stop = rng.randrange(1, len(data))  # the proxy starts ending here
        cursor = FrameCursor()
        cursor.feed(data[:stop])
        pos = stop
        while True:
            step = rng.randint(1, 70000)
            end = cursor.through_frame(data[pos : pos + step])
            if end is not None:
                assert pos + end == min(e for e in ends if e >= stop)
                break
            pos += step
            assert pos < len(data)


def test_close_frame_is_a_valid_close_with_code_and_reason():
    frame = close_frame(1008, "access ended")
    assert frame[0] == 0x88 and frame[1] == len(frame) - 2
    assert int.from_bytes(frame[2:4], "big") == 1008 and frame[4:] == b"access ended"
    assert len(close_frame(1001, "é" * 200)) <= 2 + 125  # a control frame's payload limit
    cursor = FrameCursor()
    cursor.feed(frame)
    assert cursor.at_boundary

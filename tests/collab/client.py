"""A small y-websocket client speaking jupyter-collaboration's protocol, on pycrdt.

It behaves like JupyterLab's provider (SyncStep1 on connect, SyncStep2 replies, updates
on every local transaction, the same ``sessionId`` on reconnect) and is used by the
tests and the benchmark, against this service and against jupyter-collaboration. It is
not part of the package: aiohttp is a test dependency only.
Its websocket is aiohttp's (its frame parser is in C): a browser decodes frames in
native code, and the benchmark's 50 clients share one Python process, so the client's
own cost per message must stay small next to the server's (tornado's client: ~4x).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import quote

import aiohttp
from jupyter_ydoc import ydocs
from pycrdt import (
    Awareness,
    Decoder,
    Doc,
    YMessageType,
    YSyncMessageType,
    create_awareness_message,
    create_sync_message,
    create_update_message,
    handle_sync_message,
    read_message,
    write_message,
    write_var_uint,
)
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from yarl import URL

RAW = 2  # jupyter-collaboration's message type: a string (JSON from the server)


class CollabClient:
    def __init__(
        self,
        base_url: str,
        path: str,
        *,
        type: str = "notebook",
        format: str = "json",
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.path = path
        self.type = type
        self.format = format
        self.headers = dict(headers or {})
        if token:
            self.headers["Authorization"] = f"token {token}"
        self.doc = Doc()
        self.model = ydocs[type](self.doc)
        self.session: dict[str, Any] = {}
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._sending: set[asyncio.Task] = set()
        self.synced = asyncio.Event()
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.raw: list[dict[str, Any]] = []
        self.awareness: dict[int, dict[str, Any]] = {}
        self._step2_count = 0
        self._step2_event = asyncio.Event()
        self._reader: asyncio.Task | None = None
        self.sent_updates = 0
        self.received_updates = 0
        self.on_update: Any = None  # callback(update_bytes) for remote updates
        self._sub = self.doc.observe(self._on_local)
        self._local_awareness = Awareness(self.doc)

    # ------------------------------------------------------------------ connection
    async def request_session(self) -> dict[str, Any]:
        url = self.base_url + "api/collaboration/session/" + quote(self.path, safe="")
        req = HTTPRequest(
            url,
            method="PUT",
            body=json.dumps({"format": self.format, "type": self.type}),
            headers=self.headers,
            request_timeout=120,
        )
        resp = await AsyncHTTPClient().fetch(req)
        self.session = json.loads(resp.body)
        return self.session

    async def connect(self, *, new_session: bool = True, room: str | None = None) -> None:
        if new_session or not self.session:
            await self.request_session()
        ws_base = "ws" + self.base_url[4:] if self.base_url.startswith("http") else self.base_url
        s = self.session
        room = room or f"{s['format']}:{s['type']}:{s['fileId']}"
        url = f"{ws_base}api/collaboration/room/{room}?sessionId={s['sessionId']}"
        self.synced.clear()
        self.closed.clear()
        self.close_code = self.close_reason = None
        http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, connect=120))
        try:
            # encoded=True: the URL is sent as built (yarl would unquote %40 and the like)
            self.ws = await http.ws_connect(URL(url, encoded=True), headers=self.headers, max_msg_size=0)
        except BaseException:
            await http.close()
            raise
        self._reader = asyncio.ensure_future(self._read(self.ws, http))  # closes http when the socket ends
        self.send(create_sync_message(self.doc))

    async def wait_synced(self, timeout: float = 30) -> None:
        await asyncio.wait_for(self.synced.wait(), timeout)

    async def open(self, timeout: float = 30) -> CollabClient:
        await self.connect()
        await self.wait_synced(timeout)
        return self

    def send(self, message: bytes | str) -> None:
        """Send in order (each send's frame is written when its task first runs)."""
        if self.ws is not None and not self.ws.closed and not self.closed.is_set():
            send = self.ws.send_str if isinstance(message, str) else self.ws.send_bytes
            task = asyncio.ensure_future(send(message))
            self._sending.add(task)
            task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task) -> None:
        self._sending.discard(task)
        if not task.cancelled():
            task.exception()  # a send racing a close is not an error here

    async def _read(self, ws: aiohttp.ClientWebSocketResponse, http: aiohttp.ClientSession) -> None:
        reason = None
        try:
            while True:
                msg = await ws.receive()
                if msg.type == aiohttp.WSMsgType.BINARY:
                    self._handle(msg.data)
                elif msg.type != aiohttp.WSMsgType.TEXT:
                    if msg.type == aiohttp.WSMsgType.CLOSE:
                        reason = msg.extra
                    break
        finally:
            await http.close()
            if ws is self.ws:
                self.close_code, self.close_reason = ws.close_code, reason
                self.closed.set()

    def _handle(self, msg: bytes) -> None:
        mtype = msg[0]
        if mtype == YMessageType.SYNC:
            sub = msg[1]
            if sub == YSyncMessageType.SYNC_STEP1:
                self.send(handle_sync_message(msg[1:], self.doc))
                return
            payload = read_message(msg[2:])
            if payload != b"\x00\x00":
                self._apply_remote(payload)
                self.received_updates += 1
                if self.on_update is not None:
                    self.on_update(payload)
            if sub == YSyncMessageType.SYNC_STEP2:
                self._step2_count += 1
                self._step2_event.set()
                self.synced.set()
        elif mtype == YMessageType.AWARENESS:
            d = Decoder(read_message(msg[1:]))
            for _ in range(d.read_var_uint()):
                client, _clock, state = d.read_var_uint(), d.read_var_uint(), d.read_message().decode()
                if state and state != "null":
                    self.awareness[client] = json.loads(state)
                else:
                    self.awareness.pop(client, None)
        elif mtype == RAW:
            self.raw.append(json.loads(read_message(msg[1:])))

    def _apply_remote(self, update: bytes) -> None:
        # Unobserved while applied: a remote update is not sent back, and with an
        # observer pycrdt encodes every transaction's update (80 ms for 20 MB).
        self.doc.unobserve(self._sub)
        try:
            self.doc.apply_update(update)
        finally:
            self._sub = self.doc.observe(self._on_local)

    def _on_local(self, event: Any) -> None:
        update = event.update
        if update != b"\x00\x00" and self.ws is not None and not self.closed.is_set():
            self.sent_updates += 1
            self.send(create_update_message(update))

    # ------------------------------------------------------------------ helpers
    async def ack(self, timeout: float = 30) -> None:
        """Return once the server has answered a SyncStep1 sent after every update so far:
        the server handles a connection's messages in order and journals each update
        before handling the next, so all of them are durable then."""
        target = self._step2_count + 1
        self.send(create_sync_message(self.doc))
        deadline = time.monotonic() + timeout
        while self._step2_count < target:
            self._step2_event.clear()
            if self.closed.is_set():
                raise ConnectionError(f"closed {self.close_code} {self.close_reason}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no acknowledgement")
            try:
                await asyncio.wait_for(self._step2_event.wait(), min(remaining, 0.5))
            except asyncio.TimeoutError:
                pass

    async def save(self, request_id: int = 1, timeout: float = 30) -> dict[str, Any]:
        self.send(bytes((RAW,)) + write_message(b"save") + write_var_uint(request_id))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for r in self.raw:
                if r.get("type") == "save" and r.get("responseTo") == request_id:
                    return r
            await asyncio.sleep(0.02)
        raise TimeoutError("no save reply")

    def set_awareness(self, state: dict[str, Any]) -> None:
        self._local_awareness.set_local_state(state)
        update = self._local_awareness.encode_awareness_update([self.doc.client_id])
        self.send(create_awareness_message(update))

    async def disconnect(self) -> None:
        ws, self.ws = self.ws, None
        if ws is not None:
            try:
                await asyncio.wait_for(ws.close(), 5)
            except (asyncio.TimeoutError, aiohttp.ClientError, OSError):
                pass
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, 5)
            except (asyncio.TimeoutError, Exception):
                self._reader.cancel()
        self.closed.set()

    async def wait_closed(self, timeout: float = 10) -> tuple[int | None, str | None]:
        await asyncio.wait_for(self.closed.wait(), timeout)
        return self.close_code, self.close_reason

    def content(self) -> Any:
        return self.model.get()


async def wait_until(predicate: Any, timeout: float = 20, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(interval)

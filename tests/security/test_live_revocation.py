"""Finding 5 of issue 12: access taken away ends the connections opened with it, at once.

A real domain (pytest-jupyter) with its lifecycle on and a real sandboxed space server
per test (the local launcher). Users act with API tokens, through the domain proxy,
as a script or the R addin does: kernel websockets, collaboration rooms, events
streams. After a role change, a removal, a user or token deleted, an admin demoted,
or a stop, what that access opened is closed within a second (waited for as events,
not slept on), and what comes next is checked anew.
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from jupyter_spaces import signing
from jupyter_spaces.domain.schemas import MemberPut, SpaceCreate, TokenCreate, UserCreate
from jupyter_spaces.domain.service import SYSTEM
from tests.collab.client import CollabClient, wait_until
from tests.domain.conftest import domain, lifecycle  # noqa: F401 (fixtures)
from tests.domainconfig import domain_server_config

pytestmark = pytest.mark.slow

SPACE = "team"
WITHIN = 1.0  # seconds: the promise
USERS = {"alice": True, "eddie": False, "vera": False}  # name: admin
NOTEBOOK = {"type": "notebook", "content": {
    "nbformat": 4, "nbformat_minor": 5, "metadata": {},
    "cells": [{"cell_type": "code", "id": "c1", "source": "", "metadata": {}, "outputs": [], "execution_count": None}],
}}


@pytest.fixture
def jp_server_config(tmp_path, installed_python):
    """The domain (in-process); its spaces run the project installed in a venv (tests/conftest.py)."""
    return domain_server_config(tmp_path / "domain", python=installed_python, domain={
        # Someone removed from a shared space falls back to this: read-only.
        "default_role": "viewer",
        "poll_interval": 0.5,
        "idle_check_interval": 3600,
    })


class Domain:
    """The test's view of the domain: users' tokens, API calls, websockets through the proxy."""

    def __init__(self, service, port: int, base_url: str):
        self.service = service
        self.http = f"http://127.0.0.1:{port}{base_url}"
        self.ws = f"ws://127.0.0.1:{port}{base_url}"
        self.tokens = {name: service.create_user(SYSTEM, UserCreate(name=name, admin=admin))["token"]
                       for name, admin in USERS.items()}

    def auth(self, who: str) -> dict:
        return {"Authorization": f"token {self.tokens[who]}"}

    async def call(self, method: str, path: str, who: str, body=None):
        raw = json.dumps(body).encode() if body is not None else (b"" if method in ("POST", "PUT", "PATCH") else None)
        return await AsyncHTTPClient().fetch(
            self.http + path, method=method, headers=self.auth(who), body=raw, raise_error=False,
            allow_nonstandard_methods=True, request_timeout=120,
        )

    async def kernel_socket(self, who: str, kernel: str, token: str | None = None):
        token = token or self.tokens[who]
        request = HTTPRequest(f"{self.ws}spaces/{SPACE}/api/kernels/{kernel}/channels",
                              headers={"Authorization": f"token {token}"}, request_timeout=60)
        return await websocket_connect(request)

    async def collab(self, who: str) -> CollabClient:
        return await CollabClient(f"{self.http}spaces/{SPACE}/", "shared.ipynb", token=self.tokens[who]).open()


@pytest.fixture
def world(domain, lifecycle, http_server_client, jp_http_port, jp_base_url, jp_asyncio_loop):
    """Alice's running shared space ``team`` with a notebook and a kernel; eddie edits, vera views
    (``http_server_client``: the domain listens)."""
    return jp_asyncio_loop.run_until_complete(start_world(domain, jp_http_port, jp_base_url))


async def start_world(domain, jp_http_port, jp_base_url) -> Domain:
    service = domain.service
    d = Domain(service, jp_http_port, jp_base_url)
    service.create_space(SYSTEM, SpaceCreate(name=SPACE, sharing="shared", app_type="jupyterlab", volume_gb=1),
                         owner="alice")
    service.put_member(SYSTEM, SPACE, "eddie", MemberPut(role="editor"))
    service.put_member(SYSTEM, SPACE, "vera", MemberPut(role="viewer"))
    r = await d.call("POST", f"spaces/api/spaces/{SPACE}/start", "alice")
    assert r.code == 202, r.body
    deadline = time.monotonic() + 120
    while (space := json.loads((await d.call("GET", f"spaces/api/spaces/{SPACE}", "alice")).body))["status"] != "running":
        assert space["status"] == "starting" and time.monotonic() < deadline, space
        await asyncio.sleep(0.2)
    r = await d.call("PUT", f"spaces/{SPACE}/api/contents/shared.ipynb", "alice", NOTEBOOK)
    assert r.code == 201, r.body
    r = await d.call("POST", f"spaces/{SPACE}/api/kernels", "alice", {"name": "python3"})
    assert r.code == 201, r.body
    d.kernel = json.loads(r.body)["id"]
    return d


async def closed_within(ws, seconds: float = WITHIN) -> int:
    """Wait (reading) until the tornado websocket ``ws`` is closed; its close code."""
    async def drain():
        while await ws.read_message() is not None:
            pass

    await asyncio.wait_for(drain(), seconds)
    return ws.close_code


async def still_open(ws) -> bool:
    """A kernel websocket still relays: a kernel_info request is answered."""
    ws.write_message(json.dumps({
        "header": {"msg_id": "probe", "msg_type": "kernel_info_request", "session": "s", "username": "",
                   "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "content": {}, "channel": "shell",
    }))
    while True:
        raw = await asyncio.wait_for(ws.read_message(), 30)
        if raw is None:
            return False
        if json.loads(raw).get("parent_header", {}).get("msg_id") == "probe":
            return True


async def refused(d: Domain, who: str) -> int:
    """The status a new kernel websocket of ``who`` gets (it must not open)."""
    with pytest.raises(HTTPClientError) as e:
        await d.kernel_socket(who, d.kernel)
    return e.value.code


async def test_editor_lowered_to_viewer_loses_kernel_and_room_and_is_read_only_after(world):
    d = world
    kernel = await d.kernel_socket("eddie", d.kernel)
    owner_kernel = await d.kernel_socket("alice", d.kernel)
    room = await d.collab("eddie")
    owner_room = await d.collab("alice")
    try:
        started = time.monotonic()
        r = await d.call("PUT", f"spaces/api/spaces/{SPACE}/members/eddie", "alice", {"role": "viewer"})
        assert r.code == 200, r.body
        assert await closed_within(kernel, WITHIN - (time.monotonic() - started)) == 1008
        code, _ = await room.wait_closed(WITHIN - (time.monotonic() - started))
        assert code == 1008
        # Nobody else's connections end.
        assert await still_open(owner_kernel)
        assert not owner_room.closed.is_set()
        # What comes next is a viewer's: no kernel, a room whose updates are refused.
        assert await refused(d, "eddie") == 403
        room = await d.collab("eddie")
        with room.doc.transaction():
            room.model.ycells[0]["source"] += "eddie = 1\n"
        await wait_until(lambda: any(m.get("type") == "refused" for m in room.raw), timeout=10)
        await owner_room.ack()
        assert "eddie" not in owner_room.model.ycells[0]["source"].to_py()
    finally:
        for ws in (kernel, owner_kernel):
            ws.close()
        for c in (room, owner_room):
            await c.disconnect()


async def test_member_removed_loses_everything_and_falls_back_to_the_default_role(world):
    d = world
    kernel = await d.kernel_socket("eddie", d.kernel)
    room = await d.collab("eddie")
    r = await d.call("POST", f"spaces/{SPACE}/api/terminals", "eddie", {})
    assert r.code == 200, r.body
    terminal = await websocket_connect(HTTPRequest(
        f"{d.ws}spaces/{SPACE}/terminals/websocket/{json.loads(r.body)['name']}", headers=d.auth("eddie")))
    try:
        started = time.monotonic()
        r = await d.call("DELETE", f"spaces/api/spaces/{SPACE}/members/eddie", "alice")
        assert r.code == 204, r.body
        assert await closed_within(kernel, WITHIN - (time.monotonic() - started)) == 1008
        assert await closed_within(terminal, WITHIN - (time.monotonic() - started)) == 1008
        code, _ = await room.wait_closed(WITHIN - (time.monotonic() - started))
        assert code == 1008
        # The domain's default role here is viewer: no kernel, no writes.
        assert await refused(d, "eddie") == 403
        r = await d.call("PUT", f"spaces/{SPACE}/api/contents/eddie.txt", "eddie",
                         {"type": "file", "format": "text", "content": "x"})
        assert r.code == 403
    finally:
        kernel.close()
        terminal.close()
        await room.disconnect()


async def events_stream(d: Domain, who: str, space: str, opened: asyncio.Event) -> str:
    """Read ``space``'s events stream as ``who`` until it ends; how it ended."""
    async with httpx.AsyncClient(timeout=None) as http:
        async with http.stream("GET", f"{d.http}spaces/api/spaces/{space}/events", headers=d.auth(who)) as r:
            assert r.status_code == 200
            try:
                async for line in r.aiter_lines():
                    if line.startswith("data: "):
                        opened.set()
            except httpx.HTTPError as e:
                return type(e).__name__
    return "ended"


async def test_user_deleted_loses_websockets_and_events_streams(world):
    d = world
    kernel = await d.kernel_socket("eddie", d.kernel)
    room = await d.collab("eddie")
    opened = asyncio.Event()
    events = asyncio.ensure_future(events_stream(d, "eddie", SPACE, opened))
    try:
        await asyncio.wait_for(opened.wait(), 30)
        started = time.monotonic()
        r = await d.call("DELETE", "spaces/api/users/eddie", "alice")
        assert r.code == 204, r.body
        assert await closed_within(kernel, WITHIN - (time.monotonic() - started)) == 1008
        code, _ = await room.wait_closed(WITHIN - (time.monotonic() - started))
        assert code == 1008
        await asyncio.wait_for(asyncio.shield(events), WITHIN - (time.monotonic() - started))
        r = await d.call("GET", f"spaces/{SPACE}/api/contents", "eddie")
        assert r.code == 403
    finally:
        events.cancel()
        kernel.close()
        await room.disconnect()


async def test_revoked_token_ends_its_connections_only(world, domain):
    d = world
    second = domain.service.create_token(SYSTEM, "eddie", TokenCreate(note="second"))
    kept = await d.kernel_socket("eddie", d.kernel)
    revoked = await d.kernel_socket("eddie", d.kernel, token=second["token"])
    try:
        started = time.monotonic()
        r = await d.call("DELETE", f"spaces/api/users/eddie/tokens/{second['id']}", "eddie")
        assert r.code == 204, r.body
        assert await closed_within(revoked, WITHIN - (time.monotonic() - started)) == 1008
        assert await still_open(kept)
        with pytest.raises(HTTPClientError) as e:
            await d.kernel_socket("eddie", d.kernel, token=second["token"])
        assert e.value.code == 403
        # A stop ends every relay into the space at once, before its server is gone.
        started = time.monotonic()
        r = await d.call("POST", f"spaces/api/spaces/{SPACE}/stop", "alice")
        assert r.code == 202, r.body
        await closed_within(kept, WITHIN - (time.monotonic() - started))
    finally:
        revoked.close()
        kept.close()


async def test_demoted_admin_loses_events_streams_of_private_spaces(world, domain):
    d = world
    domain.service.create_space(SYSTEM, SpaceCreate(name="eddies", sharing="private", app_type="jupyterlab"),
                                owner="eddie")
    opened = asyncio.Event()
    events = asyncio.ensure_future(events_stream(d, "alice", "eddies", opened))
    try:
        await asyncio.wait_for(opened.wait(), 30)
        r = await d.call("PATCH", "spaces/api/users/vera", "alice", {"admin": True})
        assert r.code == 200, r.body
        started = time.monotonic()
        r = await d.call("PATCH", "spaces/api/users/alice", "vera", {"admin": False})
        assert r.code == 200, r.body
        await asyncio.wait_for(asyncio.shield(events), WITHIN - (time.monotonic() - started))
        r = await d.call("GET", "spaces/api/spaces/eddies/events", "alice")
        assert r.code == 404
    finally:
        events.cancel()


async def test_the_space_itself_closes_the_users_websockets_on_the_domains_notice(world, domain):
    """Not only the domain's relays: the space agent closes the user's own websockets
    (here one opened straight to the space server, signed as the proxy signs), and
    only the domain can send that notice."""
    d = world
    row = next(r for r in domain.service.active_spaces() if r["name"] == SPACE)
    path = f"{domain.lifecycle.base_url}spaces/{SPACE}/api/kernels/{d.kernel}/channels"
    identity = {"name": "eddie", "display_name": "eddie", "initials": "E", "color": "#123456", "role": "editor"}
    direct = await websocket_connect(HTTPRequest(
        "ws" + row["server_url"].rstrip("/")[4:] + path,
        headers=signing.sign_request(row["secret"], SPACE, "GET", path, identity),
    ))
    try:
        # A user's own "notice" (signed by the proxy as theirs) is refused.
        r = await d.call("POST", f"spaces/{SPACE}/api/spaces-agent/revoke", "alice", {"user": "eddie", "role": None})
        assert r.code == 403
        assert await still_open(direct)
        started = time.monotonic()
        r = await d.call("PUT", f"spaces/api/spaces/{SPACE}/members/eddie", "alice", {"role": "viewer"})
        assert r.code == 200, r.body
        assert await closed_within(direct, WITHIN - (time.monotonic() - started)) == 1008
    finally:
        direct.close()

"""Run code in a space's kernel: through the domain proxy as a browser would
(``run_code``), or straight at a launched space server with the domain's signature
(``run_code_signed``, for launcher tests that have no domain in front)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect


async def execute(ws, code: str, who: str, timeout: float) -> dict:
    """Send ``code`` on an open kernel channels socket and follow its reply until the
    kernel is idle again: stdout, result, error (name and traceback), states seen."""
    msg_id = uuid.uuid4().hex
    header = {"msg_id": msg_id, "msg_type": "execute_request", "username": who,
              "session": uuid.uuid4().hex, "version": "5.3", "date": ""}  # fmt: skip
    content = {"code": code, "silent": False, "store_history": False, "user_expressions": {},
               "allow_stdin": False}  # fmt: skip
    await ws.write_message(json.dumps(
        {"header": header, "parent_header": {}, "metadata": {}, "channel": "shell", "content": content}
    ))  # fmt: skip
    out = {"stdout": "", "result": None, "error": None, "traceback": "", "states": []}
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            raw = await asyncio.wait_for(ws.read_message(), max(0.1, deadline - time.monotonic()))
            if raw is None:
                break
            m = json.loads(raw)
            if m["msg_type"] == "status":
                out["states"].append(m["content"]["execution_state"])
            if m.get("parent_header", {}).get("msg_id") != msg_id:
                if m["msg_type"] == "status" and m["content"]["execution_state"] in ("restarting", "dead"):
                    break
                continue
            if m["msg_type"] == "stream" and m["content"]["name"] == "stdout":
                out["stdout"] += m["content"]["text"]
            elif m["msg_type"] == "execute_result":
                out["result"] = m["content"]["data"]["text/plain"]
            elif m["msg_type"] == "error":
                out["error"] = m["content"]["ename"]
                out["traceback"] = "\n".join(m["content"]["traceback"])
            elif m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                break
    except asyncio.TimeoutError:
        out["states"].append("timeout")
    return out


async def run_code(client, port: int, space: str, who: str, code: str, timeout: float = 120,
                   kernel: str = "python3") -> dict:
    """Start a ``kernel`` (by kernelspec name) in ``space`` as ``who``, run ``code``; return
    what ``execute`` saw and the kernel's id."""
    r = await client.request("POST", f"spaces/{space}/api/kernels", who=who, body={"name": kernel})
    assert r.status == 201, r.text
    kid = r.json()["id"]
    url = f"ws://127.0.0.1:{port}{client.base_url}spaces/{space}/api/kernels/{kid}/channels?token={client.tokens[who]}"
    ws = await websocket_connect(url)
    try:
        return {**await execute(ws, code, who, timeout), "kernel": kid}
    finally:
        ws.close()


async def run_code_signed(url: str, space: str, secret: str, code: str, timeout: float = 120) -> str:
    """Start a kernel in the space server at ``url`` with requests signed as the domain
    signs them for an owner, run ``code``; return its stdout (an error fails the test)."""
    from jupyter_spaces.signing import sign_request

    who = {"name": "alice", "display_name": "Alice", "initials": "A", "color": "#ff0000", "role": "owner"}

    def signed(method: str, path: str) -> dict:
        return sign_request(secret, space, method, path, who)

    base = f"/spaces/{space}/api/kernels"
    async with httpx.AsyncClient(trust_env=False, timeout=30) as c:
        r = await c.post(url + base, headers=signed("POST", base), json={"name": "python3"})
        assert r.status_code == 201, r.text
        kid = r.json()["id"]
    path = f"{base}/{kid}/channels"
    ws = await websocket_connect(HTTPRequest(url.replace("http", "ws", 1) + path, headers=signed("GET", path)))
    try:
        out = await execute(ws, code, "alice", timeout)
    finally:
        ws.close()
    assert out["error"] is None, out["traceback"]
    assert "timeout" not in out["states"], out
    return out["stdout"]

"""Run code in a space's kernel through the domain proxy, as a browser would."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

from tornado.websocket import websocket_connect


async def run_code(client, port: int, space: str, who: str, code: str, timeout: float = 120,
                   kernel: str = "python3") -> dict:
    """Start a ``kernel`` (by kernelspec name) in ``space`` as ``who``, run ``code``; return
    stdout, result, error, state."""
    r = await client.request("POST", f"spaces/{space}/api/kernels", who=who, body={"name": kernel})
    assert r.status == 201, r.text
    kid = r.json()["id"]
    url = f"ws://127.0.0.1:{port}{client.base_url}spaces/{space}/api/kernels/{kid}/channels?token={client.tokens[who]}"
    out = {"stdout": "", "result": None, "error": None, "states": [], "kernel": kid}
    ws = await websocket_connect(url)
    try:
        msg_id = uuid.uuid4().hex
        header = {"msg_id": msg_id, "msg_type": "execute_request", "username": who,
                  "session": uuid.uuid4().hex, "version": "5.3", "date": ""}
        content = {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                   "allow_stdin": False}
        await ws.write_message(json.dumps(
            {"header": header, "parent_header": {}, "metadata": {}, "channel": "shell", "content": content}
        ))
        deadline = time.monotonic() + timeout
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
            elif m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                break
    except asyncio.TimeoutError:
        out["states"].append("timeout")
    finally:
        ws.close()
    return out

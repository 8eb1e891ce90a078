"""Compatibility with a client that is not ours: JupyterLab's document models
(``@jupyter/ydoc``) on y-websocket's ``WebsocketProvider`` (what ``@jupyter/docprovider``
runs in the browser) under Node, against the collaboration service, next to our own test
client. Sync, updates both ways and to the file, awareness both ways, a reconnect after
edits on both sides while apart, and a notebook edited cell by cell.

The Node side is ``tests/collab/yclient/yclient.mjs`` (its modules: ``npm ci`` in that
directory, see scripts/install-test-deps.sh); it prints JSON lines, one per event.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Text

from tests.collab.client import CollabClient, wait_until
from tests.collab.conftest import headers
from tests.collab.nbutil import cell_ids, make_notebook, read_notebook, sources, write_notebook

YCLIENT = Path(__file__).parent / "yclient"


class NodeClient:
    """The y-websocket client process: commands in, events out."""

    def __init__(self, base_url: str, path: str, user: str = "bob", role: str = "editor", type: str = "file") -> None:
        self.config = {"baseUrl": base_url, "path": path, "type": type, "headers": headers(user, role)}
        self.proc: asyncio.subprocess.Process | None = None
        self.events: list[dict[str, Any]] = []
        #: the file's text, or the notebook's cells as [{id, cell_type, source}]
        self.content: Any = None
        self.awareness: dict[str, Any] = {}
        self.status = ""
        self._reader: asyncio.Task | None = None

    async def start(self) -> NodeClient:
        node = shutil.which("node")
        assert node, "node is not installed (scripts/install-test-deps.sh)"
        assert (YCLIENT / "node_modules" / "y-websocket").is_dir(), (
            f"y-websocket is not installed: npm ci in {YCLIENT} (scripts/install-test-deps.sh)"
        )
        self.proc = await asyncio.create_subprocess_exec(
            node, str(YCLIENT / "yclient.mjs"), json.dumps(self.config),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=str(YCLIENT),
        )  # fmt: skip
        self._reader = asyncio.ensure_future(self._read())
        await self.wait(lambda: self.status == "connected" and self.synced, "connected and synced")
        return self

    @property
    def synced(self) -> bool:
        syncs = [e["synced"] for e in self.events if e["event"] == "sync"]
        return bool(syncs) and syncs[-1]

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        async for line in self.proc.stdout:
            event = json.loads(line)
            self.events.append(event)
            kind = event["event"]
            if kind == "content":
                self.content = event["content"]
            elif kind == "awareness":
                self.awareness = event["states"]
            elif kind == "status":
                self.status = event["status"]

    async def send(self, **command: Any) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        done = len([e for e in self.events if e["event"] == "done"])
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        await self.proc.stdin.drain()
        await self.wait(lambda: len([e for e in self.events if e["event"] == "done"]) > done, f"{command} done")

    async def wait(self, predicate: Any, what: str, timeout: float = 20) -> None:
        try:
            await wait_until(lambda: predicate() or self._failed(), timeout)
        except TimeoutError:
            raise AssertionError(f"node client: no {what}; events: {self.events[-10:]}") from None
        assert not self._failed(), f"node client failed: {self.events[-5:]}"

    def _failed(self) -> bool:
        return any(e["event"] == "error" for e in self.events) or (
            self.proc is not None and self.proc.returncode not in (None, 0)
        )

    async def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.returncode is None:
            try:
                await self.send(op="quit")
                await asyncio.wait_for(self.proc.wait(), 10)
            except (AssertionError, asyncio.TimeoutError, ConnectionError):
                self.proc.kill()
                await self.proc.wait()
        if self._reader is not None:
            await self._reader


@pytest.fixture
def node_clients():
    """Starts node clients; any a test did not stop is killed after it."""
    started: list[NodeClient] = []

    async def start(*args: Any, **kw: Any) -> NodeClient:
        c = NodeClient(*args, **kw)
        started.append(c)
        return await c.start()

    yield start
    for c in started:
        if c.proc is not None and c.proc.returncode is None:
            try:
                os.kill(c.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def ours(base_url: str, path: str, user: str = "alice") -> CollabClient:
    return CollabClient(base_url, path, type="file", format="text", headers=headers(user))


async def test_initial_sync_and_updates_both_ways(jp_root_dir, base_url, node_clients):
    (jp_root_dir / "a.txt").write_text("héllo\n")
    node = await node_clients(base_url, "a.txt")
    assert node.content == "héllo\n"  # the document's content, from the server's SyncStep2
    mine = await ours(base_url, "a.txt").open()
    assert mine.content() == "héllo\n"

    await node.send(op="insert", index="end", text="from node ✓\n")
    await wait_until(lambda: mine.content() == "héllo\nfrom node ✓\n")
    await wait_until(lambda: (jp_root_dir / "a.txt").read_text() == "héllo\nfrom node ✓\n")

    mine.model._ysource += "from python\n"
    await node.wait(lambda: node.content == "héllo\nfrom node ✓\nfrom python\n", "our edit")
    await wait_until(lambda: (jp_root_dir / "a.txt").read_text() == node.content)
    await node.stop()
    await mine.disconnect()


async def test_awareness_both_ways(jp_root_dir, base_url, node_clients):
    (jp_root_dir / "a.txt").write_text("x\n")
    mine = await ours(base_url, "a.txt").open()
    node = await node_clients(base_url, "a.txt", user="bob")
    # a state the client claims an identity in: the server's identity wins
    await node.send(op="awareness", state={"cursor": 5, "user": {"username": "mallory"}})
    await wait_until(lambda: any(s.get("cursor") == 5 for s in mine.awareness.values()))
    seen = next(s for s in mine.awareness.values() if s.get("cursor") == 5)
    assert seen["user"]["username"] == "bob"

    mine.set_awareness({"cursor": 9})
    await node.wait(lambda: any(s.get("cursor") == 9 for s in node.awareness.values()), "our awareness")
    state = next(s for s in node.awareness.values() if s.get("cursor") == 9)
    assert state["user"]["username"] == "alice"

    await node.stop()  # y-websocket says goodbye: its state is removed for the others
    await wait_until(lambda: not any(s.get("cursor") == 5 for s in mine.awareness.values()))
    await mine.disconnect()


async def test_reconnect_after_edits_on_both_sides(jp_root_dir, base_url, node_clients):
    (jp_root_dir / "a.txt").write_text("start\n")
    mine = await ours(base_url, "a.txt").open()
    node = await node_clients(base_url, "a.txt")
    await node.send(op="disconnect")
    await node.wait(lambda: node.status == "disconnected", "disconnect")

    mine.model._ysource += "python while apart\n"
    await mine.ack()
    await node.send(op="insert", index=0, text="node offline\n")
    assert node.content == "node offline\nstart\n"

    await node.send(op="connect")
    both = "node offline\nstart\npython while apart\n"
    await node.wait(lambda: node.status == "connected" and node.content == both, "convergence")
    await wait_until(lambda: mine.content() == both)
    await wait_until(lambda: (jp_root_dir / "a.txt").read_text() == both)
    # no second copy of anything after the resync
    assert mine.content().count("start") == 1
    await node.stop()
    await mine.disconnect()


async def test_notebook_through_jupyterlabs_model(jp_root_dir, base_url, node_clients):
    """A notebook as JupyterLab's YNotebook holds it: the cells and their ids arrive; a
    cell edited and a cell added there reach our client and the file; ours reach it."""
    nb = make_notebook(2)
    write_notebook(jp_root_dir / "nb.ipynb", nb)
    node = await node_clients(base_url, "nb.ipynb", type="notebook")
    assert [(c["id"], c["source"]) for c in node.content] == [(c["id"], c["source"]) for c in nb["cells"]]
    mine = await CollabClient(base_url, "nb.ipynb", headers=headers("alice")).open()

    await node.send(op="append", cell=0, text="# from node\n")
    await node.send(op="insert_cell", index=2, source="print('added in node')")
    want = ["x = 0\n# from node\n", "x = 1\n", "print('added in node')"]
    await wait_until(lambda: sources(mine.content()) == want)
    await wait_until(lambda: sources(read_notebook(jp_root_dir / "nb.ipynb")) == want)
    assert cell_ids(mine.content())[:2] == cell_ids(nb)

    text: Text = mine.model._ycells[1]["source"]
    text += "y = 2\n"
    want[1] = "x = 1\ny = 2\n"
    await node.wait(lambda: [c["source"] for c in node.content] == want, "our edit of a cell")
    assert [c["id"] for c in node.content] == cell_ids(mine.content())
    await node.stop()
    await mine.disconnect()

"""Nothing lost, nothing duplicated: eviction, restarts with and without the journal,
and kill -9 while clients type -- with real server subprocesses and websockets.

"Acknowledged" (see ``CollabClient.ack``): a client's update is acknowledged once the
server has answered a SyncStep1 the client sent after it. The server handles each
connection's messages in order and appends every accepted update to the journal before
it handles the next message (and before broadcasting it), so an acknowledged update is
in the journal when the client learns of it.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil

import pytest
from jupyter_spaces.collab import get_service
from pycrdt import Text

from tests.collab.client import CollabClient, wait_until
from tests.collab.conftest import headers
from tests.collab.nbutil import assert_no_duplicates, make_notebook, read_notebook, sources, write_notebook

pytestmark = pytest.mark.slow


def tokens_in(text: str) -> list[str]:
    return re.findall(r"<c\d+-\d+>", text)


def all_text(nb: dict) -> str:
    return "".join(sources(nb))


def check_no_doubles(nb: dict) -> None:
    assert_no_duplicates(nb)
    toks = tokens_in(all_text(nb))
    assert len(toks) == len(set(toks)), "doubled text"


async def type_tokens(c: CollabClient, idx: int, cell: int, start: int, n: int, acked: list[str] | None = None, ack_every: int = 5) -> None:
    pending: list[str] = []
    for k in range(start, start + n):
        tok = f"<c{idx}-{k}>"
        text: Text = c.model._ycells[cell]["source"]
        text += tok
        pending.append(tok)
        if (k + 1) % ack_every == 0:
            await c.ack()
            if acked is not None:
                acked.extend(pending)
            pending.clear()
        await asyncio.sleep(0.005)


def client(url: str, user: str = "alice") -> CollabClient:
    return CollabClient(url, "nb.ipynb", headers=headers(user))


async def test_reconnect_after_eviction(jp_root_dir, base_url, jp_serverapp):
    write_notebook(jp_root_dir / "nb.ipynb", make_notebook(2, source=""))
    service = get_service(jp_serverapp)
    a = await client(base_url).open()
    await type_tokens(a, 0, 0, 0, 5)
    await a.disconnect()
    await wait_until(lambda: not service.rooms, timeout=30)  # saved and freed
    assert tokens_in(all_text(read_notebook(jp_root_dir / "nb.ipynb"))) == [f"<c0-{k}>" for k in range(5)]
    # offline edit, then the same provider reconnects (same sessionId, like y-websocket)
    text: Text = a.model._ycells[1]["source"]
    text += "<c0-99>"
    await a.connect(new_session=False)
    await a.wait_synced()
    b = await client(base_url, "bob").open()
    await a.ack()
    await wait_until(lambda: b.content() == a.content())
    check_no_doubles(b.content())
    assert tokens_in(all_text(b.content())) == [f"<c0-{k}>" for k in range(5)] + ["<c0-99>"]
    await a.disconnect()
    await b.disconnect()


async def _restart_scenario(server_factory, lose_journal: bool, kill: bool) -> None:
    srv = server_factory(save_delay=30.0 if kill else 0.2, room_idle_timeout=600)
    write_notebook(srv.root / "nb.ipynb", make_notebook(3, source=""))
    srv.start()
    clients = [await client(srv.url, u).open() for u in ("alice", "bob")]
    acked: list[str] = []
    await asyncio.gather(*(type_tokens(c, i, i, 0, 20, acked) for i, c in enumerate(clients)))
    if kill:
        srv.kill9()
    else:
        srv.stop()
    for c in clients:
        await c.disconnect()
    if lose_journal:
        shutil.rmtree(srv.store / "journals")
    # both keep typing while the server is down
    for i, c in enumerate(clients):
        text: Text = c.model._ycells[i]["source"]
        text += f"<c{i}-500>"
    srv.start()
    for c in clients:  # y-websocket reconnects with the old sessionId
        await c.connect(new_session=False)
    for c in clients:
        await c.wait_synced()
    for c in clients:
        await c.ack()
    await wait_until(lambda: clients[0].content() == clients[1].content(), timeout=30)
    final = clients[0].content()
    check_no_doubles(final)
    toks = set(tokens_in(all_text(final)))
    assert set(acked) <= toks, "an acknowledged update was lost"
    assert {"<c0-500>", "<c1-500>"} <= toks, "an offline edit was lost"
    assert len(toks) == 42
    # a newcomer sees the same document, and it reaches the file
    newcomer = await client(srv.url, "carol").open()
    assert newcomer.content() == final
    reply = await newcomer.save(1)
    assert reply["status"] == "success"
    on_disk = read_notebook(srv.root / "nb.ipynb")
    check_no_doubles(on_disk)
    assert set(tokens_in(all_text(on_disk))) == toks
    for c in [*clients, newcomer]:
        await c.disconnect()


async def test_restart_with_journal(server_factory):
    await _restart_scenario(server_factory, lose_journal=False, kill=False)


async def test_restart_with_lost_journal(server_factory):
    await _restart_scenario(server_factory, lose_journal=True, kill=False)


async def test_kill9_with_lost_journal_keeps_clients_edits(server_factory):
    await _restart_scenario(server_factory, lose_journal=True, kill=True)


async def test_kill9_every_acknowledged_update_reaches_the_file(server_factory):
    """Several clients type; kill -9; restart: the server alone (no client reconnects)
    writes every acknowledged update to the file, from its journal."""
    srv = server_factory(save_delay=30.0, room_idle_timeout=600)
    write_notebook(srv.root / "nb.ipynb", make_notebook(4, source=""))
    srv.start()
    clients = [await client(srv.url, u).open() for u in ("alice", "bob", "carol", "dave")]
    acked: list[str] = []
    seen_by_others: list[str] = []
    clients[3].on_update = lambda u: None

    async def typists() -> None:
        await asyncio.gather(
            *(type_tokens(c, i, i, 0, 400, acked, ack_every=3) for i, c in enumerate(clients[:3])),
            return_exceptions=True,
        )

    task = asyncio.ensure_future(typists())
    await wait_until(lambda: len(acked) >= 60, timeout=60)
    # what an observer has received was broadcast, hence journaled first
    seen_by_others.extend(tokens_in(all_text(clients[3].content())))
    srv.kill9()
    await asyncio.wait_for(task, 30)
    for c in clients:
        await c.disconnect()
    before_restart = set(acked) | set(seen_by_others)
    assert before_restart
    srv.start()
    # recovery at start writes the journal's unsaved updates to the file
    await wait_until(
        lambda: before_restart <= set(tokens_in(all_text(read_notebook(srv.root / "nb.ipynb")))),
        timeout=60,
        interval=0.2,
    )
    on_disk = read_notebook(srv.root / "nb.ipynb")
    check_no_doubles(on_disk)


async def test_kill9_right_after_open_then_file_changed_keeps_both(server_factory):
    """The base digest of a freshly loaded document is computed after the opening client
    is served, but journaled before the first client update: a kill -9 right after an
    edit, then a change of the file on disk, still merges both (the edit is kept)."""
    srv = server_factory(save_delay=30.0, room_idle_timeout=600, base_delay=600.0)
    write_notebook(srv.root / "nb.ipynb", make_notebook(3, source="cell {i}\n"))
    srv.start()
    c = await client(srv.url).open()
    ids = [cell["id"] for cell in c.content()["cells"]]
    text: Text = c.model._ycells[0]["source"]
    text += "<c0-1>"
    await c.ack()
    srv.kill9()
    await c.disconnect()
    nb = read_notebook(srv.root / "nb.ipynb")
    assert "<c0-1>" not in all_text(nb)  # not saved before the kill
    nb["cells"][2]["source"] = "changed on disk\n"
    write_notebook(srv.root / "nb.ipynb", nb)
    srv.start()
    # recovery merges the file's change into the journal's document, then saves both
    await wait_until(lambda: "<c0-1>" in all_text(read_notebook(srv.root / "nb.ipynb")), timeout=60, interval=0.2)
    on_disk = read_notebook(srv.root / "nb.ipynb")
    assert sources(on_disk) == ["cell 0\n<c0-1>", "cell 1\n", "changed on disk\n"]
    assert [cell["id"] for cell in on_disk["cells"]] == ids


async def test_journal_without_base_and_unchanged_file_gets_its_base(server_factory):
    """Stopped before the load's base was recorded (no edits): at the next start the
    unchanged file gives the base, and a later change on disk is merged minimally."""
    # No poll of the file before the kill: a poll settles the base first (a busy
    # machine may take longer than a poll interval to open the document).
    srv = server_factory(save_delay=0.2, room_idle_timeout=600, base_delay=600.0, file_poll_interval=600.0)
    write_notebook(srv.root / "nb.ipynb", make_notebook(3, source="cell {i}\n"))
    srv.start()
    c = await client(srv.url).open()
    srv.kill9()  # long before the base is computed
    await c.disconnect()
    assert "base" not in _journal_meta(srv)
    srv.collab["file_poll_interval"] = 0.5
    srv.start()
    c = await client(srv.url).open()
    await wait_until(lambda: "base" in _journal_meta(srv), timeout=30)
    text: Text = c.model._ycells[0]["source"]
    text += "<c0-1>"
    await c.ack()
    nb = read_notebook(srv.root / "nb.ipynb")
    nb["cells"][2]["source"] = "changed on disk\n"
    write_notebook(srv.root / "nb.ipynb", nb)
    await wait_until(lambda: sources(c.content())[2] == "changed on disk\n", timeout=30)
    assert sources(c.content())[0] == "cell 0\n<c0-1>"  # the live edit is kept
    await c.disconnect()


def _journal_meta(srv) -> dict:
    """The journal's metadata, read without opening it as a Journal (which may truncate
    a record the server is writing)."""
    from jupyter_spaces.collab.journal import _HEAD, MAGIC

    (path,) = (srv.store / "journals").glob("*.journal")
    data = path.read_bytes()
    meta: dict = {}
    pos = len(MAGIC)
    while pos + _HEAD.size <= len(data):
        kind, length, _crc = _HEAD.unpack_from(data, pos)
        payload = data[pos + _HEAD.size : pos + _HEAD.size + length]
        if len(payload) < length:
            break
        if kind == b"M":
            meta.update(json.loads(payload))
        pos += _HEAD.size + length
    return meta

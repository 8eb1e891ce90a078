"""Out-of-band file changes, malformed/oversize messages, journal compaction."""

from __future__ import annotations

import asyncio
import json
import os

import pytest

from jupyter_spaces.collab import get_service
from jupyter_spaces.collab import protocol as P
from jupyter_spaces.collab.journal import Journal
from pycrdt import Assoc, Doc, Text, create_awareness_message, create_update_message

from tests.collab.client import CollabClient, wait_until
from tests.collab.conftest import headers
from tests.collab.nbutil import make_notebook, read_notebook, sources, write_notebook


def client(url: str, path: str = "nb.ipynb", user: str = "alice", **kw) -> CollabClient:
    return CollabClient(url, path, headers=headers(user), **kw)


async def test_out_of_band_change_is_merged_minimally(jp_root_dir, base_url):
    nb = make_notebook(4)
    nb["cells"][0]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "out0\n"}]
    nb["cells"][0]["execution_count"] = 1
    path = jp_root_dir / "nb.ipynb"
    write_notebook(path, nb)
    a = await client(base_url).open()
    ids = [c["id"] for c in nb["cells"]]
    # a collaborator's cursor inside cell 2, after "x = "
    t2: Text = a.model._ycells[2]["source"]
    cursor = t2.sticky_index(4, Assoc.AFTER)
    cell0_text = a.model._ycells[0]["source"]
    # another program rewrites the file: edit cell 2, insert a cell after 0, delete cell 3
    disk = read_notebook(path)
    disk["cells"][2]["source"] = "x = 2  # changed on disk\nprint(x)\n"
    disk["cells"].insert(1, {"cell_type": "markdown", "id": "newcell1", "metadata": {}, "source": "# new"})
    del disk["cells"][4]
    await asyncio.sleep(0.05)
    updates: list[bytes] = []
    a.on_update = updates.append
    path.write_text(json.dumps(disk, indent=1))
    await wait_until(lambda: [c["id"] for c in a.content()["cells"]] == [ids[0], "newcell1", ids[1], ids[2]], timeout=20)
    got = a.content()
    assert sources(got) == ["x = 0\n", "# new", "x = 1\n", "x = 2  # changed on disk\nprint(x)\n"]
    assert got["cells"][0]["outputs"][0]["text"] == "out0\n"  # untouched cells keep outputs
    # same Y objects (identity kept), cursor still after "x = " in the edited cell
    assert a.model._ycells[0]["source"] is cell0_text or str(a.model._ycells[0]["source"]) == "x = 0\n"
    assert cursor.get_index() == 4
    # minimal: the merge travels as small updates, not a re-sent notebook
    assert sum(len(u) for u in updates) < 600
    await a.disconnect()


async def test_touch_changes_nothing(jp_root_dir, base_url, jp_serverapp):
    path = jp_root_dir / "nb.ipynb"
    write_notebook(path, make_notebook(3))
    a = await client(base_url).open()
    before_bytes = path.read_bytes()
    received = a.received_updates
    service = get_service(jp_serverapp)
    room = next(iter(service.rooms.values()))
    seq = room.update_seq
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns + 5_000_000_000, st.st_mtime_ns + 5_000_000_000))
    await wait_until(lambda: room.file_sig and room.file_sig[0] == os.stat(path).st_mtime_ns, timeout=10)
    await asyncio.sleep(0.5)
    assert a.received_updates == received
    assert room.update_seq == seq
    assert path.read_bytes() == before_bytes
    await a.disconnect()


async def test_unsaved_edit_survives_out_of_band_change_of_another_cell(jp_root_dir, base_url):
    path = jp_root_dir / "nb.ipynb"
    write_notebook(path, make_notebook(2))
    a = await client(base_url).open()
    disk = read_notebook(path)
    t0: Text = a.model._ycells[0]["source"]
    t0 += "# live edit\n"
    disk["cells"][1]["source"] = "changed = True\n"
    path.write_text(json.dumps(disk))
    await wait_until(lambda: sources(a.content()) == ["x = 0\n# live edit\n", "changed = True\n"], timeout=20)
    await wait_until(lambda: sources(read_notebook(path)) == ["x = 0\n# live edit\n", "changed = True\n"], timeout=20)
    await a.disconnect()


async def _bad(base_url: str, message: object) -> tuple[int | None, str | None]:
    bad = await client(base_url, user="bob").open()
    bad.send(message)
    return await bad.wait_closed()


async def test_malformed_and_oversize_close_only_that_connection(jp_root_dir, base_url, jp_serverapp):
    write_notebook(jp_root_dir / "nb.ipynb", make_notebook(1, source=""))
    good = await client(base_url).open()
    other = await client(base_url, user="carol").open()
    limit = get_service(jp_serverapp).max_message_size
    cases = [
        (b"\x00\x02\x09abc", P.CLOSE_MALFORMED),  # truncated
        (b"\x07\x00", P.CLOSE_MALFORMED),  # unknown message type
        (create_update_message(b"\x05\x01\xff\xffgarbage"), P.CLOSE_MALFORMED),  # not a y update
        (create_awareness_message(P.encode_awareness([(1, 1, "{not json")])), P.CLOSE_MALFORMED),
        ("text frame", P.CLOSE_UNSUPPORTED),
        (create_update_message(b"\x00" * (limit + 10)), P.CLOSE_TOO_BIG),
    ]
    for message, code in cases:
        got_code, reason = await _bad(base_url, message)
        assert got_code == code, (message[:20], got_code, reason)
        assert reason
        # the room and the other clients carry on
        t: Text = good.model._ycells[0]["source"]
        t += "k"
        await good.ack()
        await wait_until(lambda: other.content() == good.content())
    assert sources(other.content()) == ["k" * len(cases)]
    await good.disconnect()
    await other.disconnect()


@pytest.mark.slow
async def test_journal_stays_bounded_after_100k_edits(jp_root_dir, base_url, jp_serverapp):
    write_notebook(jp_root_dir / "nb.ipynb", make_notebook(1, source=""))
    a = await client(base_url).open()
    service = get_service(jp_serverapp)
    room = next(iter(service.rooms.values()))
    t: Text = a.model._ycells[0]["source"]
    n = 100_000
    max_journal = 0
    for i in range(n):
        # type and delete: the document stays small while the history grows
        if i % 2 == 0:
            t.insert(len(t), "ab"[i % 4 // 2])
        elif len(t) > 50:
            del t[len(t) - 1 :]
        else:
            t.insert(0, "c")
        if i % 2000 == 0:
            await a.ack()
            max_journal = max(max_journal, room.journal.size)
    await a.ack()
    max_journal = max(max_journal, room.journal.size)
    snapshot = len(room.doc.get_update())
    bound = max(service.compact_min_bytes, service.compact_ratio * snapshot) + 64 * 1024
    assert max_journal <= bound, (max_journal, snapshot)
    # replaying the compacted journal gives the same document
    j = Journal(room.journal.path)
    state = j.load()
    j.close()
    d = Doc()
    d.apply_update(state.snapshot)
    for u in state.updates:
        d.apply_update(u)
    assert d.get_state() == room.doc.get_state()
    assert str(d.get("cells", type=__import__("pycrdt").Array)[0]["source"]) == str(t)
    await a.disconnect()


async def test_saves_wait_for_a_pause_but_not_forever(jp_root_dir, base_url, jp_serverapp):
    """While someone keeps typing, the file is written every ``save_max_delay``, not
    after every short pause (nor never); once typing stops, ``save_delay`` later."""
    path = jp_root_dir / "nb.ipynb"
    write_notebook(path, make_notebook(1, source=""))
    service = get_service(jp_serverapp)
    service.save_delay, service.save_max_delay = 0.3, 1.0
    a = await client(base_url).open()
    t: Text = a.model._ycells[0]["source"]
    saves, last = 0, os.stat(path).st_mtime_ns
    loop = asyncio.get_running_loop()
    end = loop.time() + 2.6
    while loop.time() < end:  # a key every 50 ms: never quiet for save_delay
        t += "a"
        await asyncio.sleep(0.05)
        if os.stat(path).st_mtime_ns != last:
            saves, last = saves + 1, os.stat(path).st_mtime_ns
    # every 1.0 s: 2 (one more or less for a slow machine); after each pause it would be ~8
    assert 1 <= saves <= 3, saves
    typed = str(t)
    await wait_until(lambda: sources(read_notebook(path)) == [typed], timeout=5)
    await a.disconnect()


def test_snapshot_read_back_checks_a_file_it_does_not_know(tmp_path):
    """A snapshot this journal wrote (or checked on load) is read back without its CRC;
    the same journal replaced by another file with a damaged snapshot is refused."""
    path = str(tmp_path / "doc.journal")
    snapshot = os.urandom(4096)
    j = Journal(path)
    j.create(snapshot, {"lineage": "x"})
    j.append(b"an update")
    assert j.read_snapshot() == snapshot
    offset = j.snapshot_offset
    j.close()
    reopened = Journal(path)
    assert reopened.load().snapshot == snapshot  # every record's CRC checked here
    assert reopened.read_snapshot() == snapshot
    # another file in its place (a restore, a copy): one damaged byte in the snapshot
    with open(path, "rb") as f:
        data = bytearray(f.read())
    data[offset + 10] ^= 0xFF
    with open(path + ".new", "wb") as f:
        f.write(data)
    os.replace(path + ".new", path)
    with pytest.raises(OSError, match="does not read back"):
        reopened.read_snapshot()
    reopened.close()

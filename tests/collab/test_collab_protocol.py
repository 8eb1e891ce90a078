"""Protocol, convergence, roles and presence on an in-process server."""

from __future__ import annotations

import asyncio

import pytest
from jupyter_spaces.collab import get_service
from pycrdt import Text

from tests.collab.client import CollabClient, wait_until
from tests.collab.conftest import headers
from tests.collab.nbutil import assert_no_duplicates, make_notebook, read_notebook, sources, write_notebook


def client(base_url: str, path: str = "nb.ipynb", user: str = "alice", role: str = "editor", **kw) -> CollabClient:
    return CollabClient(base_url, path, headers=headers(user, role), **kw)


async def test_session_and_sync(jp_root_dir, base_url):
    nb = make_notebook(3)
    write_notebook(jp_root_dir / "nb.ipynb", nb)
    c = await client(base_url).open()
    assert set(c.session) == {"format", "type", "fileId", "sessionId"}
    assert c.session["format"] == "json" and c.session["type"] == "notebook"
    got = c.content()
    assert sources(got) == sources(nb)
    assert [x["id"] for x in got["cells"]] == [x["id"] for x in nb["cells"]]
    # a second PUT for the same path gives the same fileId and session
    c2 = await client(base_url, user="bob").open()
    assert c2.session == c.session
    await c.disconnect()
    await c2.disconnect()


async def test_session_missing_file_is_404(base_url):
    from tornado.httpclient import HTTPClientError

    with pytest.raises(HTTPClientError) as e:
        await client(base_url, "nope.ipynb").request_session()
    assert e.value.code == 404


async def test_concurrent_edits_converge(jp_root_dir, base_url):
    write_notebook(jp_root_dir / "nb.ipynb", make_notebook(2, source=""))
    clients = [await client(base_url, user=u).open() for u in ("alice", "bob", "carol")]

    async def type_into(c: CollabClient, cell: int, word: str) -> None:
        for ch in word:
            text: Text = c.model._ycells[cell]["source"]
            text += ch
            await asyncio.sleep(0)

    await asyncio.gather(
        type_into(clients[0], 0, "hello"), type_into(clients[1], 0, "world"), type_into(clients[2], 1, "abc")
    )
    for c in clients:
        await c.ack()
    await wait_until(lambda: all(c.content() == clients[0].content() for c in clients))
    final = clients[0].content()
    assert_no_duplicates(final)
    src0 = sources(final)[0]
    assert sorted(src0) == sorted("helloworld") and sources(final)[1] == "abc"
    # the file gets it after the debounce
    await wait_until(lambda: sources(read_notebook(jp_root_dir / "nb.ipynb")) == sources(final))
    for c in clients:
        await c.disconnect()


async def test_text_file(jp_root_dir, base_url):
    (jp_root_dir / "a.txt").write_text("héllo\n")
    c = await client(base_url, "a.txt", type="file", format="text").open()
    assert c.content() == "héllo\n"
    c.model._ysource.insert(len("héllo".encode()), " wörld")
    await c.ack()
    reply = await c.save(7)
    assert reply == {"type": "save", "responseTo": 7, "status": "success"}
    assert (jp_root_dir / "a.txt").read_text() == "héllo wörld\n"
    await c.disconnect()


async def test_viewer_updates_refused(jp_root_dir, base_url):
    write_notebook(jp_root_dir / "nb.ipynb", make_notebook(1, source="orig"))
    editor = await client(base_url).open()
    viewer = await client(base_url, user="bob", role="viewer").open()
    assert sources(viewer.content()) == ["orig"]
    text: Text = viewer.model._ycells[0]["source"]
    text += " hacked"
    await viewer.ack()
    await wait_until(lambda: any(r.get("type") == "refused" for r in viewer.raw))
    refused = [r for r in viewer.raw if r["type"] == "refused"][0]
    assert refused["reason"] == "read_only"
    # the editor never sees it, the server doc and the file are untouched
    etext: Text = editor.model._ycells[0]["source"]
    etext += "!"
    await editor.ack()
    await wait_until(lambda: "!" in sources(viewer.content())[0])
    assert sources(editor.content()) == ["orig!"]
    service = get_service(jp_serverapp_of(base_url))
    room = next(iter(service.rooms.values()))
    assert sources(room.model.get()) == ["orig!"]
    assert (await viewer.save(3))["status"] == "failed"
    # viewers still share awareness
    viewer.set_awareness({"cursor": 1})
    await wait_until(lambda: any(s.get("cursor") == 1 for s in editor.awareness.values()))
    await editor.disconnect()
    await viewer.disconnect()


_APPS: dict[str, object] = {}


def jp_serverapp_of(base_url: str):
    return _APPS[base_url]


@pytest.fixture(autouse=True)
def _register_app(request):
    if "base_url" in request.fixturenames:
        app = request.getfixturevalue("jp_serverapp")
        _APPS[request.getfixturevalue("base_url")] = app
    yield
    _APPS.clear()


async def test_awareness_identity_and_presence(jp_root_dir, base_url, jp_serverapp):
    write_notebook(jp_root_dir / "nb.ipynb", make_notebook(1))
    service = get_service(jp_serverapp)
    seen = []
    unsubscribe = service.presence.subscribe(seen.append)
    a = await client(base_url, user="alice").open()
    b = await client(base_url, user="bob", role="viewer").open()
    # a client claiming to be someone else is corrected by the server
    a.set_awareness({"user": {"username": "mallory", "display_name": "Mallory"}, "cursor": 3})
    await wait_until(lambda: any(s.get("cursor") == 3 for s in b.awareness.values()))
    state = next(s for s in b.awareness.values() if s.get("cursor") == 3)
    assert state["user"]["username"] == "alice"
    assert state["user"]["display_name"] == "Alice Test" and state["user"]["initials"] == "AT"
    assert state["user"]["color"] == "#e6194b"
    snap = service.presence.snapshot()
    assert [(u["username"], u["documents"], u["role"]) for u in snap] == [
        ("alice", ["nb.ipynb"], "editor"),
        ("bob", ["nb.ipynb"], "viewer"),
    ]
    assert seen, "listeners are told about changes"
    await a.disconnect()
    await wait_until(lambda: [u["username"] for u in service.presence.snapshot()] == ["bob"])
    # alice's awareness state is removed for the others
    await wait_until(lambda: not any(s.get("cursor") == 3 for s in b.awareness.values()))
    await b.disconnect()
    unsubscribe()


async def test_global_awareness_room(jp_root_dir, base_url):
    write_notebook(jp_root_dir / "nb.ipynb", make_notebook(1))
    a = CollabClient(base_url, "nb.ipynb", headers=headers("alice"))
    b = CollabClient(base_url, "nb.ipynb", headers=headers("bob"))
    for c in (a, b):
        await c.request_session()
        await c.connect(new_session=False, room="JupyterLab:globalAwareness")
        await c.wait_synced()
    a.set_awareness({"documents": ["nb.ipynb"]})
    await wait_until(lambda: any(s.get("documents") == ["nb.ipynb"] for s in b.awareness.values()))
    await a.disconnect()
    await b.disconnect()


async def test_broadcast_is_framed_once(jp_root_dir, base_url, jp_serverapp):
    """Every receiver of an update is written the same frame object: the message is
    encoded and framed once, not once per client."""
    from pycrdt import create_update_message

    from jupyter_spaces.collab import protocol as P

    write_notebook(jp_root_dir / "nb.ipynb", make_notebook(1, source=""))
    writer = await client(base_url, user="alice").open()
    readers = [await client(base_url, user=u).open() for u in ("bob", "carol", "dave")]
    room = next(iter(get_service(jp_serverapp).rooms.values()))
    written: dict[int, list[bytes]] = {}
    for conn in room.clients:
        stream = conn.ws_connection.stream
        sent = written.setdefault(conn.conn_id, [])

        def write(data, _orig=stream.write, _sent=sent):
            _sent.append(data)
            return _orig(data)

        stream.write = write
    got: list[bytes] = []
    for r in readers:
        r.on_update = got.append
    text: Text = writer.model._ycells[0]["source"]
    text += "x"
    await wait_until(lambda: len(got) == len(readers))
    frames = [f for sent in written.values() for f in sent]
    assert len(frames) == len(readers), "the writer is not sent its own update"
    assert all(f is frames[0] for f in frames)
    assert frames[0] == P.ws_frame(create_update_message(got[0]))
    assert all(str(r.model._ycells[0]["source"]) == "x" for r in readers)
    for c in (writer, *readers):
        await c.disconnect()


def test_ws_frame_lengths():
    from jupyter_spaces.collab import protocol as P

    for n, head in ((0, b"\x82\x00"), (125, b"\x82\x7d"), (126, b"\x82\x7e\x00\x7e"),
                    (65535, b"\x82\x7e\xff\xff"), (65536, b"\x82\x7f" + (65536).to_bytes(8, "big"))):
        assert P.ws_frame_header(n) == head
        assert P.ws_frame(b"a" * n) == head + b"a" * n


def test_parse_takes_pycrdts_messages_and_refuses_truncated_ones():
    """What pycrdt encodes, the server parses; cut short by one byte, it is refused
    (pycrdt's own decoder would hand back the shorter payload)."""
    from pycrdt import Doc, create_awareness_message, create_sync_message, create_update_message

    from jupyter_spaces.collab import protocol as P

    doc = Doc()
    text = doc.get("t", type=Text)
    text += "héllo"
    update = doc.get_update()
    awareness = P.encode_awareness([(7, 2, '{"cursor":"é"}'), (8, 3, "null")])
    cases = [
        (create_sync_message(doc), "step1", doc.get_state()),
        (P.STEP1_EMPTY, "step1", b"\x00"),
        (P.STEP2_EMPTY, "step2", b"\x00\x00"),
        (P.sync_step2_head(len(update)) + update, "step2", update),
        (create_update_message(update), "update", update),
        (create_awareness_message(awareness), "awareness", awareness),
    ]
    for message, kind, payload in cases:
        msg = P.parse(message, 1 << 20)
        assert (msg.kind, msg.payload) == (kind, payload)
        with pytest.raises(P.ProtocolError) as e:
            P.parse(message[:-1], 1 << 20)
        assert e.value.code == P.CLOSE_MALFORMED
    assert P.decode_awareness(awareness) == [(7, 2, '{"cursor":"é"}'), (8, 3, "null")]
    for n in (0, 10, 200, 70_000):
        assert P.update_frame(b"u" * n) == P.ws_frame(create_update_message(b"u" * n))
    assert P.parse(P.raw_message({"a": 1})[:1] + b"\x04save\x81\x01", 100).request_id == 129

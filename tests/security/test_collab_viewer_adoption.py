"""Finding 9 of issue 12: a viewer's state is never applied, on any path of the
session adoption either.

The path: two clients of one lineage ``Z`` come back to a room that started a
new lineage (journal lost, file recreated). Both wait for adoption. The editor's
state is adopted first (the room's lineage becomes ``Z``); the viewer's state
then arrives for a room whose lineage is now the viewer's own -- the branch that
used to apply it without asking whether the sender may write.
"""

from __future__ import annotations

from pycrdt import handle_sync_message

from jupyter_spaces.collab import get_service
from jupyter_spaces.collab import protocol as P

from tests.collab.client import CollabClient, wait_until
from tests.collab.conftest import base_url, headers, jp_server_config  # noqa: F401  (fixtures)
from tests.collab.nbutil import make_notebook, read_notebook, sources, write_notebook


class HoldingClient(CollabClient):
    """A client that holds its answer to the server's SyncStep1 until told."""

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.held_step1 = 0

    def _handle(self, msg: bytes) -> None:
        if msg[0] == P.SYNC and msg[1] == P.STEP1:
            self.held_step1 += 1
            return
        super()._handle(msg)

    def release(self) -> None:
        self.send(handle_sync_message(P.STEP1_EMPTY[1:], self.doc))  # our whole state


async def _returning(client: CollabClient, lineage: str, nb: dict) -> CollabClient:
    """``client`` as a provider of ``lineage`` that kept ``nb`` while the server forgot it."""
    await client.request_session()
    client.session["sessionId"] = lineage
    client.model.set(nb)
    await client.connect(new_session=False)
    return client


async def test_a_viewers_state_is_not_applied_when_its_lineage_was_adopted(jp_serverapp, jp_root_dir, base_url):
    write_notebook(jp_root_dir / "nb.ipynb", make_notebook(1, source="orig"))
    old = "returning-lineage-" + "z" * 16
    viewer = HoldingClient(base_url, "nb.ipynb", headers=headers("bob", "viewer"))
    await _returning(viewer, old, make_notebook(2, source="written by a viewer"))
    await wait_until(lambda: viewer.held_step1 == 1)  # the server waits for the viewer's state
    service = get_service(jp_serverapp)
    room = next(iter(service.rooms.values()))
    assert room.lineage != old

    editor = CollabClient(base_url, "nb.ipynb", headers=headers("alice", "editor"))
    await _returning(editor, old, make_notebook(1, source="orig"))
    await editor.wait_synced()
    assert room.lineage == old  # the editor's state was adopted: the room is of the viewer's lineage now

    viewer.release()
    # the viewer is served the room's document and carries on (it may read, not write)
    await wait_until(lambda: viewer.synced.is_set() or viewer.closed.is_set())
    await editor.ack()
    text = "\n".join(sources(room.model.get()))
    assert "viewer" not in text, f"a viewer's state was applied: {sources(room.model.get())}"
    assert sources(room.model.get()) == ["orig"]
    assert "viewer" not in "\n".join(sources(editor.content()))
    # the file never gets it either
    assert (await editor.save(1))["status"] == "success"
    assert "viewer" not in "\n".join(sources(read_notebook(jp_root_dir / "nb.ipynb")))
    # and a later update of the viewer on the normal path is refused as before
    if not viewer.closed.is_set():
        vtext = viewer.model._ycells[0]["source"]
        vtext += " again"
        await wait_until(lambda: any(r.get("type") == "refused" for r in viewer.raw))
        assert sources(room.model.get()) == ["orig"]
    await editor.disconnect()
    await viewer.disconnect()

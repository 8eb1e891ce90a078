"""The fast notebook open gives what the contents manager + YNotebook.set give."""

from __future__ import annotations

import copy
import json

import nbformat
import pytest
from jupyter_server.services.contents.filemanager import AsyncFileContentsManager
from jupyter_ydoc import YNotebook
from nbformat.sign import MemorySignatureStore, NotebookNotary
from pycrdt import Array, Doc, Map, Text

from jupyter_spaces.collab import fastload

LINES = ["line 1\n", "line 2\n", "last"]


def shapes() -> dict[str, dict]:
    """Notebooks of every shape the fast path must handle exactly like nbformat."""
    code = {
        "cell_type": "code",
        "execution_count": 3,
        "id": "c1",
        "metadata": {"tags": ["a"], "collapsed": False, "trusted": True},
        "outputs": [
            {"output_type": "stream", "name": "stdout", "text": LINES},
            {"output_type": "stream", "name": "stderr", "text": "err\n"},
            {"output_type": "execute_result", "execution_count": 3, "metadata": {},
             "data": {"text/plain": LINES, "text/html": ["<b>", "x</b>"], "application/json": {"k": [1, 2.5]},
                      "application/vnd.x+json": ["keep", "list"]}},
            {"output_type": "display_data", "metadata": {"isolated": True}, "data": {"image/png": "iVBORw0KG=\n"}},
            {"output_type": "error", "ename": "E", "evalue": "v", "traceback": ["t1", "t2"]},
        ],
        "source": ["import os\n", "print(1)"],
    }
    md = {"cell_type": "markdown", "id": "m1", "metadata": {}, "source": "# Title \u00e9\u6f22\U0001f600",
          "attachments": {"a.png": {"image/png": ["iVBO", "Rw0"]}}}
    md_empty_att = {"cell_type": "markdown", "id": "m2", "metadata": {}, "source": "", "attachments": {}}
    raw = {"cell_type": "raw", "id": "r1", "metadata": {"format": "text/x"}, "source": "raw"}
    no_outputs = {"cell_type": "code", "execution_count": None, "id": "c2", "metadata": {}, "source": ""}
    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3"}, "signature": "sha256:00",
            "orig_nbformat": 3, "custom": {"n": 1, "f": 0.5, "none": None, "b": True}}
    v45 = {"cells": [code, md, md_empty_att, raw, no_outputs], "metadata": meta, "nbformat": 4, "nbformat_minor": 5}
    v44 = copy.deepcopy(v45)
    v44["nbformat_minor"] = 4
    for c in v44["cells"]:
        del c["id"]
    bare = {"cells": [{"cell_type": "code", "metadata": {}, "source": "x", "outputs": [{"output_type": "stream"}]}],
            "metadata": {}, "nbformat": 4, "nbformat_minor": 2}
    return {"v4.5": v45, "v4.4 without ids": v44, "bare": bare, "no cells": {**copy.deepcopy(v45), "cells": []}}


@pytest.fixture
def cm(tmp_path):
    cm = AsyncFileContentsManager(root_dir=str(tmp_path))
    cm.notary = NotebookNotary(store_factory=MemorySignatureStore, secret=b"s3cret")
    assert fastload.stock_contents_manager(cm)
    return cm


async def via_contents_manager(cm, name: str) -> dict:
    model = await cm.get(name, content=True, type="notebook")
    return json.loads(json.dumps(model["content"]))


def via_fastload(cm, path) -> dict | None:
    nb = fastload.read_notebook(str(path))
    if nb is None:
        return None
    sig = fastload.signature(nb, cm.notary.secret, cm.notary.digestmod)
    fastload.mark_cells(nb, bool(cm.notary.store.check_signature(sig, cm.notary.algorithm)))
    return nb


@pytest.mark.parametrize("name", list(shapes()))
@pytest.mark.parametrize("signed", [False, True])
async def test_fast_read_is_what_the_contents_manager_gives(cm, tmp_path, name, signed):
    nb = shapes()[name]
    (tmp_path / "nb.ipynb").write_text(json.dumps(nb, indent=1))
    if signed:
        node = nbformat.reads(json.dumps(nb), as_version=4)
        cm.notary.sign(node)
    expected = await via_contents_manager(cm, "nb.ipynb")
    got = via_fastload(cm, tmp_path / "nb.ipynb")
    assert got == expected
    code_cells = [c for c in got["cells"] if c["cell_type"] == "code"]
    assert all(c["metadata"]["trusted"] is signed for c in code_cells)


def test_signature_is_nbformats(cm):
    for nb in shapes().values():
        node = nbformat.from_dict(copy.deepcopy(nb))
        plain = copy.deepcopy(nb)
        assert fastload.signature(plain, cm.notary.secret, cm.notary.digestmod) == cm.notary.compute_signature(node)
        assert plain == nb  # the signature metadata is put back


@pytest.mark.parametrize(
    "change",
    [
        lambda nb: nb.update(nbformat=3),
        lambda nb: nb["cells"][0].pop("id"),  # 4.5 without an id: nbformat adds a random one
        lambda nb: nb["cells"][1].update(id=nb["cells"][0]["id"]),  # duplicate ids: nbformat renames
        lambda nb: nb["cells"][0].pop("metadata"),
        lambda nb: nb["cells"][0].pop("source"),
        lambda nb: nb.update(cells={}),
    ],
)
def test_notebooks_it_is_unsure_of_go_to_the_contents_manager(tmp_path, change):
    nb = shapes()["v4.5"]
    change(nb)
    (tmp_path / "nb.ipynb").write_text(json.dumps(nb))
    assert fastload.read_notebook(str(tmp_path / "nb.ipynb")) is None


def test_not_json_goes_to_the_contents_manager(tmp_path):
    (tmp_path / "nb.ipynb").write_bytes(b"{not json")
    assert fastload.read_notebook(str(tmp_path / "nb.ipynb")) is None
    (tmp_path / "nb.ipynb").write_bytes(b'{"cells": [], "x": "\xff"}')
    assert fastload.read_notebook(str(tmp_path / "nb.ipynb")) is None


def structure(value) -> object:
    """A Y value as (type, content) all the way down, Map keys sorted."""
    if isinstance(value, Map):
        return ("Map", {k: structure(value[k]) for k in sorted(value.keys())})
    if isinstance(value, Array):
        return ("Array", [structure(v) for v in value])
    if isinstance(value, Text):
        return ("Text", str(value))
    return ("value", value)


@pytest.mark.parametrize("name", list(shapes()))
def test_build_is_ynotebook_set(name):
    nb = fastload.prepare_notebook(shapes()[name])
    assert nb is not None
    fastload.mark_cells(nb, True)
    a = YNotebook(Doc())
    a.set(copy.deepcopy(nb))
    b = YNotebook(Doc())
    fastload.build_notebook(b, copy.deepcopy(nb))
    sa, sb = structure(a._ymeta), structure(b._ymeta)
    assert sa == sb
    ca, cb = structure(a._ycells), structure(b._ycells)
    random_ids = name in ("v4.4 without ids", "bare", "no cells")
    if random_ids:  # both add random ids
        for cells in (ca, cb):
            for cell in cells[1]:
                cell[1].pop("id")
    assert ca == cb
    assert a.get() == b.get() or random_ids
    # and a client gets the same document from it
    other = YNotebook(Doc())
    other.ydoc.apply_update(b.ydoc.get_update())
    assert structure(other._ycells) == structure(b._ycells)


async def test_clients_opening_get_the_current_document(jp_root_dir, base_url, jp_serverapp):
    """The first client gets the snapshot the load encoded, the next ones the journal's
    snapshot read back, and once the document changed, a fresh encoding."""
    from jupyter_spaces.collab import get_service
    from tests.collab.client import CollabClient, wait_until

    from tests.collab.conftest import headers

    nb = shapes()["v4.5"]
    (jp_root_dir / "nb.ipynb").write_text(json.dumps(nb))

    def open_client() -> CollabClient:
        return CollabClient(base_url, "nb.ipynb", headers=headers())

    a = await open_client().open()
    b = await open_client().open()
    assert a.content() == b.content()
    assert [c["id"] for c in a.content()["cells"]] == [c["id"] for c in nb["cells"]]
    room = next(iter(get_service(jp_serverapp).rooms.values()))
    assert room._snapshot_version == room._version  # unchanged: served from the snapshot
    text = a.model._ycells[0]["source"]
    text += "# edited\n"
    await wait_until(lambda: "# edited" in str(b.model._ycells[0]["source"]))
    assert room._snapshot_version != room._version
    c = await open_client().open()
    assert "# edited" in str(c.model._ycells[0]["source"])
    assert c.content() == a.content()
    for x in (a, b, c):
        await x.disconnect()

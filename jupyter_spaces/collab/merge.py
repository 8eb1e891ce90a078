"""Merge a file's content into a live document as a minimal diff.

Notebooks are merged three-way at cell granularity: ``base`` is a digest of what the
document and the file last agreed on (at load or save), ``file`` is the new content on
disk, ``doc`` is the live document. A cell unchanged on disk keeps the live version
(including edits not yet saved); a cell changed on disk is updated in place (its id,
its Y objects and thus collaborators' cursors are kept; text changes are applied as
character-level inserts/deletes); cells deleted on disk are deleted, new ones inserted
after their predecessor. Plain text documents get a character-level diff.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from jupyter_ydoc import YNotebook
from difflib import SequenceMatcher

from pycrdt import Array, Map, Text


def set_text(ytext: Text, new: str) -> bool:
    """Turn ``ytext`` into ``new`` with character-level inserts/deletes (Y text offsets
    are UTF-8 bytes): common prefix and suffix are kept, the middle is diffed, so
    untouched text -- and cursors anchored in it -- stay put."""
    old = str(ytext)
    if old == new:
        return False
    p = 0
    n = min(len(old), len(new))
    while p < n and old[p] == new[p]:
        p += 1
    q = 0
    while q < n - p and old[-1 - q] == new[-1 - q]:
        q += 1
    a, b = old[p : len(old) - q], new[p : len(new) - q]
    base = len(old[:p].encode())
    doc = ytext.doc
    with doc.transaction():
        if not a or not b or len(a) * len(b) > 4_000_000:
            if a:
                del ytext[base : base + len(a.encode())]
            if b:
                ytext.insert(base, b)
            return True
        # apply opcodes back to front so earlier offsets stay valid
        ops = SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
        for tag, i1, i2, j1, j2 in reversed(ops):
            if tag == "equal":
                continue
            start = base + len(a[:i1].encode())
            if i2 > i1:
                del ytext[start : start + len(a[i1:i2].encode())]
            if j2 > j1:
                ytext.insert(start, b[j1:j2])
    return True


def digest(value: Any) -> str:
    data = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(data.encode(), digest_size=12).hexdigest()


def _norm_cell(cell: dict[str, Any]) -> dict[str, Any]:
    cell = dict(cell)
    cell.pop("execution_state", None)
    src = cell.get("source", "")
    if isinstance(src, list):
        cell["source"] = "".join(src)
    if cell.get("cell_type") in ("raw", "markdown") and not cell.get("attachments"):
        cell.pop("attachments", None)
    return cell


def notebook_base(nb: dict[str, Any]) -> dict[str, Any]:
    """Digest of a notebook: per-cell hashes by id and a metadata hash."""
    return {
        "cells": {c["id"]: digest(_norm_cell(c)) for c in nb.get("cells", []) if c.get("id")},
        "meta": digest(nb.get("metadata", {})),
    }


def text_base(text: str) -> dict[str, Any]:
    return {"text": digest(text)}


def _update_cell(model: YNotebook, ycell: Map, old: dict[str, Any], new: dict[str, Any]) -> None:
    for key in set(old) | set(new):
        if key == "id" or old.get(key) == new.get(key):
            continue
        if key not in new:
            del ycell[key]
        elif key == "source" and isinstance(ycell.get("source"), Text):
            set_text(ycell["source"], new["source"])
        elif key == "outputs":
            model._set_ycell_outputs(ycell, new["outputs"])
        elif key == "metadata":
            ycell["metadata"] = Map(new["metadata"])
        elif key == "attachments":
            ycell["attachments"] = new["attachments"]
        else:
            ycell[key] = new[key]


def merge_notebook(model: YNotebook, nb: dict[str, Any], base: dict[str, Any] | None) -> bool:
    """Merge ``nb`` (the file) into ``model``; returns whether anything changed."""
    file_cells = [_norm_cell(c) for c in nb.get("cells", [])]
    if any(not c.get("id") for c in file_cells):
        # nbformat < 4.5 has no cell ids: nothing to match on but positions
        before = model.ydoc.get_state()
        model.set(nb)
        return model.ydoc.get_state() != before
    base_cells = (base or {}).get("cells", {})
    ycells: Array = model._ycells
    meta = model._ymeta.to_py()
    changed = False
    with model.ydoc.transaction():
        index = {ycells[i].get("id"): i for i in range(len(ycells))}
        file_ids = {c["id"] for c in file_cells}
        # 1. cells deleted on disk (they were in the base, the file no longer has them)
        for cid in [cid for cid in base_cells if cid not in file_ids and cid in index]:
            i = next(i for i in range(len(ycells)) if ycells[i].get("id") == cid)
            del ycells[i]
            changed = True
        index = {ycells[i].get("id"): i for i in range(len(ycells))}
        # 2. cells changed or added on disk
        prev_id: str | None = None
        for cell in file_cells:
            cid = cell["id"]
            if cid in index:
                if base is None or base_cells.get(cid) != digest(cell):
                    ycell = ycells[index[cid]]
                    old = model._cell_to_py(ycell, meta)
                    if old != cell:
                        _update_cell(model, ycell, old, cell)
                        changed = True
            elif cid not in base_cells:
                pos = index[prev_id] + 1 if prev_id in index else 0
                ycells.insert(pos, model.create_ycell(cell))
                index = {ycells[i].get("id"): i for i in range(len(ycells))}
                changed = True
            prev_id = cid if cid in index else prev_id
        # 3. notebook metadata and format
        file_meta = nb.get("metadata", {})
        if (base is None or base.get("meta") != digest(file_meta)) and meta.get(
            "metadata"
        ) != file_meta:
            model._ymeta["metadata"] = Map(file_meta)
            changed = True
        for key in ("nbformat", "nbformat_minor"):
            if key in nb and meta.get(key) != nb[key]:
                model._ymeta[key] = nb[key]
                changed = True
    return changed


def merge_text(model: Any, text: str, base: dict[str, Any] | None) -> bool:
    if base is not None and base.get("text") == digest(text):
        return False
    if model.get() == text:
        return False
    return set_text(model._ysource, text)

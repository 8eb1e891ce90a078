"""Opening a notebook fast: what ``contents_manager.get`` + ``YNotebook.set`` give, cheaper.

A cold open of a big notebook used to spend most of its time in the contents manager
(nbformat's ``NotebookNode`` conversion, JSON-schema validation and the trust check's
recursive generator) and in pycrdt's Python wrappers (one transaction and several
wrapper objects per inserted value). Here, with the *same result*:

* :func:`read_notebook` parses the file with a plain JSON parser (orjson)
  and applies exactly the read-time transformations nbformat applies to a v4 notebook
  (``rejoin_lines``, ``strip_transient``); anything it is not sure about (another
  nbformat version, cells whose ids nbformat's validation would repair, odd shapes)
  returns None and the caller uses the contents manager. Validation is skipped: the
  contents manager only reports its result, it never refuses a notebook for it.
* :func:`signature` is nbformat's ``NotebookNotary.compute_signature`` (same HMAC over
  the same byte sequence), without a generator frame per value; the trust lookup
  itself stays with the notary's store.
* :func:`build_notebook` fills a fresh :class:`YNotebook` as ``YNotebook.set`` does
  (same shared types, same keys, same values) through pycrdt's integrated types, in
  one transaction.

The tests compare all three with the originals on notebooks of every shape.
"""

from __future__ import annotations

import copy
import hmac
import json
from typing import Any
from uuid import uuid4

import orjson
from jupyter_ydoc import YNotebook
from jupyter_ydoc.utils import cast_all
from pycrdt import Map


def parse_json(data: bytes) -> Any:
    """JSON as nbformat reads it (strict UTF-8; json's extensions such as NaN accepted).

    orjson first (about 1.5x faster than json on big notebooks)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass  # e.g. NaN, or integers beyond 64 bits: json decides
    return json.loads(data.decode("utf-8"))


def _is_json_mime(mime: str) -> bool:
    # nbformat.v4.rwbase._is_json_mime
    return mime == "application/json" or (mime.startswith("application/") and mime.endswith("+json"))


def _rejoin_mimebundle(data: Any) -> None:
    if not isinstance(data, dict):
        raise _Unsure
    for key, value in list(data.items()):
        if not _is_json_mime(key) and isinstance(value, list) and all(isinstance(x, str) for x in value):
            data[key] = "".join(value)


class _Unsure(Exception):
    """A notebook the fast path does not handle exactly like nbformat: use the contents manager."""


def prepare_notebook(nb: Any) -> dict[str, Any] | None:
    """nbformat's read-time transformations of a v4 notebook, in place on plain dicts.

    Returns the notebook, or None if it is not one the fast path handles exactly like
    ``nbformat.reads(..., as_version=4)`` (the caller then uses the contents manager)."""
    try:
        if not isinstance(nb, dict) or type(nb.get("nbformat")) is not int or nb["nbformat"] != 4:
            return None
        minor = nb.get("nbformat_minor", 0)
        if type(minor) is not int:
            return None
        cells, metadata = nb.get("cells"), nb.get("metadata")
        if not isinstance(cells, list) or not isinstance(metadata, dict):
            return None
        # strip_transient (notebook part)
        metadata.pop("orig_nbformat", None)
        metadata.pop("orig_nbformat_minor", None)
        metadata.pop("signature", None)
        seen: set[Any] = set()
        for cell in cells:
            if not isinstance(cell, dict) or not isinstance(cell.get("metadata"), dict):
                return None
            if not isinstance(cell.get("cell_type"), str) or not isinstance(cell.get("source"), (str, list)):
                return None
            if minor >= 5:
                # nbformat's validation would add missing ids / rename duplicates (with
                # random ids and a warning): leave those notebooks to it.
                cid = cell.get("id")
                if not isinstance(cid, str) or cid in seen:
                    return None
                seen.add(cid)
            # rejoin_lines
            source = cell.get("source")
            if isinstance(source, list):
                cell["source"] = "".join(source)
            attachments = cell.get("attachments", {})
            if not isinstance(attachments, dict):
                return None
            for attachment in attachments.values():
                _rejoin_mimebundle(attachment)
            if cell["cell_type"] == "code":
                outputs = cell.get("outputs", [])
                if not isinstance(outputs, list):
                    return None
                for output in outputs:
                    if not isinstance(output, dict):
                        return None
                    output_type = output.get("output_type", "")
                    if output_type in ("execute_result", "display_data"):
                        _rejoin_mimebundle(output.get("data", {}))
                    elif output_type and isinstance(output.get("text", ""), list):
                        output["text"] = "".join(output["text"])
            # strip_transient (cell part)
            cell["metadata"].pop("trusted", None)
        return nb
    except (_Unsure, TypeError, AttributeError):
        return None


def _parts(obj: Any, out: list[bytes]) -> None:
    # nbformat.sign.yield_everything, appending instead of yielding
    if isinstance(obj, dict):
        for key in sorted(obj):
            out.append(key.encode())
            _parts(obj[key], out)
    elif isinstance(obj, (list, tuple)):
        for element in obj:
            _parts(element, out)
    elif isinstance(obj, str):
        out.append(obj.encode("utf8"))
    else:
        out.append(str(obj).encode("utf8"))


def signature(nb: dict[str, Any], secret: bytes, digestmod: Any) -> str:
    """``NotebookNotary.compute_signature(nb)`` (the notebook's ``signature`` metadata,
    if any, excluded as there)."""
    out: list[bytes] = []
    meta = nb.get("metadata", {})
    saved = meta.pop("signature", None) if isinstance(meta, dict) else None
    try:
        _parts(nb, out)
    finally:
        if saved is not None:
            meta["signature"] = saved
    return hmac.new(secret, b"".join(out), digestmod).hexdigest()


def mark_cells(nb: dict[str, Any], trusted: bool) -> None:
    """``NotebookNotary.mark_cells``: ``metadata.trusted`` on every code cell."""
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["metadata"]["trusted"] = trusted


def read_notebook(os_path: str) -> dict[str, Any] | None:
    """The notebook at ``os_path`` as nbformat reads it (v4), or None (not sure: ask the
    contents manager). Trust is not marked yet (see :func:`signature`)."""
    with open(os_path, "rb") as f:
        data = f.read()
    try:
        nb = parse_json(data)
    except ValueError:  # not JSON / not UTF-8: the contents manager says it properly
        return None
    return prepare_notebook(nb)


def stock_contents_manager(cm: Any) -> bool:
    """Whether ``cm.get`` of a notebook is jupyter_server's own (file read, nbformat,
    trust marking by a stock notary), so that :func:`read_notebook` + trust give the
    same content. A customised contents manager or notary always goes through ``get``."""
    try:
        from jupyter_server.services.contents.filemanager import (
            AsyncFileContentsManager,
            FileContentsManager,
        )
        from jupyter_server.services.contents.manager import ContentsManager
        from nbformat.sign import NotebookNotary
    except ImportError:  # pragma: no cover
        return False
    t = type(cm)
    if not isinstance(cm, (FileContentsManager, AsyncFileContentsManager)):
        return False
    stock = (
        (t.get, (FileContentsManager.get, AsyncFileContentsManager.get)),
        (t._notebook_model, (FileContentsManager._notebook_model, AsyncFileContentsManager._notebook_model)),
        (t._read_notebook, (FileContentsManager._read_notebook, AsyncFileContentsManager._read_notebook)),
        (t._get_os_path, (FileContentsManager._get_os_path,)),
        (t.mark_trusted_cells, (ContentsManager.mark_trusted_cells,)),
    )
    if not all(method in allowed for method, allowed in stock):
        return False
    n = type(cm.notary)
    return (
        n.compute_signature is NotebookNotary.compute_signature
        and n.check_signature is NotebookNotary.check_signature
        and n.mark_cells is NotebookNotary.mark_cells
    )


# ---------------------------------------------------------------------- building
def _low_level_ok(model: YNotebook) -> bool:
    integrated = getattr(model._ycells, "_integrated", None)
    return all(hasattr(integrated, m) for m in ("insert_map_prelim", "insert", "len"))


def build_notebook(model: YNotebook, nb: dict[str, Any]) -> None:
    """``model.set(nb)`` for a model whose document is still empty, in one transaction.

    ``nb`` is taken over (not copied): its cell dicts are changed (ids, defaults);
    nothing below them (metadata, outputs) is."""
    doc = model.ydoc
    if not nb.get("cells") or len(model._ycells) or len(model._ymeta) or not _low_level_ok(model):
        model.set(nb)
        return
    with doc.transaction() as t:
        txn = t._txn
        # the notebook's metadata, as YNotebook._set does it
        meta = copy.deepcopy({k: v for k, v in nb.items() if k != "cells"})
        cast_all(meta, int, float)
        model._ymeta["nbformat"] = meta.get("nbformat", 4)
        model._ymeta["nbformat_minor"] = meta.get("nbformat_minor", 5)
        metadata = meta.get("metadata", {})
        metadata.setdefault("language_info", {"name": ""})
        metadata.setdefault("kernelspec", {"name": "", "display_name": ""})
        model._ymeta["metadata"] = Map(metadata)
        # the cells, as YNotebook.create_ycell does it (same keys, values and types)
        ycells = model._ycells._integrated
        for index, cell in enumerate(nb["cells"]):
            if "id" not in cell:
                cell["id"] = str(uuid4())
            kind = cell["cell_type"]
            if kind in ("raw", "markdown"):
                if "attachments" in cell and not cell["attachments"]:
                    del cell["attachments"]
            elif kind == "code":
                cell.setdefault("outputs", [])
                cell["execution_state"] = "idle"
            cell.setdefault("metadata", {})
            ycell = ycells.insert_map_prelim(txn, index)
            for key, value in cell.items():
                if key == "source":
                    text = ycell.insert_text_prelim(txn, key)
                    text.insert(txn, 0, "".join(value) if isinstance(value, list) else value)
                elif key == "metadata":
                    ymeta = ycell.insert_map_prelim(txn, key)
                    for k, v in value.items():
                        ymeta.insert(txn, k, v)
                elif key == "outputs" and kind == "code":
                    youtputs = ycell.insert_array_prelim(txn, key)
                    for j, output in enumerate(value):
                        youtput = youtputs.insert_map_prelim(txn, j)
                        stream = output.get("output_type") == "stream"
                        for k, v in output.items():
                            if stream and k == "text":
                                ytext = youtput.insert_text_prelim(txn, k)
                                ytext.insert(txn, 0, v if isinstance(v, str) else "".join(v))
                            else:
                                youtput.insert(txn, k, v)
                        if stream and "text" not in output:
                            youtput.insert_text_prelim(txn, "text")
                else:
                    ycell.insert(txn, key, value)

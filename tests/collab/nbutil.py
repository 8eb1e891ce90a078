"""Notebook helpers for the collaboration tests."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any


def make_notebook(n_cells: int = 3, source: str = "x = {i}\n") -> dict[str, Any]:
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": uuid.uuid4().hex[:8],
                "metadata": {},
                "outputs": [],
                "source": source.format(i=i),
            }
            for i in range(n_cells)
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def write_notebook(path: Path, nb: dict[str, Any]) -> None:
    path.write_text(json.dumps(nb, indent=1))


def read_notebook(path: Path) -> dict[str, Any]:
    """The notebook on disk (an empty dict while a writer is half-way through)."""
    try:
        return json.loads(path.read_text())
    except (ValueError, FileNotFoundError):
        return {"cells": []}


def cell_ids(nb: dict[str, Any]) -> list[str]:
    return [c["id"] for c in nb["cells"]]


def sources(nb: dict[str, Any]) -> list[str]:
    return [c["source"] if isinstance(c["source"], str) else "".join(c["source"]) for c in nb["cells"]]


def assert_no_duplicates(nb: dict[str, Any]) -> None:
    ids = cell_ids(nb)
    assert len(ids) == len(set(ids)), f"duplicate cell ids: {ids}"

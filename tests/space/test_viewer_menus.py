"""A viewer's menus (labextension/schema/viewer-menus.json) disable JupyterLab's own
items: each must name one JupyterLab has, as JupyterLab matches them (a menu item by
command, selector and arguments, a submenu by id, a toolbar item by name), or it
leaves nothing out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jupyterlab.commands import get_app_dir

OURS = json.loads((Path(__file__).parents[2] / "labextension/schema/viewer-menus.json").read_text())


def jupyterlab_schemas() -> list[dict]:
    found = sorted((Path(get_app_dir()) / "schemas" / "@jupyterlab").glob("*/*.json"))
    assert found, "JupyterLab's schemas are not installed"
    return [json.loads(p.read_text()) for p in found]


def key(item: dict) -> tuple:
    return (item.get("command"), item.get("selector"), json.dumps(item.get("args") or {}, sort_keys=True))


def theirs_context() -> set:
    return {key(i) for s in jupyterlab_schemas() for i in s.get("jupyter.lab.menus", {}).get("context", [])}


def theirs_main_items(menu_id: str) -> list[dict]:
    return [
        item for s in jupyterlab_schemas() for m in s.get("jupyter.lab.menus", {}).get("main", [])
        if m["id"] == menu_id for item in m.get("items", [])
    ]


@pytest.mark.parametrize("item", OURS["jupyter.lab.menus"]["context"], ids=lambda i: i["command"])
def test_each_context_item_is_jupyterlabs(item):
    assert item["disabled"] is True
    assert key(item) in theirs_context()


def test_each_file_menu_item_is_jupyterlabs():
    (file_menu,) = OURS["jupyter.lab.menus"]["main"]
    theirs = theirs_main_items(file_menu["id"])
    for item in file_menu["items"]:
        assert item["disabled"] is True
        if item.get("type") == "submenu":
            assert any(t.get("submenu", {}).get("id") == item["submenu"]["id"] for t in theirs), item
        else:
            assert any(t.get("command") == item["command"] for t in theirs), item


def test_each_file_browser_button_is_jupyterlabs():
    theirs = {
        i["name"] for s in jupyterlab_schemas() for i in s.get("jupyter.lab.toolbars", {}).get("FileBrowser", [])
    }
    ours = OURS["jupyter.lab.toolbars"]["FileBrowser"]
    assert {"new-directory", "uploader"} == {i["name"] for i in ours}
    assert all(i["disabled"] is True and i["name"] in theirs for i in ours)

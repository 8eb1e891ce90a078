"""JupyterLab settings and workspaces are each collaborator's own; viewers read theirs and write none."""

import json

import pytest
from traitlets.config import Config

pytestmark = pytest.mark.filterwarnings("ignore:Extension endpoints without @allow_unauthenticated")

THEME = "@jupyterlab/apputils-extension:themes"


@pytest.fixture
def jp_server_config(jp_server_config):
    # JupyterLab itself, for its settings and workspaces routes.
    return Config({**jp_server_config, "ServerApp": {
        **jp_server_config["ServerApp"],
        "jpserver_extensions": {**jp_server_config["ServerApp"]["jpserver_extensions"], "jupyterlab": True},
    }})  # fmt: skip


async def theme_of(fetch, role):
    r = await fetch("lab", "api", "settings", THEME, role=role)
    assert r.code == 200, r.body
    return json.loads(r.body)["settings"].get("theme")


async def test_a_theme_change_is_the_changers_own(fetch):
    raw = json.dumps({"raw": json.dumps({"theme": "JupyterLab Dark"})})
    r = await fetch("lab", "api", "settings", THEME, role="editor", method="PUT", body=raw)
    assert r.code == 204, r.body
    assert await theme_of(fetch, "editor") == "JupyterLab Dark"
    assert await theme_of(fetch, "owner") in (None, "JupyterLab Light")
    assert await theme_of(fetch, "viewer") in (None, "JupyterLab Light")


async def test_a_layout_is_the_users_own(fetch):
    layout = {"data": {"layout-restorer:data": {"main": {"current": "notebook:editor.ipynb"}}},
              "metadata": {"id": "default"}}  # fmt: skip
    r = await fetch("lab", "api", "workspaces", "default", role="editor", method="PUT", body=json.dumps(layout))
    assert r.code == 204, r.body
    mine = json.loads((await fetch("lab", "api", "workspaces", "default", role="editor")).body)
    assert mine["data"] == layout["data"]
    owners = json.loads((await fetch("lab", "api", "workspaces", "default", role="owner")).body)
    assert owners["data"] == {}


async def test_a_viewer_writes_neither(fetch):
    """Theirs would live on the owner's volume: a viewer writes nothing there (space/routes.py)."""
    raw = json.dumps({"raw": json.dumps({"theme": "JupyterLab Dark"})})
    r = await fetch("lab", "api", "settings", THEME, role="viewer", method="PUT", body=raw)
    assert r.code == 403, r.body
    r = await fetch("lab", "api", "workspaces", "default", role="viewer", method="PUT",
                    body=json.dumps({"data": {}, "metadata": {"id": "default"}}))  # fmt: skip
    assert r.code == 403, r.body
    assert await theme_of(fetch, "viewer") in (None, "JupyterLab Light")

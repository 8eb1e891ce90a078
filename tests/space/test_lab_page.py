"""The lab page of a space: a viewer's leaves out the kernel, session and terminal
managers (the labextension's quiet ones take their place), and nobody's has the
news prompt."""

from __future__ import annotations

import json
import re

import pytest

from jupyter_spaces.space.labpage import VIEWER_DISABLED_EXTENSIONS

NEWS = "@jupyterlab/apputils-extension:announcements"


@pytest.fixture
def jp_server_config(jp_server_config, tmp_path):
    """The space server of conftest, with JupyterLab's page as a space serves it, and
    this project's labextension installed (as the image's; only its metadata is read)."""
    jp_server_config.ServerApp.jpserver_extensions["jupyterlab"] = True
    ext = tmp_path / "labextensions" / "jupyter-spaces"
    ext.mkdir(parents=True)
    (ext / "package.json").write_text(json.dumps({
        "name": "jupyter-spaces", "version": "0.1.0",
        "jupyterlab": {"_build": {"load": "static/remoteEntry.js", "extension": "./extension"}},
    }))
    jp_server_config.LabApp.extra_labextensions_path = [str(ext.parent)]
    return jp_server_config


async def page_config(fetch, role: str) -> dict:
    r = await fetch("lab", role=role)
    assert r.code == 200
    html = r.body.decode()
    found = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', html, re.S)
    assert found, html[:500]
    return json.loads(found.group(1))


def disabled(config: dict) -> set:
    value = config.get("disabledExtensions") or []
    return {k for k, v in value.items() if v} if isinstance(value, dict) else set(value)


async def test_a_viewers_page_goes_without_kernels_sessions_and_terminals(fetch):
    config = await page_config(fetch, "viewer")
    assert config["spacesRole"] == "viewer"
    assert set(VIEWER_DISABLED_EXTENSIONS) <= disabled(config)
    assert "@jupyterlab/services-extension:kernel-manager" in disabled(config)
    assert "@jupyterlab/services-extension:terminal-manager" in disabled(config)
    # no Terminal in the launcher or menus ("Launcher Error: Not implemented in no-op
    # Terminal Manager" when a viewer clicked it)
    assert "@jupyterlab/terminal-extension" in disabled(config)


@pytest.mark.parametrize("role", ["owner", "editor"])
async def test_who_may_run_code_keeps_them(fetch, role):
    config = await page_config(fetch, role)
    assert config["spacesRole"] == role
    assert not set(VIEWER_DISABLED_EXTENSIONS) & disabled(config)


@pytest.mark.parametrize("role", ["owner", "editor", "viewer"])
async def test_nobody_is_asked_about_jupyter_news(fetch, role):
    assert NEWS in disabled(await page_config(fetch, role))


async def test_the_page_config_of_one_request_does_not_leak_into_the_next(fetch):
    await page_config(fetch, "viewer")
    assert not set(VIEWER_DISABLED_EXTENSIONS) & disabled(await page_config(fetch, "editor"))


REPLACED = {
    "@jupyterlab/apputils-extension:state",
    "@jupyterlab/apputils-extension:resolver",
    # the caller's initials a second time, beside the labextension's avatars (issue 16)
    "@jupyter/collaboration-extension:user-menu-bar",
}


@pytest.mark.parametrize("role", ["owner", "editor", "viewer"])
async def test_the_labextension_takes_the_place_of_the_state_plugins_that_wait(fetch, role):
    # Issue 17: JupyterLab's state plugin and window resolver make every page wait; this
    # server has the project's labextension, whose own replace them.
    config = await page_config(fetch, role)
    assert any(e.get("name") == "jupyter-spaces" for e in config["federated_extensions"])
    assert REPLACED <= disabled(config)


def test_without_the_labextension_jupyterlabs_own_stay():
    from jupyter_spaces.space.labpage import LabPage

    class Handler:
        class current_user:  # noqa: N801 - a stand-in attribute bag, as jupyter_server's user
            role = "editor"

    page = LabPage()
    other = {"federated_extensions": [{"name": "other-ext"}]}
    assert not REPLACED & disabled(page(Handler, other))
    # The labextension disabled, whole or one of its plugins: JupyterLab's stay too.
    for off in (["jupyter-spaces"], {"jupyter-spaces:state": True}):
        there = {"federated_extensions": [{"name": "jupyter-spaces"}], "disabledExtensions": off}
        assert not REPLACED & disabled(page(Handler, there))
    there = {"federated_extensions": [{"name": "jupyter-spaces"}], "disabledExtensions": {"jupyter-spaces:state": False}}
    assert REPLACED <= disabled(page(Handler, there))


@pytest.mark.parametrize("role", ["owner", "editor", "viewer"])
async def test_jupyterlabs_shut_down_is_left_out_where_the_labextension_logs_out(fetch, role):
    # Shut Down asks the space server to end itself, which it refuses; JupyterLab shows
    # it and Log Out both or neither: the labextension's Log Out stands in
    config = await page_config(fetch, role)
    assert config["quitButton"] is False


def test_without_the_labextension_jupyterlabs_log_out_stays():
    from jupyter_spaces.space.labpage import LabPage

    class Handler:
        class current_user:  # a stand-in attribute bag, as jupyter_server's user
            role = "editor"

    page = LabPage()(Handler, {"federated_extensions": [], "quitButton": True})
    assert page["quitButton"] is True


async def test_a_viewer_has_no_launcher(fetch):
    # its cards create notebooks, consoles and files, which the space refuses a viewer
    assert "@jupyterlab/launcher-extension" in disabled(await page_config(fetch, "viewer"))
    assert "@jupyterlab/launcher-extension" not in disabled(await page_config(fetch, "editor"))

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
def jp_server_config(jp_server_config):
    """The space server of conftest, with JupyterLab's page as a space serves it."""
    jp_server_config.ServerApp.jpserver_extensions["jupyterlab"] = True
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

"""A person's JupyterLab settings follow them from the home into every space (issue 16).

A real domain (pytest-jupyter, with JupyterLab: the home) whose lifecycle starts a real
sandboxed space on the project installed in a venv; users call with API tokens through
the domain proxy, as a space's JupyterLab does.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from tornado.httpclient import AsyncHTTPClient

from jupyter_spaces.domain.schemas import MemberPut, SpaceCreate, UserCreate
from jupyter_spaces.domain.service import SYSTEM
from tests.domainconfig import domain_server_config

pytestmark = pytest.mark.slow

SPACE = "team"
THEMES = "@jupyterlab/apputils-extension:themes"
TRACKER = "@jupyterlab/notebook-extension:tracker"
DARK = json.dumps({"theme": "JupyterLab Dark"})


@pytest.fixture
def jp_server_config(tmp_path, installed_python):
    return domain_server_config(
        tmp_path / "domain", python=installed_python,
        server={"jpserver_extensions": {"jupyter_spaces": True, "jupyterlab": True}},
        domain={"idle_check_interval": 3600},
    )


@pytest.fixture
def call(domain, lifecycle, http_server_client, jp_http_port, jp_base_url, jp_asyncio_loop):
    """``call(method, path, who, body)`` on the domain, once alice's shared space runs
    (eddie edits it, vera views it)."""
    service = domain.service
    tokens = {name: service.create_user(SYSTEM, UserCreate(name=name))["token"] for name in ("alice", "eddie", "vera")}
    base = f"http://127.0.0.1:{jp_http_port}{jp_base_url}"

    async def call(method: str, path: str, who: str, body=None):
        raw = json.dumps(body).encode() if body is not None else None
        return await AsyncHTTPClient().fetch(
            base + path, method=method, body=raw, raise_error=False, request_timeout=120,
            headers={"Authorization": f"token {tokens[who]}", "Host": f"localhost:{jp_http_port}"},
        )

    async def start() -> None:
        service.create_space(SYSTEM, SpaceCreate(name=SPACE, sharing="shared", app_type="jupyterlab", volume_gb=1),
                             owner="alice")
        service.put_member(SYSTEM, SPACE, "eddie", MemberPut(role="editor"))
        service.put_member(SYSTEM, SPACE, "vera", MemberPut(role="viewer"))
        r = await call("POST", f"spaces/api/spaces/{SPACE}/start", "alice", {})
        assert r.code == 202, r.body
        deadline = time.monotonic() + 120
        while (status := json.loads((await call("GET", f"spaces/api/spaces/{SPACE}", "alice")).body)["status"]) != "running":
            assert status == "starting" and time.monotonic() < deadline, status
            await asyncio.sleep(0.2)

    jp_asyncio_loop.run_until_complete(start())
    return call


def space(path: str) -> str:
    return f"spaces/{SPACE}/{path}"


async def test_settings_chosen_on_the_home_are_a_spaces_and_back(call):
    # Dark chosen on the home ...
    r = await call("PUT", f"lab/api/settings/{THEMES}", "eddie", {"raw": DARK})
    assert r.code == 204, r.body
    # ... is the theme of the space, one schema at a time and in the listing.
    r = await call("GET", space(f"lab/api/settings/{THEMES}"), "eddie")
    assert r.code == 200, r.body
    got = json.loads(r.body)
    assert got["raw"] == DARK and got["settings"]["theme"] == "JupyterLab Dark"
    listing = {s["id"]: s for s in json.loads((await call("GET", space("lab/api/settings"), "eddie")).body)["settings"]}
    assert listing[THEMES]["raw"] == DARK
    # A preference set in the space is the home's too.
    numbers = json.dumps({"codeCellConfig": {"lineNumbers": True}})
    r = await call("PUT", space(f"lab/api/settings/{TRACKER}"), "eddie", {"raw": numbers})
    assert r.code == 204, r.body
    assert json.loads((await call("GET", f"lab/api/settings/{TRACKER}", "eddie")).body)["raw"] == numbers


async def test_everybodys_settings_are_their_own_and_checked_and_the_image_bounds_them(call):
    assert (await call("PUT", space(f"lab/api/settings/{THEMES}"), "eddie", {"raw": DARK})).code == 204
    theirs = json.loads((await call("GET", space(f"lab/api/settings/{THEMES}"), "alice")).body)
    assert theirs["settings"].get("theme") != "JupyterLab Dark"
    # A viewer keeps their own settings too (nobody else reads them).
    assert (await call("PUT", space(f"lab/api/settings/{THEMES}"), "vera", {"raw": DARK})).code == 204
    # What the schema refuses: a sentence, and nothing changed.
    r = await call("PUT", space(f"lab/api/settings/{THEMES}"), "eddie", {"raw": json.dumps({"theme": 5})})
    assert r.code == 400 and "not valid" in json.loads(r.body)["message"], r.body
    assert json.loads((await call("GET", f"lab/api/settings/{THEMES}", "eddie")).body)["raw"] == DARK
    # The schema of an extension the image lacks (one installed into the space's volume)
    # is the space's own JupyterLab to answer; it has no such schema either.
    r = await call("GET", space("lab/api/settings/no-such:extension"), "eddie")
    assert r.code == 404, r.body
    assert b"no-such:extension" in r.body or b"not found" in r.body.lower()

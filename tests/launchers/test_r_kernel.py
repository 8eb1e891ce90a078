"""An R kernel in JupyterLab spaces (issue #13), with real processes.

Where R and IRkernel are installed (Debian: ``r-cran-irkernel``, which puts IRkernel's
kernelspec at ``/usr/share/jupyter/kernels/ir``), a started space lists the kernel "R"
(what JupyterLab's launcher shows), runs R code in it as the space's uid through the
domain's proxy, and co-edits an R notebook as it does a Python one. Skipped only where
``R`` is absent; R without IRkernel is a failure (``scripts/install-test-deps.sh``
installs both).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time

import httpx
import pytest

from jupyter_spaces.domain.auth import SETTINGS_KEY
from jupyter_spaces.domain.schemas import MemberPut, SpaceCreate
from jupyter_spaces.domain.service import SYSTEM
from jupyter_spaces.launchers import environments, spaceserver
from jupyter_spaces.launchers.base import Image
from jupyter_spaces.signing import sign_request
from tests.domain.conftest import Client, make_users
from tests.domainconfig import domain_server_config, lifecycle_running
from tests.domain.kernels import run_code
from tests.installed import make_venv

pytestmark = pytest.mark.slow


def host_kernelspecs() -> dict:
    """The kernelspecs the domain's environment finds (asked in a clean environment: the
    test server's fixtures redirect Jupyter's paths in this process)."""
    cp = subprocess.run([sys.executable, "-m", "jupyter", "kernelspec", "list", "--json"], capture_output=True,
                        text=True, timeout=60, check=True, env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"})
    return json.loads(cp.stdout)["kernelspecs"]


@pytest.fixture
def jp_server_config(tmp_path, installed_python):
    """A domain whose spaces run on the project installed in a venv (tests/conftest.py)."""
    return domain_server_config(tmp_path / "domain", python=installed_python, domain={"poll_interval": 0.5})


@pytest.fixture
def client(http_server_client, jp_base_url, jp_serverapp):
    return Client(http_server_client, jp_base_url)


@pytest.fixture
def domain(jp_serverapp, jp_asyncio_loop):
    """The domain (lifecycle running); no space outlives the test."""
    domain = jp_serverapp.web_app.settings[SETTINGS_KEY]
    lifecycle = domain.lifecycle
    for _ in lifecycle_running(lifecycle, jp_asyncio_loop):
        yield domain


async def start_space(client, domain, name: str) -> dict:
    make_users(domain.service, client)
    domain.service.create_space(SYSTEM, SpaceCreate(name=name, sharing="shared", app_type="jupyterlab"), owner="alice")
    domain.service.put_member(SYSTEM, name, "vera", MemberPut(role="viewer"))
    r = await client.api("POST", f"spaces/{name}/start", who="owner")
    assert r.status == 202, r.text
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        space = (await client.api("GET", f"spaces/{name}", who="owner")).json()
        if space["status"] in ("running", "failed"):
            assert space["status"] == "running", space["failure_reason"]
            return space
        await asyncio.sleep(0.25)
    pytest.fail(f"space {name} did not start: {space}")


R_NOTEBOOK = {
    "nbformat": 4, "nbformat_minor": 5,
    "metadata": {
        "kernelspec": {"name": "ir", "display_name": "R", "language": "R"},
        "language_info": {"name": "R", "file_extension": ".r", "mimetype": "text/x-r-source"},
    },
    "cells": [{"cell_type": "code", "id": "c1", "source": "", "metadata": {}, "outputs": [],
               "execution_count": None}],
}  # fmt: skip


@pytest.mark.skipif(shutil.which("R") is None, reason="R is not installed")
async def test_an_r_kernel_in_a_space_runs_r_and_its_notebook_is_co_edited(client, domain, jp_http_port, jp_base_url):
    assert "ir" in host_kernelspecs(), "R is installed but IRkernel is not: run scripts/install-test-deps.sh"
    await start_space(client, domain, "r-space")

    # JupyterLab's launcher shows what GET api/kernelspecs lists, with the logo from the spec
    r = await client.request("GET", "spaces/r-space/api/kernelspecs", who="editor")
    assert r.status == 200, r.text
    specs = r.json()["kernelspecs"]
    assert specs["ir"]["spec"]["display_name"] == "R" and specs["ir"]["spec"]["language"] == "R"
    assert "python3" in specs
    r = await client.request("GET", "spaces/r-space/kernelspecs/ir/logo-64x64.png", who="editor")
    assert r.status == 200 and r.body.startswith(b"\x89PNG")

    # R code runs, as the space's own uid, with the space's volume as its home
    out = await run_code(client, jp_http_port, "r-space", "editor", "cat(1 + 1)", kernel="ir")
    assert out["error"] is None and out["stdout"] == "2", out
    code = ('cat(Sys.getenv("HOME"), system("id -u", intern = TRUE), file.access(R.home(), 2),'
            ' path.expand(Sys.getenv("R_LIBS_USER")), sep = "\\n")')
    out = await run_code(client, jp_http_port, "r-space", "editor", code, kernel="ir")
    assert out["error"] is None, out
    uid = domain.lifecycle._running["r-space"]["uid"]
    home, seen_uid, writable, user_lib = out["stdout"].split()
    assert [home, seen_uid, writable] == ["/home/jovyan", str(uid), "-1"], out  # R itself is read-only
    assert user_lib.startswith("/home/jovyan/R/"), out  # a user's packages go on the volume
    # a viewer may not run it
    r = await client.request("POST", "spaces/r-space/api/kernels", who="viewer", body={"name": "ir"})
    assert r.status == 403, r.text

    # an R notebook is co-edited like a Python one
    from tests.collab.client import CollabClient, wait_until

    r = await client.request("PUT", "spaces/r-space/api/contents/analysis.ipynb", who="owner",
                             body={"type": "notebook", "content": R_NOTEBOOK})  # fmt: skip
    assert r.status == 201, r.text
    base = f"http://127.0.0.1:{jp_http_port}{jp_base_url}spaces/r-space/"
    alice = await CollabClient(base, "analysis.ipynb", token=client.tokens["owner"]).open()
    eddie = await CollabClient(base, "analysis.ipynb", token=client.tokens["editor"]).open()
    try:
        assert alice.model.get()["metadata"]["kernelspec"]["name"] == "ir"

        def sources():
            return [c.model.ycells[0]["source"].to_py() for c in (alice, eddie)]

        # each writes a line once the other's is there (so the cell runs in order)
        written = ""
        for who, line in ((alice, "x <- c(1, 2, 3)\n"), (eddie, "cat(mean(x))\n")):
            with who.doc.transaction():
                source = who.model.ycells[0]["source"]
                source += line
            written += line
            await wait_until(lambda: sources() == [written, written])  # noqa: B023
        saved = await alice.save()
        assert saved.get("status") in ("success", "skipped"), saved
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            r = await client.request("GET", "spaces/r-space/api/contents/analysis.ipynb", who="viewer")
            nb = r.json()["content"]
            if "cat(mean(x))" in nb["cells"][0]["source"]:
                break
            await asyncio.sleep(0.3)
        assert nb["cells"][0]["source"] == sources()[0]
        assert nb["metadata"]["kernelspec"]["name"] == "ir"
    finally:
        for c in (alice, eddie):
            await c.disconnect()

    # the co-edited cell runs in R
    out = await run_code(client, jp_http_port, "r-space", "owner", nb["cells"][0]["source"], kernel="ir")
    assert out["error"] is None and out["stdout"] == "2", out



def _kernel(prefix, name: str, program: str) -> None:
    d = os.path.join(prefix, "share", "jupyter", "kernels", name)
    os.makedirs(d)
    with open(os.path.join(d, "kernel.json"), "w") as f:
        json.dump({"argv": [program, "{connection_file}"], "display_name": name, "language": "x"}, f)


@pytest.fixture
def image_with_kernels(tmp_path, project_wheel):
    """An image (a fresh venv with the project's wheel) whose prefix holds kernelspecs: one
    a space can run, and three it cannot (R under /opt that is not there, a program outside
    the sandbox, a program on no PATH)."""
    venv = tmp_path / "img"
    make_venv(venv, project_wheel)
    outside = tmp_path / "outside"
    outside.mkdir()
    for d in (venv / "share" / "jupyter" / "kernels" / "here", outside):
        d.mkdir(parents=True, exist_ok=True)
        (d / "run").write_text("#!/bin/sh\nexit 0\n")
        (d / "run").chmod(0o755)
    with open(venv / "share" / "jupyter" / "kernels" / "here" / "kernel.json", "w") as f:
        json.dump({"argv": ["{resource_dir}/run", "{connection_file}"], "display_name": "Here", "language": "x"}, f)
    _kernel(venv, "ghost-r", "/opt/no-such-R/lib/R/bin/R")
    _kernel(venv, "outside", str(outside / "run"))
    _kernel(venv, "nowhere", "no-such-program-in-any-space")
    return Image("kernels", "Kernels", "", str(venv / "bin" / "python"))


async def test_kernelspecs_a_space_cannot_run_are_not_offered(require_root_sandbox, spec, image_with_kernels):
    launcher = require_root_sandbox
    image = await launcher.check_image(image_with_kernels.python)
    path = launcher._env({}, image, launcher.home_dir, "k")["PATH"].split(":")
    seen = image.kernelspecs(path)
    assert seen["here"] is None and seen["python3"] is None
    assert "/opt/no-such-R/lib/R/bin/R is not there" in seen["ghost-r"]
    assert "outside/run is not there" in seen["outside"]
    assert "no-such-program-in-any-space is not on a space's PATH" in seen["nowhere"]
    s = dataclasses.replace(spec("kernels"), image=image_with_kernels)
    launched = await launcher.start(s, lambda pct, msg: None)
    try:
        path = "/spaces/kernels/api/kernelspecs"
        who = {"name": "alice", "display_name": "Alice", "initials": "A", "color": "#ff0000", "role": "owner"}
        async with httpx.AsyncClient(trust_env=False, timeout=30) as c:
            r = await c.get(launched.url + path, headers=sign_request(s.secret, "kernels", "GET", path, who))
        assert r.status_code == 200, r.text
        offered = set(r.json()["kernelspecs"])
        # the system's kernels are there as well: IRkernel's where R is installed
        assert offered == {"python3", "here", *(["ir"] if "ir" in host_kernelspecs() else [])}
    finally:
        await launcher.stop("kernels", launched.state)


def test_a_space_on_an_image_whose_kernels_all_run_gets_no_kernel_config(launcher, installed_python):
    image = asyncio.run(environments.probe(installed_python))
    path = launcher._env({}, image, launcher.home_dir, "k")["PATH"].split(":")
    assert all(why is None for why in image.kernelspecs(path).values())
    assert spaceserver.kernel_config("k", image, path, launcher.host.sandbox, launcher.log) == {}

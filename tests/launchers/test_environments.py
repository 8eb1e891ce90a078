"""Spaces from the Python environments users install into (issue #13), with real processes.

The project is installed the way a user installs it: built once per session into a
wheel (``pip install <checkout>`` builds the same one), then installed non-editable
into fresh venvs with its dependencies. A domain runs from each venv (``jupyter
spaces``), starts a space and serves its owner through the proxy:

- a venv with a symlinked interpreter under ``/srv`` (its base Python, here under
  ``/root/.pyenv``, must be visible in the sandbox, and nothing else of ``/root``);
- a venv whose interpreter is a copy (what conda environments look like) under ``/tmp``
  (the sandbox's private ``/tmp`` must not hide it);
- a venv without jupyter_spaces: ``GET images`` says it cannot run and why, and a space
  on it ends ``failed`` with the import error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import uuid

import httpx
import pytest
from tornado.httpclient import AsyncHTTPClient

from jupyter_spaces.launchers.base import LaunchError
from jupyter_spaces.launchers.local import LocalLauncher
from tests.domain.conftest import Client
from tests.domain.kernels import run_code
from tests.installed import make_venv, run as _run
from tests.processes import stop, wait_for_domain

pytestmark = pytest.mark.slow

@pytest.fixture(scope="session")
def srv_venv(project_wheel, tmp_path_factory):
    """The project in a symlinked venv outside /tmp (under /srv when we may write there)."""
    root = f"/srv/jupyter-spaces-test-{uuid.uuid4().hex[:8]}" if os.geteuid() == 0 else str(tmp_path_factory.mktemp("srv"))
    try:
        python = make_venv(os.path.join(root, "venv"), project_wheel)
        assert os.path.islink(python)
        yield python
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def broken_venv(tmp_path_factory):
    """A venv without jupyter_spaces (or JupyterLab)."""
    return make_venv(tmp_path_factory.mktemp("broken") / "venv")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Domain:
    """A domain server run from ``python``'s environment with ``jupyter spaces``."""

    def __init__(self, python, root, images=None):
        self.jupyter = os.path.join(os.path.dirname(python), "jupyter")
        self.data = root / "data"
        config = root / "config"
        config.mkdir(parents=True)
        if images:
            # (the server reads jupyter_server_config, not jupyter_spaces_config as the CLI does)
            (config / "jupyter_server_config.json").write_text(json.dumps({"DomainApp": {"images": images}}))
        self.env = {
            "PATH": f"{os.path.dirname(python)}:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(root),
            "LANG": "C.UTF-8",
            "JUPYTER_CONFIG_DIR": str(config),
            "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
        }
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"

    def cli(self, *args) -> str:
        out = _run([self.jupyter, "spaces", "--data-dir", str(self.data), *args], env=self.env, timeout=120)
        return out.stdout.strip().splitlines()[-1]

    @contextlib.contextmanager
    def running(self):
        log = open(self.data.parent / "domain.log", "w")  # noqa: SIM115
        proc = subprocess.Popen(
            [self.jupyter, "spaces", "--data-dir", str(self.data), "--ip", "127.0.0.1",
             "--port", str(self.port), "--no-browser"],
            stdout=log, stderr=subprocess.STDOUT, env=self.env,
        )  # fmt: skip
        try:
            wait_for_domain(proc, self.base, timeout=120)
            yield self
        finally:
            stop(proc)
            log.close()
            # spaces outlive their domain (it re-adopts them); these must not
            asyncio.run(LocalLauncher(volumes_dir=str(self.data / "volumes"), run_dir=str(self.data / "run")).discard())

    def api(self, method, route, token, **kw):
        return httpx.request(method, f"{self.base}/spaces/api/{route}", timeout=30,
                             headers={"Authorization": f"token {token}"}, **kw)  # fmt: skip

    def start(self, token, name, image=None, timeout=150) -> dict:
        body = {"name": name, "sharing": "private", "app_type": "jupyterlab", "volume_gb": 1}
        r = self.api("POST", "spaces", token, json={**body, **({"image": image} if image else {})})
        assert r.status_code == 201, r.text
        started = time.monotonic()
        assert self.api("POST", f"spaces/{name}/start", token).status_code == 202
        while time.monotonic() - started < timeout:
            space = self.api("GET", f"spaces/{name}", token).json()
            if space["status"] in ("running", "failed"):
                space["took"] = time.monotonic() - started
                return space
            time.sleep(0.3)
        pytest.fail(f"space {name} is still {space['status']} after {timeout} s")


def serves_its_owner(domain: Domain, token: str, name: str, image=None) -> dict:
    """Start ``name``; write and read a file and run code through the proxy, as its owner.
    Returns what the kernel saw of its environment."""
    space = domain.start(token, name, image)
    assert space["status"] == "running", space["failure_reason"]
    url = f"{domain.base}/spaces/{name}/api/contents/hello.txt"
    headers = {"Authorization": f"token {token}"}
    r = httpx.put(url, headers=headers, json={"type": "file", "format": "text", "content": "hi\n"}, timeout=30)
    assert r.status_code == 201, r.text
    r = httpx.get(url, headers=headers, timeout=30)
    assert r.status_code == 200 and r.json()["content"] == "hi\n"
    code = ("import json, os, sys\n"
            "from importlib.util import find_spec\n"
            "print(json.dumps({'prefix': sys.prefix, 'executable': sys.executable,"
            " 'root': sorted(os.listdir('/root')) if os.path.isdir('/root') else None,"
            " 'conda_only': find_spec('conda_only') is not None}))")  # fmt: skip

    async def kernel():
        client = Client(_Http(domain.port), "/", tokens={"owner": token})
        return await run_code(client, domain.port, name, "owner", code)

    out = asyncio.run(kernel())
    assert out["error"] is None and out["stdout"], out
    return json.loads(out["stdout"])


class _Http:
    """tests.domain.conftest.Client's transport, for a domain in another process."""

    def __init__(self, port):
        self.port = port

    def get_http_port(self):
        return self.port

    def fetch(self, path, **kw):
        return AsyncHTTPClient().fetch(f"http://127.0.0.1:{self.port}{path}", **kw)


def visible_root(python) -> list[str] | None:
    """What a space may see of /root: the way to a base Python under it, nothing else."""
    base = _run([python, "-c", "import sys; print(sys.base_prefix)"]).stdout.strip()
    base = os.path.realpath(base)
    return [base.split("/")[2]] if base.startswith("/root/") else None


@pytest.mark.timeout(900)
def test_a_domain_in_a_venv_serves_its_owner(srv_venv, tmp_path):
    domain = Domain(srv_venv, tmp_path)
    token = domain.cli("user", "add", "alice")
    with domain.running():
        images = domain.api("GET", "images", token).json()["items"]
        assert [(i["name"], i["available"], i["reason"]) for i in images] == [("default", True, "")]
        seen = serves_its_owner(domain, token, "work")
    venv = os.path.dirname(os.path.dirname(srv_venv))
    # the kernel runs the venv's Python (not its base interpreter), and sees nothing of /root
    # but the way to the base Python the venv's symlink leads to
    assert seen["prefix"] == venv and seen["executable"].startswith(venv + "/bin/")
    assert seen["root"] == visible_root(srv_venv)


@pytest.mark.timeout(900)
def test_a_domain_in_a_copied_interpreter_venv_under_tmp_with_a_second_image(project_wheel, srv_venv, tmp_path):
    """Also: images are distinct environments; a library of one is not in the other."""
    python = make_venv(tmp_path / "conda-like", project_wheel, copies=True)
    assert not os.path.islink(python) and python.startswith("/tmp/")
    site = _run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip()
    with open(os.path.join(site, "conda_only.py"), "w") as f:
        f.write("")
    images = [
        {"name": "default", "display_name": "Conda-like", "description": "", "python": python},
        {"name": "srv", "display_name": "Venv", "description": "", "python": srv_venv},
    ]
    domain = Domain(python, tmp_path / "domain", images)
    token = domain.cli("user", "add", "alice")
    with domain.running():
        seen = serves_its_owner(domain, token, "conda")
        other = serves_its_owner(domain, token, "other", image="srv")
    assert seen["prefix"] == str(tmp_path / "conda-like") and seen["conda_only"]
    assert other["prefix"] == os.path.dirname(os.path.dirname(srv_venv)) and not other["conda_only"]


@pytest.mark.timeout(600)
def test_an_image_that_cannot_import_the_agent_is_said_so_and_fails(srv_venv, broken_venv, tmp_path):
    images = [
        {"name": "default", "display_name": "Ours", "description": "", "python": srv_venv},
        {"name": "bare", "display_name": "Bare", "description": "no jupyter-spaces", "python": broken_venv},
    ]
    domain = Domain(srv_venv, tmp_path, images)
    token = domain.cli("user", "add", "alice")
    why = f"The image's Python {broken_venv} cannot import jupyter_spaces.space: ModuleNotFoundError"
    with domain.running():
        listed = {i["name"]: i for i in domain.api("GET", "images", token).json()["items"]}
        assert listed["default"]["available"] and listed["default"]["reason"] == ""
        assert not listed["bare"]["available"] and listed["bare"]["reason"].startswith(why)
        space = domain.start(token, "bare", image="bare")
        assert space["status"] == "failed" and space["failure_reason"].startswith(why)
        assert space["took"] < 60  # the launcher's start_timeout


# ------------------------------------------------ "running" means the agent answers


async def test_a_server_without_its_agent_is_failed_not_running(make_launcher, spec):
    """Whatever keeps the agent from loading, the launcher's signed request finds out."""
    launcher = make_launcher(extra_args=["--ServerApp.jpserver_extensions=jupyter_spaces.space=False"])
    with pytest.raises(LaunchError, match="runs without its agent"):
        await launcher.start(spec("agentless"), lambda pct, msg: None)
    assert launcher._read_state_file("agentless") == {}  # cleaned up (rule 2)


async def test_a_server_without_the_collaboration_asked_for_is_failed(make_launcher, spec):
    launcher = make_launcher(extra_args=["--ServerApp.jpserver_extensions=jupyter_spaces.collab=False"])
    collab = {"ServerApp": {"jpserver_extensions": {"jupyter_spaces.collab": True}}}
    with pytest.raises(LaunchError, match=r"without its collaboration service \(jupyter_spaces.collab\)"):
        await launcher.start(spec("solo", agent_config=collab), lambda pct, msg: None)


# --------------------------------------------------------- what the sandbox shows


def test_an_environment_binds_its_own_directories_only():
    from jupyter_spaces.launchers.environments import PACKAGE_DIR, Environment

    base = "/root/.pyenv/versions/3.11.7"  # (need not exist: nothing here resolves)
    venv = Environment("/opt/v/bin/python", ("/opt/v", base), "/opt/v/lib/python3.11/site-packages/jupyter_spaces")
    assert venv.binds() == [("/opt/v", "/opt/v"), (base, base)] and not venv.editable
    editable = Environment(f"{base}/bin/python3", (base,), "/work/checkout/jupyter_spaces")
    assert editable.binds() == [(base, base), ("/work/checkout/jupyter_spaces", f"{PACKAGE_DIR}/jupyter_spaces")]
    run = editable.module_command("m", ["--x"])
    assert run[:3] == [f"{base}/bin/python3", "-I", "-c"] and PACKAGE_DIR in run[3] and run[4:] == ["--x"]
    assert venv.module_command("m", ["--x"]) == ["/opt/v/bin/python", "-I", "-m", "m", "--x"]
    assert Environment("/usr/bin/python3", ("/usr",), "/usr/lib/python3/dist-packages/jupyter_spaces").binds() == []

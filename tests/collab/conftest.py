"""Fixtures for the collaboration service: an in-process server (pytest-jupyter) and
real server subprocesses (for restarts and kill -9), with a header-driven identity
provider and authorizer so a test can be several users with different roles."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.installed import installed_env, pythonpath_of_tests

TOKEN = "collab-test-token"


def roles_config() -> dict:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_spaces.collab": True},
            "identity_provider_class": "tests.collab.auth.HeaderIdentityProvider",
            "authorizer_class": "tests.collab.auth.HeaderRoleAuthorizer",
        },
        "IdentityProvider": {"token": TOKEN},
        "CollabService": {"save_delay": 0.2, "file_poll_interval": 0.2, "room_idle_timeout": 2.0},
    }


@pytest.fixture
def jp_server_config():
    from traitlets.config import Config

    return Config(roles_config())


@pytest.fixture
def base_url(jp_serverapp, http_server_client, jp_http_port, jp_base_url):
    return f"http://127.0.0.1:{jp_http_port}{jp_base_url}"


def headers(user: str = "alice", role: str = "editor") -> dict[str, str]:
    return {"Authorization": f"token {TOKEN}", "X-Test-User": user, "X-Test-Role": role}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """`jupyter server` with the extension, as a real subprocess on ``python`` (the
    project installed in a venv: tests/conftest.py's installed_python)."""

    def __init__(self, python: str, root: Path, store: Path, **collab: object) -> None:
        self.python, self.root, self.store, self.collab = python, root, store, collab
        self.proc: subprocess.Popen | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self, timeout: float = 60) -> ServerProcess:
        self.port = self.port or free_port()
        cfg = roles_config()
        cfg["CollabService"].update({"store_path": str(self.store), **self.collab})
        cfg["ServerApp"].update(
            {"port": self.port, "ip": "127.0.0.1", "open_browser": False, "root_dir": str(self.root),
             "allow_root": True}
        )
        # only what the test needs: faster start on a busy machine
        for ext in ("jupyterlab", "jupyter_lsp", "notebook_shim", "jupyter_server_terminals"):
            cfg["ServerApp"]["jpserver_extensions"][ext] = False
        cfg_file = self.store.parent / f"server_config_{self.port}.json"
        cfg_file.write_text(json.dumps(cfg))
        # tests.collab.auth (the roles' identity provider), and nothing else of the checkout
        env = installed_env(pythonpath=pythonpath_of_tests(self.store.parent / "pythonpath"))
        env["JUPYTER_PLATFORM_DIRS"] = "1"
        self.log = open(self.store.parent / f"server_{self.port}.log", "w")
        self.proc = subprocess.Popen(
            [self.python, "-m", "jupyter_server", f"--config={cfg_file}"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=str(self.root),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.read_log()}")
            try:
                req = urllib.request.Request(self.url + "api/status", headers={"Authorization": f"token {TOKEN}"})
                urllib.request.urlopen(req, timeout=2).read()
                return self
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(self.read_log())

    def read_log(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return (self.store.parent / f"server_{self.port}.log").read_text()

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self.log.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if not self.log.closed:
            self.log.close()


@pytest.fixture
def server_factory(tmp_path, installed_python):
    started: list[ServerProcess] = []

    def make(**collab: object) -> ServerProcess:
        root = tmp_path / "root"
        root.mkdir(exist_ok=True)
        store = tmp_path / "store"
        store.mkdir(exist_ok=True)
        s = ServerProcess(installed_python, root, store, **collab)
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()

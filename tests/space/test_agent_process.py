"""A real `jupyter lab` space server started the way the launcher starts it."""

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from jupyter_spaces.signing import generate_secret, sign_request
from tests.installed import installed_env
from tests.processes import stop

from .conftest import IDENTITIES

pytestmark = pytest.mark.slow


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def agent_command(python, app, port, root, *extra):
    """The command line documented in jupyter_spaces/space/app.py, on ``python``."""
    return [
        python, "-m", app,
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.base_url=/spaces/demo/",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.jpserver_extensions", "jupyter_spaces=False",
        "--ServerApp.jpserver_extensions", "jupyter_spaces.space=True",
        "--SpaceAgentApp.space_name=demo",
        *extra,
    ]  # fmt: skip


@pytest.fixture
def env(tmp_path):
    """For a space server on installed_python (the project installed in a venv,
    tests/conftest.py): no checkout on its path; run it with cwd=tmp_path."""
    env = installed_env()
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / "config")
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")
    env["JUPYTER_DATA_DIR"] = str(tmp_path / "data")
    env.pop("JUPYTER_TOKEN", None)
    return env


def get(port, path, headers=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_until_listening(proc, port, deadline=90):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        assert proc.poll() is None, "space server exited"
        try:
            return get(port, "/spaces/demo/api/status")
        except OSError:
            time.sleep(0.2)
    raise AssertionError("space server did not listen in time")


@pytest.mark.timeout(180)
def test_jupyter_lab_with_secret_fd(tmp_path, env, installed_python):
    secret = generate_secret()
    root = tmp_path / "volume"
    root.mkdir()
    port = free_port()
    read_end, write_end = os.pipe()
    os.write(write_end, secret.encode())
    os.close(write_end)
    pipe_inode = os.fstat(read_end).st_ino
    cmd = agent_command(installed_python, "jupyterlab", port, root, f"--SpaceAgentApp.secret_fd={read_end}")
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, pass_fds=(read_end,), stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    os.close(read_end)
    try:
        code, _ = wait_until_listening(proc, port)
        assert code == 403
        # A direct connection gets 403 on pages too, never a login form.
        assert get(port, "/spaces/demo/lab")[0] == 403

        def signed(path, role="viewer"):
            return get(port, path, sign_request(secret, "demo", "GET", path, IDENTITIES[role]))

        code, body = signed("/spaces/demo/lab")
        assert code == 200
        assert b"JupyterLab" in body
        code, body = signed("/spaces/demo/api/me")
        assert json.loads(body)["identity"]["display_name"] == "The Viewer"
        # The secret is neither in the server's environment nor on its command line,
        # so kernels and terminals (which inherit the environment) do not get it.
        proc_dir = Path(f"/proc/{proc.pid}")
        if proc_dir.exists():
            assert secret.encode() not in (proc_dir / "environ").read_bytes()
            assert secret.encode() not in (proc_dir / "cmdline").read_bytes()
            # and the inherited descriptor was closed after reading.
            fds = {os.readlink(fd) for fd in (proc_dir / "fd").iterdir()}
            assert f"pipe:[{pipe_inode}]" not in fds
    finally:
        stop(proc)
        log.close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "extra, complaint",
    [
        ([], "set exactly one of SpaceAgentApp.secret_fd and SpaceAgentApp.secret_file"),
        (["--SpaceAgentApp.secret_file=/nonexistent/secret"], "cannot read the space secret"),
        (["--SpaceAgentApp.secret_file={weak}"], "at least 16 bytes"),
    ],
    ids=["no-secret", "unreadable", "weak"],
)
def test_refuses_to_start_without_a_usable_secret(tmp_path, env, installed_python, extra, complaint):
    weak = tmp_path / "weak"
    weak.write_text("short")
    extra = [arg.format(weak=weak) for arg in extra]
    proc = subprocess.run(
        agent_command(installed_python, "jupyter_server", free_port(), tmp_path, *extra),
        env=env,
        cwd=tmp_path,
        capture_output=True,
        timeout=90,
        check=False,
    )
    assert proc.returncode == 1
    assert complaint in proc.stderr.decode()
    assert "refusing to start the space server" in proc.stderr.decode()

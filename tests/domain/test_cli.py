"""`jupyter spaces user|space ...` on a data directory, with and without a running server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time

import httpx
import pytest

from tests.installed import installed_env
from tests.processes import wait_for_domain


@pytest.fixture
def jupyter_spaces(installed_python) -> list[str]:
    """`jupyter spaces`, as the README has it, from the venv the project is installed in
    (tests/conftest.py; jupyter_core finds the installed jupyter-spaces beside itself)."""
    return [os.path.join(os.path.dirname(installed_python), "jupyter"), "spaces"]


@pytest.fixture
def cli(jupyter_spaces, tmp_path):
    def cli(data_dir, *args, check=True, stdin=None):
        proc = subprocess.run(
            [*jupyter_spaces, "--data-dir", str(data_dir), *args],
            capture_output=True, text=True, input=stdin, timeout=60, cwd=tmp_path, env=installed_env(),
        )
        if check:
            assert proc.returncode == 0, proc.stderr
        return proc

    return cli


def last_line(proc) -> str:
    return proc.stdout.strip().splitlines()[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_without_a_server(tmp_path, cli):
    token = last_line(cli(tmp_path, "user", "add", "ada", "--admin", "--display-name", "Ada Lovelace"))
    assert len(token) >= 40
    cli(tmp_path, "user", "add", "bob", "--password-stdin", stdin="a long enough password\n")
    listing = cli(tmp_path, "user", "list").stdout
    assert "ada" in listing and "Ada Lovelace" in listing and "bob" in listing
    second = last_line(cli(tmp_path, "user", "token", "bob"))
    assert second != token and len(second) >= 40
    space = json.loads(cli(tmp_path, "space", "create", "bobs-space", "--owner", "bob", "--sharing", "shared").stdout)
    assert space["owner"] == "bob" and space["status"] == "stopped"
    assert "bobs-space" in cli(tmp_path, "space", "list").stdout
    # Errors are one clear line on stderr with a non-zero exit.
    dup = cli(tmp_path, "space", "create", "bobs-space", "--owner", "bob", check=False)
    assert dup.returncode == 1 and "taken" in dup.stderr
    bad = cli(tmp_path, "user", "add", "Not Valid", check=False)
    assert bad.returncode == 2 and "name" in bad.stderr
    owns = cli(tmp_path, "user", "remove", "bob", check=False)
    assert owns.returncode == 1 and "owns 1 space" in owns.stderr
    cli(tmp_path, "space", "delete", "bobs-space")
    cli(tmp_path, "user", "remove", "bob")
    last_admin = cli(tmp_path, "user", "remove", "ada", check=False)
    assert last_admin.returncode == 1 and "administrator" in last_admin.stderr
    assert "bob" not in cli(tmp_path, "user", "list").stdout


@pytest.mark.slow
def test_cli_beside_a_running_server(tmp_path, cli, jupyter_spaces):
    port = free_port()
    jupyter_data = tmp_path / "jupyter-data"  # where the default data dir would be
    server = subprocess.Popen(
        [*jupyter_spaces, "--data-dir", str(tmp_path), "--port", str(port),
         "--ip", "127.0.0.1", "--no-browser", "--demo"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
        env={**installed_env(), "JUPYTER_DATA_DIR": str(jupyter_data)},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_domain(server, base)
        dora = last_line(cli(tmp_path, "user", "add", "dora", "--admin", "--display-name", "Dora Dev"))
        me = httpx.get(f"{base}/spaces/api/me", headers={"Authorization": f"token {dora}"})
        assert me.status_code == 200 and me.json()["admin"] and me.json()["display_name"] == "Dora Dev"
        token = last_line(cli(tmp_path, "user", "add", "carol"))
        headers = {"Authorization": f"token {token}"}
        me = httpx.get(f"{base}/spaces/api/me", headers=headers)
        assert me.status_code == 200 and me.json()["name"] == "carol"
        assert "carol" in cli(tmp_path, "user", "list").stdout
        second = last_line(cli(tmp_path, "user", "token", "carol"))
        me = httpx.get(f"{base}/spaces/api/me", headers={"Authorization": f"token {second}"})
        assert me.status_code == 200 and me.json()["name"] == "carol"
        cli(tmp_path, "space", "create", "cli-made", "--owner", "carol", "--sharing", "shared")
        made = httpx.get(f"{base}/spaces/api/spaces/cli-made", headers=headers)
        assert made.status_code == 200 and made.json()["owner"] == "carol" and made.json()["role"] == "owner"
        cli(tmp_path, "space", "delete", "cli-made")
        r = httpx.post(f"{base}/spaces/api/spaces", headers=headers,
                       json={"name": "carols", "sharing": "private", "app_type": "jupyterlab"})
        assert r.status_code == 201
        assert "carols" in cli(tmp_path, "space", "list").stdout
        cli(tmp_path, "space", "delete", "carols")
        assert httpx.get(f"{base}/spaces/api/spaces/carols", headers=headers).status_code == 404
        looked_up = time.monotonic()  # carol's token was last looked up by now
        cli(tmp_path, "user", "remove", "carol")
        # The server remembers a token's user for cache_seconds (2 s): asked until refused,
        # and refused for any request sent after that (the promise, one-sided).
        while True:
            sent = time.monotonic()
            status = httpx.get(f"{base}/spaces/api/me", headers=headers).status_code
            if status == 403:
                break
            # (404: the remembered caller's record is gone; not in openapi.yaml, issue 18)
            assert status in (200, 404) and sent - looked_up <= 2.0, (status, sent - looked_up)
            time.sleep(0.05)
        # --demo printed working one-time login links for its three users.
        link = cli(tmp_path, "user", "login-link", "grace", "--url", base).stdout.strip()
        r = httpx.get(link, follow_redirects=False)
        assert r.status_code == 302 and "Set-Cookie" in r.headers
        # Without --url: the address the running server serves (on loopback: localhost)
        link = cli(tmp_path, "user", "login-link", "grace").stdout.strip()
        assert link.startswith(f"http://localhost:{port}/login?token="), link
        r = httpx.get(link.replace("localhost", "127.0.0.1"), headers={"Host": f"localhost:{port}"})
        assert r.status_code == 302 and "Set-Cookie" in r.headers
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    assert "Ada Lovelace (admin): http://" in out and "/login?token=" in out
    assert "Grace Hopper:" in out and "Linus Pauling:" in out
    assert f"http://localhost:{port}/login?token=" in out  # the demo's links, where its spaces lead back
    assert not (tmp_path / "server-url").exists()  # gone with the server
    # The domain's state is in --data-dir, none in the default place.
    assert (tmp_path / "spaces.sqlite").is_file() and (tmp_path / "cookie_secret").is_file()
    assert not (jupyter_data / "spaces").exists()


def test_commands_after_global_options_are_commands():
    from jupyter_spaces.cli import _is_command

    assert _is_command(["--db-url", "sqlite:///x", "--data-dir", "d", "user", "add", "x"])
    assert _is_command(["--db-url=sqlite:///x", "space", "list"])
    assert _is_command(["user", "list"])
    assert not _is_command(["--data-dir", "d", "--port", "9", "--demo"])
    assert not _is_command([])

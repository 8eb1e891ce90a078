"""The domain's settings reach the server: default role of non-members, default data directory."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import httpx
import pytest
from processes import stop, wait_for_domain

from jupyter_spaces.domain.config import DomainConfig
from tests.installed import installed_env


@pytest.fixture
def jp_server_config(jp_server_config):
    jp_server_config["DomainApp"]["default_role"] = "viewer"
    return jp_server_config


async def test_non_members_get_the_configured_default_role(client, world):
    space = (await client.api("GET", "spaces/team-proj", who="other")).json()
    assert space["role"] == "viewer"
    r = await client.api("POST", "spaces/team-proj/start", who="other")
    assert r.status == 403 and r.json()["reason"] == "forbidden", r.text
    # Members keep their own role.
    assert (await client.api("GET", "spaces/team-proj", who="editor")).json()["role"] == "editor"


def test_data_dir_defaults_to_spaces_under_the_jupyter_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path))
    assert Path(DomainConfig().data_dir) == tmp_path / "spaces"


@pytest.mark.slow
def test_jupyter_spaces_starts_with_its_config_file(tmp_path, installed_python):
    """`jupyter spaces` reads jupyter_spaces_config.py (the README's config file), domain
    settings and server settings alike."""
    config_dir, data = tmp_path / "config", tmp_path / "from-config"
    config_dir.mkdir()
    (config_dir / "jupyter_spaces_config.py").write_text(
        f"c.DomainApp.data_dir = {str(data)!r}\nc.DomainApp.space_origin = 'path'\n"
        "c.ServerApp.base_url = '/configured/'\n"
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**installed_env(), "JUPYTER_CONFIG_DIR": str(config_dir), "JUPYTER_DATA_DIR": str(tmp_path / "jdata")}
    proc = subprocess.Popen(  # the domain from the venv the project is installed in (tests/conftest.py)
        [installed_python, "-m", "jupyter_spaces.cli", "--port", str(port), "--ip", "127.0.0.1", "--no-browser"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )
    try:
        wait_for_domain(proc, f"http://127.0.0.1:{port}/configured")
        assert (data / "spaces.sqlite").exists()
        # path mode: a space's address on the domain is proxied, not sent to its own origin
        r = httpx.get(f"http://127.0.0.1:{port}/configured/spaces/nope/lab", headers={"Accept": "text/html"})
        assert r.status_code in (302, 403) and "nope.localhost" not in r.headers.get("Location", "")
    finally:
        stop(proc)
        log = proc.stderr.read()
        proc.stderr.close()
    assert "path mode" in log


def test_a_domain_that_cannot_start_exits_and_says_why(tmp_path, installed_python):
    """jupyter_server serves on when an extension fails to load; a domain without its
    extension would refuse everything while looking up, so it exits with the reason."""
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "jupyter_spaces_config.py").write_text(
        f"c.DomainApp.data_dir = {str(tmp_path / 'data')!r}\n"
        "c.DomainApp.db_url = 'sqlite:////proc/no-such-dir/spaces.sqlite'\n"
    )
    env = {**installed_env(), "JUPYTER_CONFIG_DIR": str(config_dir), "JUPYTER_DATA_DIR": str(tmp_path / "jdata")}
    proc = subprocess.run(
        [installed_python, "-m", "jupyter_spaces.cli", "--port", "0", "--ip", "127.0.0.1", "--no-browser"],
        env=env, capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "the domain could not start" in proc.stderr
    assert "unable to open database file" in proc.stderr

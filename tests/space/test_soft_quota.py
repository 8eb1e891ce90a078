"""The soft quota of a directory volume: saves through Jupyter past it are a 507.

First the contents manager itself on real files (how the usage is kept between
measurements), then a real space server started with the flag the launcher
passes in directory mode, over signed HTTP.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from tornado.web import HTTPError

from jupyter_spaces.signing import generate_secret, sign_request
from jupyter_spaces.space.contents import SpaceContentsManager, human
from tests.installed import installed_env
from tests.processes import stop

from .conftest import IDENTITIES

MiB = 1 << 20


def b64(n: int, byte: bytes = b"x") -> str:
    return base64.b64encode(byte * n).decode()


def file_model(n: int) -> dict:
    return {"type": "file", "format": "base64", "content": b64(n)}


def fill(path: Path, n: int) -> None:
    """Write ``n`` bytes behind the contents manager's back (as a kernel would)."""
    with open(path, "wb") as f:
        f.write(b"k" * n)
        f.flush()
        os.fsync(f.fileno())


@pytest.fixture
def cm(tmp_path):
    root = tmp_path / "home"
    root.mkdir()
    # a long TTL: everything after the first measurement is the incremental accounting
    return SpaceContentsManager(root_dir=str(root), volume_quota_bytes=4 * MiB, volume_usage_ttl=3600)


def test_human_sizes():
    assert human(512) == "512 B"
    assert human(3 * MiB + MiB // 2) == "3.5 MiB"
    assert human(2 << 30) == "2.0 GiB"


async def test_saves_are_counted_between_measurements(cm, tmp_path):
    await cm.save(file_model(MiB + MiB // 2), "a.bin")
    await cm.save(file_model(MiB + MiB // 2), "b.bin")  # 3 MiB: under 4
    # a third would be 4.5 MiB: refused without another walk of the tree
    with pytest.raises(HTTPError) as e:
        await cm.save(file_model(MiB + MiB // 2), "c.bin")
    assert e.value.status_code == 507
    assert "3.0 MiB used of the 4.0 MiB allowed" in e.value.log_message
    assert "1.5 MiB more" in e.value.log_message
    assert not (tmp_path / "home" / "c.bin").exists()
    # overwriting with something smaller never grows the home: accepted even near the quota
    await cm.save({"type": "file", "format": "text", "content": "small"}, "a.bin")
    assert cm.usage.value < 2 * MiB
    await cm.save(file_model(MiB + MiB // 2), "c.bin")  # there is room again
    assert (tmp_path / "home" / "c.bin").stat().st_size == MiB + MiB // 2


async def test_writes_by_kernels_count_after_the_ttl(cm, tmp_path):
    cm.volume_usage_ttl = 0.2
    await cm.save(file_model(MiB), "a.bin")
    fill(tmp_path / "home" / "from-kernel.bin", 3 * MiB)  # the soft part: nothing refuses this
    await asyncio.sleep(0.3)
    with pytest.raises(HTTPError) as e:
        await cm.save(file_model(100 * 1024), "b.bin")
    assert e.value.status_code == 507
    assert "4.0 MiB used of the 4.0 MiB allowed" in e.value.log_message


async def test_upload_chunks_stop_at_the_quota(cm, tmp_path):
    chunk = {"type": "file", "format": "base64", "content": b64(MiB)}
    await cm.save({**chunk, "chunk": 1}, "upload.bin")
    await cm.save({**chunk, "chunk": 2}, "upload.bin")
    await cm.save({**chunk, "chunk": 3}, "upload.bin")
    with pytest.raises(HTTPError) as e:
        await cm.save({**chunk, "chunk": -1}, "upload.bin")
    assert e.value.status_code == 507
    assert (tmp_path / "home" / "upload.bin").stat().st_size == 3 * MiB


async def test_copies_of_files_and_folders(cm, tmp_path):
    home = tmp_path / "home"
    await cm.save(file_model(MiB + MiB // 2), "one.bin")
    await cm.copy("one.bin", "")  # 3 MiB
    assert (home / "one-Copy1.bin").exists()
    with pytest.raises(HTTPError) as e:
        await cm.copy("one.bin", "")
    assert e.value.status_code == 507
    assert not (home / "one-Copy2.bin").exists()
    # folders are copied by jupyter_server with copytree, not save(): measured first
    (home / "one-Copy1.bin").unlink()
    cm.usage.value = None  # deleted behind its back: measure again
    await cm.save({"type": "directory"}, "folder")
    await cm.save(file_model(MiB + MiB // 2), "folder/data.bin")  # 3 MiB in all
    with pytest.raises(HTTPError) as e:
        await cm.copy("folder", "")
    assert e.value.status_code == 507
    assert sorted(p.name for p in home.iterdir()) == ["folder", "one.bin"]
    (home / "one.bin").unlink()
    cm.usage.value = None
    model = await cm.copy("folder", "")
    assert (home / model["path"] / "data.bin").stat().st_size == MiB + MiB // 2
    assert 3 * MiB <= cm.usage.value < 3 * MiB + 64 * 1024


async def test_concurrent_saves_cannot_both_slip_under(cm, tmp_path):
    await cm.save(file_model(MiB), "a.bin")  # measured: 1 MiB
    results = await asyncio.gather(
        *(cm.save(file_model(MiB + MiB // 2), f"c{i}.bin") for i in range(3)), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, HTTPError)]
    assert len(refused) == 1 and refused[0].status_code == 507, results
    used = sum(p.stat().st_blocks * 512 for p in (tmp_path / "home").rglob("*"))
    assert used <= 4 * MiB + 64 * 1024


async def test_no_quota_means_no_walks(tmp_path):
    cm = SpaceContentsManager(root_dir=str(tmp_path))
    await cm.save(file_model(5 * MiB), "big.bin")
    assert getattr(cm, "_usage", None) is None


# --------------------------------------------------------------- a real server


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, port: int, secret: str):
        self.port = port
        self.secret = secret

    def request(self, method: str, path: str, body: dict | None = None, role: str = "editor"):
        path = "/spaces/demo/" + path
        headers = sign_request(self.secret, "demo", method, path, IDENTITIES[role])
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")


@pytest.fixture
def quota_server(tmp_path, installed_python):
    """A space server on the project installed in a venv (tests/conftest.py)."""
    root = tmp_path / "volume"
    root.mkdir()
    env = installed_env()  # no checkout on its path (nor as its cwd)
    for name in ("config", "runtime", "data"):
        env[f"JUPYTER_{name.upper()}_DIR"] = str(tmp_path / name)
    env["HOME"] = str(root)
    env.pop("JUPYTER_TOKEN", None)
    secret = generate_secret()
    port = _free_port()
    read_end, write_end = os.pipe()
    os.write(write_end, secret.encode())
    os.close(write_end)
    cmd = [
        installed_python, "-m", "jupyter_server", "--no-browser", "--allow-root",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        "--ServerApp.base_url=/spaces/demo/", f"--ServerApp.root_dir={root}",
        "--ServerApp.jpserver_extensions", "jupyter_spaces=False",
        "--ServerApp.jpserver_extensions", "jupyter_spaces.space=True",
        "--SpaceAgentApp.space_name=demo", f"--SpaceAgentApp.secret_fd={read_end}",
        # what LocalLauncher adds in directory mode (there: volume_gb GiB)
        f"--SpaceContentsManager.volume_quota_bytes={4 * MiB}",
        "--SpaceContentsManager.volume_usage_ttl=0.2",
    ]  # fmt: skip
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, pass_fds=(read_end,), stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    os.close(read_end)
    server = Server(port, secret)
    try:
        end = time.monotonic() + 90
        while True:
            assert proc.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if server.request("GET", "api/status")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < end, "the space server did not answer in time"
            time.sleep(0.2)
        yield server, root
    finally:
        stop(proc)
        log.close()


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_space_server_refuses_saves_past_the_soft_quota(quota_server):
    server, root = quota_server
    # under the quota: saved
    code, model = server.request("PUT", "api/contents/notes.txt",
                                 {"type": "file", "format": "text", "content": "x" * MiB})  # fmt: skip
    assert code == 201, model
    assert (root / "notes.txt").stat().st_size == MiB
    # past it: the 507 JupyterLab shows as a save error, saying what is used and allowed
    code, err = server.request("PUT", "api/contents/big.txt",
                               {"type": "file", "format": "text", "content": "y" * (4 * MiB)})  # fmt: skip
    assert code == 507, err
    assert "used of the 4.0 MiB allowed" in err["message"]
    assert "4.0 MiB more" in err["message"]
    assert not (root / "big.txt").exists()
    # a kernel can write past the quota (soft); Jupyter's saves then stop, copies too
    fill(root / "from-kernel.bin", 3 * MiB)
    time.sleep(0.3)
    code, err = server.request("PUT", "api/contents/more.txt",
                               {"type": "file", "format": "text", "content": "z" * 1024})  # fmt: skip
    assert code == 507, err
    assert "MiB used of the 4.0 MiB allowed" in err["message"]
    code, err = server.request("POST", "api/contents", {"copy_from": "notes.txt"})
    assert code == 507, err
    # saving a smaller version of a file is fine over the quota (users can trim)
    code, model = server.request("PUT", "api/contents/notes.txt",
                                 {"type": "file", "format": "text", "content": "trimmed"})  # fmt: skip
    assert code == 200, model
    # and once room is made, saves work again
    (root / "from-kernel.bin").unlink()
    time.sleep(0.3)
    code, model = server.request("PUT", "api/contents/more.txt",
                                 {"type": "file", "format": "text", "content": "z" * 1024})  # fmt: skip
    assert code == 201, model

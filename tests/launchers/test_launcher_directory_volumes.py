"""Directory volumes (``volume_mode = "directory"``, what runs without root): a soft quota.

The launcher can be put in directory mode even as root, so these run here: the
capability report says the size is soft, a real space server refuses saves past
it with 507 and accepts those under it, and resizing grows the quota or refuses
to shrink below what is stored.
"""

from __future__ import annotations

import dataclasses
import json
import os

import httpx
import pytest
from traitlets import TraitError

from jupyter_spaces.launchers.base import VolumeError, VolumeTooSmall
from jupyter_spaces.launchers.processes import descendants
from jupyter_spaces.launchers.volumes import GiB
from jupyter_spaces.signing import sign_request

MiB = 1 << 20
OWNER = {"name": "alice", "display_name": "Alice", "initials": "A", "color": "#ff0000", "role": "owner"}


def allocate(path: str, n: int) -> None:
    """Real disk blocks, instantly (as a kernel writing a big file would)."""
    with open(path, "wb") as f:
        os.posix_fallocate(f.fileno(), 0, n)


def test_volume_mode_is_validated(make_launcher):
    with pytest.raises(TraitError):
        make_launcher(volume_mode="tmpfs")


def test_capabilities_say_the_size_is_a_soft_quota(make_launcher):
    launcher = make_launcher(volume_mode="directory")
    assert launcher.volumes.mode == "directory"
    cap = next(c for c in launcher.capabilities() if c.name == "hard volume quota")
    assert cap.available is False
    assert cap.reason.startswith("volume_mode is 'directory'; ")
    assert "soft quota" in cap.reason
    assert "kernels and terminals can write past it" in cap.reason


def test_auto_mode_reports_what_it_picked(launcher):
    cap = next(c for c in launcher.capabilities() if c.name == "hard volume quota")
    if launcher.host.loop_images:
        assert launcher.volumes.mode == "image" and cap.available and "ext4 image" in cap.reason
    else:
        assert launcher.volumes.mode == "directory" and not cap.available and "soft quota" in cap.reason


async def test_directory_resize_grows_and_refuses_to_shrink_below_the_data(make_launcher):
    launcher = make_launcher(volume_mode="directory")
    await launcher.create_volume("grow", 1)
    path = launcher.volumes.dir_path("grow")
    assert launcher.volumes.size_bytes("grow") == GiB
    allocate(os.path.join(path, "data"), GiB + 100 * MiB)  # past the soft quota: nothing stopped it
    assert await launcher.volume_used_bytes("grow") >= GiB + 100 * MiB

    await launcher.resize_volume("grow", 3)
    assert launcher.volumes.size_bytes("grow") == 3 * GiB
    with pytest.raises(VolumeTooSmall) as exc:
        await launcher.resize_volume("grow", 1)
    assert exc.value.used_bytes >= GiB + 100 * MiB
    assert "1 GB" in exc.value.message
    assert launcher.volumes.size_bytes("grow") == 3 * GiB, "a refused shrink changes nothing"
    with pytest.raises(VolumeTooSmall):  # how the domain resizes (its PATCH answers 409)
        await launcher.create_volume("grow", 1)
    assert launcher.volumes.size_bytes("grow") == 3 * GiB
    await launcher.resize_volume("grow", 2)  # the data fits
    assert launcher.volumes.size_bytes("grow") == 2 * GiB
    with open(os.path.join(path, "data"), "rb") as f:
        assert len(f.read(16)) == 16  # the data is untouched
    with pytest.raises(VolumeError):
        await launcher.resize_volume("grow", 0)
    await launcher.delete_volume("grow")
    assert not os.path.exists(path)
    assert launcher.volumes.size_bytes("grow") == 0


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_space_server_enforces_the_soft_quota(make_launcher, spec):
    launcher = make_launcher(volume_mode="directory")
    s = spec("soft", volume_gb=1)
    await launcher.create_volume("soft", 1)
    home = launcher.volumes.dir_path("soft")
    # a kernel filled the directory to 1 MiB under the quota
    allocate(os.path.join(home, "filler.bin"), GiB - MiB)
    launched = await launcher.start(s, lambda pct, msg: None)
    state = launched.state
    try:
        assert state["home"] == home
        cmdlines = []
        for pid in descendants(state["pid"]):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmdlines.append(f.read().split(b"\0"))
            except OSError:
                pass
        assert any(f"--SpaceContentsManager.volume_quota_bytes={GiB}".encode() in argv for argv in cmdlines)

        async def put(name: str, content: str) -> httpx.Response:
            path = f"/spaces/soft/api/contents/{name}"
            async with httpx.AsyncClient(trust_env=False, timeout=30) as c:
                return await c.put(
                    launched.url + path,
                    headers=sign_request(s.secret, "soft", "PUT", path, OWNER),
                    content=json.dumps({"type": "file", "format": "text", "content": content}),
                )

        r = await put("too-big.txt", "x" * (2 * MiB))
        assert r.status_code == 507, r.text
        message = r.json()["message"]
        assert "The space's volume is full" in message
        assert "used of the 1.0 GiB allowed" in message and "2.0 MiB more" in message
        assert not os.path.exists(os.path.join(home, "too-big.txt"))

        r = await put("fits.txt", "y" * (100 * 1024))
        assert r.status_code == 201, r.text
        with open(os.path.join(home, "fits.txt")) as f:
            assert len(f.read()) == 100 * 1024

        with pytest.raises(VolumeError):  # resizing waits until the space is stopped
            await launcher.resize_volume("soft", 2)
    finally:
        await launcher.stop("soft", state)
    # grown while stopped: the next start passes the new quota and the save fits
    await launcher.resize_volume("soft", 2)
    launched = await launcher.start(dataclasses.replace(s, volume_gb=2), lambda pct, msg: None)
    state = launched.state
    try:
        path = "/spaces/soft/api/contents/too-big.txt"
        async with httpx.AsyncClient(trust_env=False, timeout=30) as c:
            r = await c.put(
                launched.url + path,
                headers=sign_request(s.secret, "soft", "PUT", path, OWNER),
                content=json.dumps({"type": "file", "format": "text", "content": "x" * (2 * MiB)}),
            )
        assert r.status_code == 201, r.text
    finally:
        await launcher.stop("soft", state)

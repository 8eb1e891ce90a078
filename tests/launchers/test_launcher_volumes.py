"""Volumes: sparse ext4 images, loop-mounted while used; grow, shrink, delete."""

from __future__ import annotations

import os

import pytest

from jupyter_spaces.launchers.base import VolumeTooSmall
from jupyter_spaces.launchers.volumes import GiB, mounted_at


async def test_volume_lifecycle(require_images):
    launcher = require_images
    vols = launcher.volumes
    assert vols.mode == "image"
    await launcher.create_volume("vol1", 1)
    img = vols.image_path("vol1")
    st = os.stat(img)
    assert st.st_size == GiB
    assert st.st_blocks * 512 < 200 * 2**20, "the image must be sparse"
    assert await launcher.volume_used_bytes("vol1") < 2**20

    # mount, write as the space's uid owner, unmount
    uid = launcher.uid_for("vol1")
    home = await vols.attach("vol1", uid, uid)
    assert mounted_at(home)
    assert os.stat(home).st_uid == uid
    assert not os.path.exists(os.path.join(home, "lost+found"))
    with open(os.path.join(home, "marker.txt"), "w") as f:
        f.write("hello")
    with open(os.path.join(home, "big"), "wb") as f:  # 300 MiB of real blocks, instantly
        os.posix_fallocate(f.fileno(), 0, 300 * 2**20)
    used_mounted = await launcher.volume_used_bytes("vol1")
    assert 300 * 2**20 <= used_mounted < 310 * 2**20
    await vols.detach("vol1")
    assert not mounted_at(home)
    used_unmounted = await launcher.volume_used_bytes("vol1")  # from the superblock
    assert abs(used_unmounted - used_mounted) < 2**20

    # grow: the data stays, and so does the figure (resize2fs leaves the superblock's
    # overhead at zero or stale: the ext4 metadata of 3 GiB is no user's data)
    await launcher.resize_volume("vol1", 3)
    assert os.path.getsize(img) == 3 * GiB
    assert abs(await launcher.volume_used_bytes("vol1") - used_mounted) < 2**20
    home = await vols.attach("vol1", uid, uid)
    s = os.statvfs(home)
    assert s.f_blocks * s.f_frsize > 2.8 * GiB
    with open(os.path.join(home, "big2"), "wb") as f:  # now 1.5 GB of data in all
        os.posix_fallocate(f.fileno(), 0, 1200 * 2**20)
    await vols.detach("vol1")

    # shrink below the data: refused with the bytes in use, nothing changed
    with pytest.raises(VolumeTooSmall) as exc:
        await launcher.resize_volume("vol1", 1)
    assert exc.value.used_bytes >= 1500 * 2**20
    assert "1 GB" in exc.value.message
    assert os.path.getsize(img) == 3 * GiB

    # shrink when the data fits
    home = await vols.attach("vol1", uid, uid)
    os.unlink(os.path.join(home, "big2"))
    await vols.detach("vol1")
    await launcher.resize_volume("vol1", 1)
    assert os.path.getsize(img) == GiB
    home = await vols.attach("vol1", uid, uid)
    with open(os.path.join(home, "marker.txt")) as f:
        assert f.read() == "hello"
    assert os.path.getsize(os.path.join(home, "big")) == 300 * 2**20

    # a full volume: writes fail with ENOSPC (a hard limit)
    with pytest.raises(OSError) as full:
        with open(os.path.join(home, "huge"), "wb") as f:
            os.posix_fallocate(f.fileno(), 0, 2 * GiB)
    assert full.value.errno == 28
    await vols.detach("vol1")

    # delete removes the image and leaves no loop device
    await launcher.delete_volume("vol1")
    assert not os.path.exists(img)
    assert await launcher.volume_used_bytes("vol1") == 0
    await launcher.delete_volume("vol1")  # idempotent


async def test_directory_volume_soft_quota(make_launcher):
    """Without root the volume is a directory; the size is a soft quota."""
    launcher = make_launcher(volume_mode="directory")
    await launcher.create_volume("dvol", 1)
    path = launcher.volumes.dir_path("dvol")
    assert os.path.isdir(path)
    with open(os.path.join(path, "data"), "wb") as f:
        f.write(b"x" * (3 * 2**20))
    assert await launcher.volume_used_bytes("dvol") >= 3 * 2**20
    await launcher.resize_volume("dvol", 2)
    assert launcher.volumes.size_bytes("dvol") == 2 * GiB
    await launcher.delete_volume("dvol")
    assert not os.path.exists(path)


async def test_an_image_the_host_cannot_hold_is_a_volume_error(tmp_path):
    """A file size limit (here RLIMIT_FSIZE; elsewhere a filesystem's maximum file size)
    makes truncate fail with EFBIG: a VolumeError that says so, and no image left behind."""
    import subprocess
    import sys

    code = f"""
import asyncio, logging, resource, signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (2**30, 2**30))
from jupyter_spaces.launchers.base import VolumeError
from jupyter_spaces.launchers.volumes import Volumes
vols = Volumes({str(tmp_path / 'v')!r}, {str(tmp_path / 'm')!r}, "image", logging.getLogger())
try:
    asyncio.run(vols.create("huge", 2))
except VolumeError as e:
    print(e.message)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert "cannot hold a 2 GiB volume image" in out.stdout, out
    assert os.listdir(tmp_path / "v") == []

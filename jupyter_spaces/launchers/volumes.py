"""A space's persistent volume: ext4 image (root) or quota'd directory (no root).

One job: create, attach, resize, measure and delete the volume of a space.
Sizes are in GB meaning GiB (2**30 bytes).

``image`` mode (root, loop devices, e2fsprogs present) — a hard size limit
    ``<volumes_dir>/<space>.img`` is a sparse file holding an ext4 filesystem
    (``mkfs.ext4 -m 0``: no reserved blocks, so the user gets the whole size).
    While the space runs it is loop-mounted (``nosuid,nodev,noatime``) at
    ``<mounts_dir>/<space>`` and its root directory belongs to the space's uid.
    A full volume makes writes fail with ENOSPC, which JupyterLab shows as a
    save error. Growing: ``truncate`` + ``resize2fs``; shrinking: ``e2fsck -f``,
    ``resize2fs`` to the new size if the data fits, else :class:`VolumeTooSmall`
    and nothing changes. Used bytes come from ``statvfs`` when mounted and from
    the superblock (``dumpe2fs -h``, its metadata counted from its geometry) when not —
    both exclude filesystem overhead.

``directory`` mode (no root, or ``LocalLauncher.volume_mode = "directory"``) — a soft quota
    ``<volumes_dir>/<space>/`` is a plain directory; the size is recorded in
    ``<volumes_dir>/<space>.size``. Nothing in the kernel stops a process from
    writing past it. The launcher starts the server with
    ``--SpaceContentsManager.volume_quota_bytes=<size>`` and the space agent's
    contents manager (``space/contents.py``) refuses saves through Jupyter's
    contents API that would take :func:`~jupyter_spaces.diskuse.tree_used_bytes` of the home past it
    (HTTP 507); kernels and terminals can still write past it. Growing only
    records the new size; shrinking below the data raises
    :class:`VolumeTooSmall` and changes nothing.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import stat
import subprocess

from ..diskuse import tree_used_bytes
from .base import VolumeError, VolumeTooSmall

GiB = 1 << 30


def _run(argv: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


async def run(argv: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    return await asyncio.to_thread(_run, argv, timeout)


def _fail(what: str, cp: subprocess.CompletedProcess) -> VolumeError:
    detail = (cp.stderr or cp.stdout or "").strip().splitlines()
    return VolumeError(f"{what} failed: {detail[-1] if detail else f'exit status {cp.returncode}'}")


def mounted_at(path: str) -> bool:
    path = os.path.realpath(path)
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                if line.split()[4].replace("\\040", " ") == path:
                    return True
    except OSError:
        pass
    return False


def mounts_under(directory: str) -> list[str]:
    directory = os.path.realpath(directory)
    res = []
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                mp = line.split()[4].replace("\\040", " ")
                if os.path.dirname(mp) == directory:
                    res.append(mp)
    except OSError:
        pass
    return res


class Volumes:
    """Volumes of all spaces of one launcher."""

    def __init__(self, volumes_dir: str, mounts_dir: str, mode: str, log):
        if mode not in ("image", "directory"):
            raise ValueError(mode)
        self.volumes_dir = volumes_dir
        self.mounts_dir = mounts_dir
        self.mode = mode
        self.log = log

    # ---- paths
    def image_path(self, space: str) -> str:
        return os.path.join(self.volumes_dir, f"{space}.img")

    def dir_path(self, space: str) -> str:
        return os.path.join(self.volumes_dir, space)

    def mountpoint(self, space: str) -> str:
        return os.path.join(self.mounts_dir, space)

    def exists(self, space: str) -> bool:
        if self.mode == "image":
            return os.path.isfile(self.image_path(space))
        return os.path.isdir(self.dir_path(space))

    def is_mounted(self, space: str) -> bool:
        return self.mode == "image" and mounted_at(self.mountpoint(space))

    def size_bytes(self, space: str) -> int:
        if self.mode == "image":
            try:
                return os.path.getsize(self.image_path(space))
            except OSError:
                return 0
        try:
            with open(os.path.join(self.volumes_dir, f"{space}.size")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return 0

    # ---- lifecycle
    async def create(self, space: str, size_gb: int) -> None:
        os.makedirs(self.volumes_dir, mode=0o700, exist_ok=True)
        if self.exists(space):
            if self.size_bytes(space) != size_gb * GiB:
                await self.resize(space, size_gb)
            return
        if self.mode == "directory":
            os.makedirs(self.dir_path(space), mode=0o700)
            self._write_size(space, size_gb)
            return
        img = self.image_path(space)
        tmp = img + ".new"
        try:
            with open(tmp, "wb") as f:
                _truncate(f, size_gb * GiB)  # sparse
            os.chmod(tmp, 0o600)
            cp = await run(["mkfs.ext4", "-F", "-q", "-m", "0", "-L", space[:16],
                            "-E", "lazy_itable_init=1,lazy_journal_init=1", tmp])  # fmt: skip
            if cp.returncode != 0:
                raise _fail("Creating the volume (mkfs.ext4)", cp)
            os.replace(tmp, img)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _write_size(self, space: str, size_gb: int) -> None:
        p = os.path.join(self.volumes_dir, f"{space}.size")
        with open(p + ".tmp", "w") as f:
            f.write(str(size_gb * GiB))
        os.replace(p + ".tmp", p)

    async def attach(self, space: str, uid: int | None, gid: int | None) -> str:
        """Make the volume available on the host; return the host path to bind as $HOME."""
        if not self.exists(space):
            raise VolumeError(f"The volume of space {space!r} does not exist.")
        if self.mode == "directory":
            path = self.dir_path(space)
        else:
            path = self.mountpoint(space)
            if not mounted_at(path):
                os.makedirs(path, mode=0o700, exist_ok=True)
                os.chmod(self.mounts_dir, 0o711)  # traversable (unsandboxed fallback), not listable
                await asyncio.to_thread(_ensure_free_loop_node)
                cp = await run(["mount", "-t", "ext4", "-o", "loop,nosuid,nodev,noatime",
                                self.image_path(space), path])  # fmt: skip
                if cp.returncode != 0:
                    # a dirty filesystem is repaired once, then retried
                    await run(["e2fsck", "-p", self.image_path(space)])
                    cp = await run(["mount", "-t", "ext4", "-o", "loop,nosuid,nodev,noatime",
                                    self.image_path(space), path])  # fmt: skip
                    if cp.returncode != 0:
                        raise _fail("Mounting the volume", cp)
            lf = os.path.join(path, "lost+found")
            try:
                if os.path.isdir(lf) and not os.listdir(lf):
                    os.rmdir(lf)
            except OSError:
                pass
        if uid is not None and os.geteuid() == 0:
            gid = uid if gid is None else gid
            st = os.stat(path)
            if st.st_uid != uid:
                # first start, or the space got a different uid: hand the tree over
                cp = await run(["chown", "-R", "-P", f"{uid}:{gid}", path])
                if cp.returncode != 0:
                    raise _fail("Giving the volume to the space user", cp)
            os.chmod(path, 0o700)
        return path

    async def detach(self, space: str) -> None:
        """Unmount (image mode) and free the loop device. Idempotent."""
        if self.mode != "image":
            return
        mp = self.mountpoint(space)
        for attempt in range(20):
            if not mounted_at(mp):
                break
            cp = await run(["umount", mp])
            if cp.returncode != 0 and attempt >= 10:
                await run(["umount", "-l", mp])
            elif cp.returncode != 0:
                await asyncio.sleep(0.1)
        await self._detach_loops(space)
        try:
            os.rmdir(mp)
        except OSError:
            pass

    async def _detach_loops(self, space: str) -> None:
        img = self.image_path(space)
        if not os.path.exists(img):
            return
        cp = await run(["losetup", "-j", img])
        for line in cp.stdout.splitlines():
            dev = line.split(":", 1)[0]
            if dev.startswith("/dev/"):
                await run(["losetup", "-d", dev])

    async def delete(self, space: str) -> None:
        await self.detach(space)
        if self.mode == "image":
            for p in (self.image_path(space), self.image_path(space) + ".new"):
                if os.path.exists(p):
                    os.unlink(p)
        else:
            d = self.dir_path(space)
            if os.path.isdir(d):
                await asyncio.to_thread(shutil.rmtree, d)
            try:
                os.unlink(os.path.join(self.volumes_dir, f"{space}.size"))
            except FileNotFoundError:
                pass

    async def used_bytes(self, space: str) -> int:
        if not self.exists(space):
            return 0
        if self.mode == "directory":
            return await asyncio.to_thread(tree_used_bytes, self.dir_path(space))
        mp = self.mountpoint(space)
        if mounted_at(mp):
            s = os.statvfs(mp)
            return (s.f_blocks - s.f_bfree) * s.f_frsize
        return await self._superblock_used(space)

    async def _superblock_used(self, space: str) -> int:
        cp = await run(["dumpe2fs", "-h", self.image_path(space)])
        if cp.returncode != 0:
            raise _fail("Reading the volume", cp)
        info = {}
        for line in cp.stdout.splitlines():
            k, _, v = line.partition(":")
            info[k.strip()] = v.strip()
        bs = int(info["Block size"])
        count = int(info["Block count"])
        free = int(info["Free blocks"])
        overhead = _ext4_overhead_blocks(info)
        if overhead is None:
            overhead = int(info.get("Overhead clusters", info.get("Overhead blocks", "0")) or 0)
        return max(0, (count - free - overhead) * bs)

    async def resize(self, space: str, size_gb: int) -> None:
        if size_gb < 1:
            raise VolumeError("A volume must be at least 1 GB.")
        if not self.exists(space):
            raise VolumeError(f"The volume of space {space!r} does not exist.")
        new = size_gb * GiB
        old = self.size_bytes(space)
        if self.mode == "directory":
            if new < old:
                used = await self.used_bytes(space)
                if used > new:
                    raise VolumeTooSmall(used, size_gb)
            self._write_size(space, size_gb)
            return
        if new == old:
            return
        if self.is_mounted(space):
            raise VolumeError("The volume is in use; stop the space before resizing it.")
        img = self.image_path(space)
        cp = await run(["e2fsck", "-f", "-y", img])
        if cp.returncode >= 4:
            raise _fail("Checking the volume (e2fsck)", cp)
        if new > old:
            with open(img, "r+b") as f:
                _truncate(f, new)
            cp = await run(["resize2fs", img])
            if cp.returncode != 0:
                with open(img, "r+b") as f:
                    f.truncate(old)
                raise _fail("Growing the volume (resize2fs)", cp)
            return
        # shrink: only when the data fits
        used = await self._superblock_used(space)
        cp = await run(["resize2fs", "-P", img])
        m = re.search(r"minimum size of the filesystem:\s*(\d+)", cp.stdout)
        bs = 4096
        dump = await run(["dumpe2fs", "-h", img])
        m_bs = re.search(r"^Block size:\s*(\d+)", dump.stdout, re.M)
        if m_bs:
            bs = int(m_bs.group(1))
        if used > new or (m and int(m.group(1)) * bs > new):
            raise VolumeTooSmall(used, size_gb)
        cp = await run(["resize2fs", img, f"{new // 1024}K"])
        if cp.returncode != 0:
            # resize2fs leaves the filesystem consistent when it refuses
            raise VolumeTooSmall(used, size_gb)
        with open(img, "r+b") as f:
            f.truncate(new)

    def attached(self) -> list[str]:
        """Spaces whose volume is currently mounted (image mode)."""
        return [os.path.basename(mp) for mp in mounts_under(self.mounts_dir)]


def _has_super_backup(group: int) -> bool:
    """sparse_super: groups 0, 1 and powers of 3, 5 and 7 hold a superblock copy."""
    if group <= 1:
        return True
    for base in (3, 5, 7):
        n = base
        while n < group:
            n *= base
        if n == group:
            return True
    return False


def _ext4_overhead_blocks(info: dict) -> int | None:
    """The ext4 metadata blocks (superblocks, group descriptors, bitmaps, inode tables,
    journal), as the kernel counts them for ``statvfs``; from ``dumpe2fs -h``'s fields.
    The superblock's own "Overhead clusters" is written by the kernel at a mount and is
    zero after mkfs or stale after a resize2fs, which counted metadata as the user's data.
    None for layouts this does not model (then the superblock's figure is used)."""
    features = set(info.get("Filesystem features", "").split())
    if "sparse_super" not in features or features & {"meta_bg", "sparse_super2", "bigalloc"}:
        return None
    try:
        bs = int(info["Block size"])
        first = int(info["First block"])
        per_group = int(info["Blocks per group"])
        groups = -(-(int(info["Block count"]) - first) // per_group)
        desc_size = int(info.get("Group descriptor size", "32"))
        gdt = -(-groups // (bs // desc_size))
        reserved_gdt = int(info.get("Reserved GDT blocks", "0"))
        inode_blocks = int(info["Inode blocks per group"])
        journal = int(info.get("Total journal blocks", "0")) if "has_journal" in features else 0
    except (KeyError, ValueError, ZeroDivisionError):
        return None
    supers = sum(1 for g in range(groups) if _has_super_backup(g))
    return first + supers * (1 + gdt + reserved_gdt) + groups * (2 + inode_blocks) + journal


def _truncate(f, size: int) -> None:
    """Set the image's (sparse) size; a host filesystem that cannot hold it is a VolumeError."""
    try:
        f.truncate(size)
    except OSError as e:
        raise VolumeError(
            f"The host's filesystem cannot hold a {size // GiB} GiB volume image ({e.strerror}); choose a smaller size."
        ) from e


def _ensure_free_loop_node() -> None:
    """Containers often ship only /dev/loop0-7: create the node the kernel offers next."""
    try:
        cp = _run(["losetup", "-f"], timeout=30)
    except (OSError, subprocess.SubprocessError):
        return
    dev = cp.stdout.strip()
    m = re.fullmatch(r"/dev/loop(\d+)", dev)
    if m and not os.path.exists(dev):
        try:
            os.mknod(dev, 0o660 | stat.S_IFBLK, os.makedev(7, int(m.group(1))))
        except OSError:
            pass

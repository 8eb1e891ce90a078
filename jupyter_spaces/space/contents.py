"""Saving into a space's volume: a full volume is a clear save error, never a garbled one.

jupyter_server writes atomically (a temporary file, then a rename), so a failed save
keeps the old file; but when the volume is full its error path reports the rename,
not the cause. This manager checks the free space first and, after a failure, says
what happened in terms a user can act on (HTTP 507, Insufficient Storage).

Soft quota (directory volumes)
------------------------------
When the launcher cannot give a space a filesystem of its own (no root, or
``LocalLauncher.volume_mode = "directory"``), the volume is a plain directory and
its size is a *soft* quota: the launcher starts the server with
``--SpaceContentsManager.volume_quota_bytes=<volume_gb GiB>`` and this manager
refuses, with the same 507, every save through Jupyter's contents API (a new or
overwritten file, each chunk of an upload, a copy of a file or a folder) that would
take the bytes used under the root directory past it. Saves that do not grow the
home (overwriting a file with a smaller one) are always accepted, so a user over
the quota can still trim files. It is soft: kernels, terminals and anything else
running in the space write to the directory directly and nothing stops them.

Used bytes are disk blocks (``st_blocks``, like ``du``) of the whole tree, as the
launcher measures them (:func:`~jupyter_spaces.diskuse.tree_used_bytes`).
Walking a large home on every save would be slow, so the total is measured at most
every ``volume_usage_ttl`` seconds and, in between, kept up to date by each save
through this manager (the file's blocks after the save minus before). Writes by
kernels show up at the next measurement; a save that races a measurement may be
counted once too often or not at all until the next one. That is precise enough for
a limit that is soft anyway.
"""

from __future__ import annotations

import asyncio
import os
import time

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from tornado.web import HTTPError
from traitlets import Float, Integer

from ..diskuse import tree_used_bytes

# Room kept free for the metadata and checkpoints that come with a save.
MARGIN = 256 * 1024


def _free_bytes(path: str) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def _model_size(model: dict) -> int:
    content = model.get("content")
    if content is None:
        return 0
    if isinstance(content, str):
        # base64 shrinks by a quarter; text may grow when encoded, count it as bytes
        return len(content) * 3 // 4 if model.get("format") == "base64" else len(content.encode())
    return len(repr(content))  # a notebook: its JSON is about as large


def human(n: int) -> str:
    """Bytes as a short binary-unit string: ``512 B``, ``3.2 MiB``, ``1.0 GiB``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def _disk_bytes(os_path: str) -> int:
    try:
        return os.lstat(os_path).st_blocks * 512
    except OSError:
        return 0


class _Usage:
    """Bytes used under a directory: measured at most every ``ttl`` seconds, adjusted in between."""

    def __init__(self, root: str, ttl: float):
        self.root = root
        self.ttl = ttl
        self.value: int | None = None
        self.measured_at = 0.0
        self.reserved = 0  # bytes promised to saves under way
        self._lock = asyncio.Lock()

    async def used(self) -> int:
        async with self._lock:  # one walk at a time; those who waited get its result
            if self.value is None or time.monotonic() - self.measured_at >= self.ttl:
                self.value = await asyncio.to_thread(tree_used_bytes, self.root)
                self.measured_at = time.monotonic()
            return self.value

    def adjust(self, delta: int) -> None:
        if self.value is not None:
            self.value = max(0, self.value + delta)


class SpaceContentsManager(AsyncLargeFileManager):
    volume_quota_bytes = Integer(
        0,
        config=True,
        help=(
            "Soft quota of the space's volume in bytes; 0 for none. Set by the launcher when the "
            "volume is a plain directory (no filesystem of its own to fill up): saves through the "
            "contents API (new or overwritten files, upload chunks, copies) that would take the "
            "disk usage of root_dir past it are refused with HTTP 507. Kernels and terminals can "
            "still write past it."
        ),
    )
    volume_usage_ttl = Float(
        10.0,
        config=True,
        help=(
            "Seconds a measurement of root_dir's disk usage (a walk of the whole tree) is reused "
            "for the soft quota; saves through the contents API keep it up to date in between, "
            "writes by kernels are seen at the next measurement."
        ),
    )

    @property
    def usage(self) -> _Usage:
        u = getattr(self, "_usage", None)
        if u is None or u.root != self.root_dir:
            u = self._usage = _Usage(self.root_dir, self.volume_usage_ttl)
        u.ttl = self.volume_usage_ttl
        return u

    def _full(self, needed: int) -> HTTPError:
        free = _free_bytes(self.root_dir)
        return HTTPError(
            507,
            f"The space's volume is full ({free // 1024} KiB free, about {needed // 1024} KiB needed). "
            "Delete files, or ask the space's owner to stop it and grow its volume.",
        )

    def _over_quota(self, used: int, needed: int) -> HTTPError:
        quota = self.volume_quota_bytes
        return HTTPError(
            507,
            f"The space's volume is full: {human(used)} used of the {human(quota)} allowed, "
            f"and this needs about {human(needed)} more. Delete files (including those in "
            "~/.local/share/Trash), or ask the space's owner to stop it and grow its volume.",
        )

    async def _reserve(self, growth: int) -> int:
        """Promise ``growth`` bytes to a write under way, or raise 507 past the quota."""
        if not self.volume_quota_bytes or growth <= 0:
            return 0
        used = await self.usage.used()
        u = self.usage
        # no await between the check and the reservation: concurrent saves cannot both slip in
        if used + u.reserved + growth > self.volume_quota_bytes:
            raise self._over_quota(used + u.reserved, growth)
        u.reserved += growth
        return growth

    def _growth(self, model: dict, os_path: str, needed: int) -> int:
        if model.get("type") == "directory":
            return 0
        chunk = model.get("chunk")
        if chunk is not None and chunk != 1:
            return needed  # appended to what the earlier chunks wrote
        try:
            old = os.stat(os_path).st_size  # overwritten
        except OSError:
            old = 0
        return needed - old

    async def save(self, model, path=""):
        needed = _model_size(model)
        if needed + MARGIN > _free_bytes(self.root_dir):
            raise self._full(needed)
        if not self.volume_quota_bytes:
            return await self._save(model, path, needed)
        os_path = self._get_os_path(path.strip("/"))
        reserved = await self._reserve(self._growth(model, os_path, needed))
        before = _disk_bytes(os_path)
        try:
            return await self._save(model, path, needed)
        finally:
            self.usage.reserved -= reserved
            self.usage.adjust(_disk_bytes(os_path) - before)

    async def _save(self, model, path, needed):
        try:
            return await super().save(model, path)
        except HTTPError as e:
            if e.status_code == 500 and _free_bytes(self.root_dir) < MARGIN:
                raise self._full(needed) from e
            raise

    async def copy(self, from_path, to_path=None):
        # Files are copied through save(); folders with copytree, measured here first.
        os_from = self._get_os_path(from_path.strip("/"))
        if not self.volume_quota_bytes or not os.path.isdir(os_from):
            return await super().copy(from_path, to_path)
        size = await asyncio.to_thread(tree_used_bytes, os_from) + _disk_bytes(os_from)
        reserved = await self._reserve(size)
        try:
            model = await super().copy(from_path, to_path)
        finally:
            self.usage.reserved -= reserved
        self.usage.adjust(size)
        return model

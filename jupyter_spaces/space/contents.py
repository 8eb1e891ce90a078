"""Saving into a space's volume: a full volume is a clear save error, never a garbled one.

jupyter_server writes atomically (a temporary file, then a rename), so a failed save
keeps the old file; but when the volume is full its error path reports the rename,
not the cause. This manager checks the free space first and, after a failure, says
what happened in terms a user can act on (HTTP 507, Insufficient Storage).
"""

from __future__ import annotations

import os

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from tornado.web import HTTPError

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


class SpaceContentsManager(AsyncLargeFileManager):
    def _full(self, needed: int) -> HTTPError:
        free = _free_bytes(self.root_dir)
        return HTTPError(
            507,
            f"The space's volume is full ({free // 1024} KiB free, about {needed // 1024} KiB needed). "
            "Delete files, or ask the space's owner to stop it and grow its volume.",
        )

    async def save(self, model, path=""):
        needed = _model_size(model)
        if needed + MARGIN > _free_bytes(self.root_dir):
            raise self._full(needed)
        try:
            return await super().save(model, path)
        except HTTPError as e:
            if e.status_code == 500 and _free_bytes(self.root_dir) < MARGIN:
                raise self._full(needed) from e
            raise

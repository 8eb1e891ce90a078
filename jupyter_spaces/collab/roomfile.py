"""A document room's side of its file: reading it, saving the document to it (debounced),
and merging what another program changed in it. A mixin of room.Room, whose state it
shares (the document model, the journal, the base the file and document last agreed on).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from jupyter_core.utils import ensure_async

from . import fastload
from .journal import Journal
from .merge import merge_notebook, merge_text, notebook_base, text_base

if TYPE_CHECKING:
    from .service import CollabService


class RoomFile:
    """Saving and out-of-band changes of a room's file (see room.Room for the state)."""

    service: CollabService
    log: logging.Logger
    path: str
    format: str
    model: Any
    journal: Journal
    base: dict[str, Any] | None
    pending_base: dict[str, Any] | None
    file_sig: list[int] | None
    dirty: bool
    update_seq: int
    closed: bool
    _merging: bool
    _save_handle: asyncio.TimerHandle | None
    _first_unsaved: float
    _last_change: float
    _save_lock: asyncio.Lock
    _poll_task: asyncio.Task | None
    _seen_sig: list[int] | None
    is_notebook: bool
    settle_base: Callable[[], Awaitable[None]]

    # ------------------------------------------------------------------ reading
    def _os_path(self) -> str | None:
        cm = self.service.contents_manager
        getter = getattr(cm, "_get_os_path", None)
        return getter(self.path) if getter else None

    def _stat(self) -> list[int] | None:
        p = self._os_path()
        if p is None:
            return None
        try:
            st = os.stat(p)
        except FileNotFoundError:
            return None
        return [st.st_mtime_ns, st.st_size]

    async def _read_file(self) -> Any:
        cm = self.service.contents_manager
        if self.is_notebook:
            if fastload.stock_contents_manager(cm):
                nb = await self._read_notebook_fast(cm)
                if nb is not None:
                    return nb
            model = await ensure_async(cm.get(self.path, content=True, type="notebook"))
            return model["content"]
        fmt = "base64" if self.format == "base64" else "text"
        model = await ensure_async(cm.get(self.path, content=True, type="file", format=fmt))
        return model["content"]

    async def _read_notebook_fast(self, cm: Any) -> dict[str, Any] | None:
        """What ``cm.get(path, type="notebook")["content"]`` returns, read and parsed in a
        thread without nbformat's conversion and validation (see fastload); None when
        the contents manager must do it (it then reports errors its own way)."""
        os_path = cm._get_os_path(self.path)
        notary = cm.notary
        secret, digestmod = notary.secret, notary.digestmod

        def read() -> list[Any]:
            nb = fastload.read_notebook(os_path)
            return [nb, fastload.signature(nb, secret, digestmod) if nb is not None else ""]

        try:
            box = await asyncio.to_thread(read)
        except OSError:
            return None
        # emptied, so that the executor's future does not keep the notebook alive
        nb, sig = box
        box.clear()
        if nb is None:
            return None
        trusted = bool(notary.store.check_signature(sig, notary.algorithm))
        if not trusted:
            cm.log.warning("Notebook %s is not trusted", self.path)
        fastload.mark_cells(nb, trusted)
        cm.emit(data={"action": "get", "path": self.path})
        return nb

    def _base_of(self, content: Any) -> dict[str, Any]:
        return notebook_base(content) if self.is_notebook else text_base(content)

    # ------------------------------------------------------------------ saving
    def _schedule_save(self) -> None:
        if self.closed:
            return
        loop = asyncio.get_running_loop()
        self._last_change = loop.time()
        if self._save_handle is None:
            self._first_unsaved = self._last_change
            self._save_handle = loop.call_later(self.service.save_delay, self._save_when_due)

    def _save_when_due(self) -> None:
        """Save once the document has been quiet for ``save_delay``, or ``save_max_delay``
        after the first unsaved change while people keep typing: a save holds the event
        loop for a while (serializing, validating, signing), so not on every pause."""
        loop = asyncio.get_running_loop()
        svc = self.service
        due = min(self._last_change + svc.save_delay, self._first_unsaved + max(svc.save_max_delay, svc.save_delay))
        now = loop.time()
        if now < due:
            self._save_handle = loop.call_later(due - now, self._save_when_due)
        else:
            asyncio.ensure_future(self._debounced_save())

    async def _debounced_save(self) -> None:
        self._save_handle = None
        try:
            await self.save()
        except Exception:
            self.log.exception("collab: saving %s failed; retrying later", self.path)
            if self.dirty and not self.closed:
                self._schedule_save()

    async def save(self) -> bool:
        """Write the document to its file now. Returns False if there was an error."""
        async with self._save_lock:
            if self._save_handle:
                self._save_handle.cancel()
                self._save_handle = None
            if self.closed:
                return False
            await self.check_file()  # never overwrite an out-of-band change unmerged
            if not self.dirty:
                return True
            seq = self.update_seq
            content = self.model.get()
            base = self._base_of(content)
            self.journal.set_meta(pending_base=base)
            if self.is_notebook:
                model = {"type": "notebook", "format": "json", "content": content}
            else:
                fmt = "base64" if self.format == "base64" else "text"
                model = {"type": "file", "format": fmt, "content": content}
            cm = self.service.contents_manager
            await ensure_async(cm.save(model, self.path))
            saved = await ensure_async(cm.get(self.path, content=False, require_hash=True))
            self.base = base
            self.file_sig = self._stat()
            clean = seq == self.update_seq
            self.journal.set_meta(
                base=base, file_sig=self.file_sig, pending_base=None, **({"saved": True} if clean else {})
            )
            self._merging = True  # the state flags are not content changes
            try:
                # JupyterLab compares this hash with the file's before its own saves:
                # without it, every save after ours asks "File Changed" (as the anchor does).
                if saved.get("hash"):
                    self.model.hash = saved["hash"]
                if clean and self.model.dirty:
                    self.model.dirty = False
            finally:
                self._merging = False
            if clean:
                self.dirty = False
            else:
                self._schedule_save()
            return True

    # ------------------------------------------------------------------ file changes
    async def _poll(self) -> None:
        while not self.closed:
            await asyncio.sleep(self.service.file_poll_interval)
            try:
                async with self._save_lock:
                    await self.check_file(settled=True)
            except Exception:
                self.log.exception("collab: checking %s on disk failed", self.path)

    async def check_file(self, settled: bool = False) -> bool:
        """Merge an out-of-band change of the file into the document. ``touch`` is a no-op.

        With ``settled``, a change is merged only once the file's size and mtime have
        stayed the same for one poll interval (not while another program is writing it)."""
        await self.settle_base()
        sig = self._stat()
        if sig is None or sig == self.file_sig:
            return False
        if settled and sig != self._seen_sig:
            self._seen_sig = sig
            return False
        content = await self._read_file()
        base = self._base_of(content)
        if self.pending_base is not None and base == self.pending_base:
            # our own save, interrupted before it was recorded
            changed = False
        else:
            self._merging = True
            try:
                if self.is_notebook:
                    changed = merge_notebook(self.model, content, self.base)
                else:
                    changed = merge_text(self.model, content, self.base)
            finally:
                self._merging = False
        self.base = base
        self.pending_base = None
        self.file_sig = sig
        extra = {} if self.dirty else {"saved": True}
        self.journal.set_meta(base=base, file_sig=sig, pending_base=None, **extra)
        if changed:
            self.log.info("collab: merged an out-of-band change of %s", self.path)
        return changed

"""A document room: the live CRDT document, its journal, its clients, its file.
Its clients and their awareness are awareness.AwarenessRoom's; reading, saving and
merging its file, roomfile.RoomFile's; this module loads the document and syncs it.

Invariants:
* an accepted update is appended to the journal *before* it is broadcast, and a
  connection's messages are handled in order, so the server's reply to a client's
  SyncStep1 (a SyncStep2) acknowledges every update that client sent before it;
* each broadcast message is encoded once and the same bytes go to every client;
* the file is written once the document has been quiet for ``save_delay`` seconds, and at
  most ``save_max_delay`` seconds after the first unsaved change;
* the journal's lineage id is the ``sessionId`` clients carry across reconnects: a
  client from another lineage (journal lost) is never CRDT-merged into this one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from typing import TYPE_CHECKING, Any

from jupyter_ydoc import ydocs
from pycrdt import Doc

from . import fastload
from . import protocol as P
from .awareness import AwarenessRoom, Conn
from .journal import Journal
from .memory import BIG_DOCUMENT, release_free_memory
from .merge import merge_notebook, merge_text
from .roomfile import RoomFile

if TYPE_CHECKING:
    from .service import CollabService

EMPTY_UPDATE = b"\x00\x00"
EMPTY_STATE_VECTOR = b"\x00"


def _base_source(content: Any) -> Any:
    """What the base digest of ``content`` is computed from once ``build_notebook`` has
    taken ``content`` over: it changes the cell dicts themselves, nothing below them."""
    if isinstance(content, dict) and isinstance(content.get("cells"), list):
        return {**content, "cells": [dict(c) if isinstance(c, dict) else c for c in content["cells"]]}
    return content



class Room(RoomFile, AwarenessRoom):
    def __init__(self, service: CollabService, file_id: str, path: str, fmt: str, kind: str):
        super().__init__()
        self.service = service
        self.log: logging.Logger = service.log
        self.file_id = file_id
        self.path = path
        self.format = fmt
        self.type = kind
        self.room_id = f"{fmt}:{kind}:{file_id}"
        self.doc = Doc()
        self.model: Any = None
        self.lineage = ""
        self.journal = Journal(
            os.path.join(service.journal_dir, f"{file_id}.journal"), fsync=service.journal_fsync
        )
        self.base: dict[str, Any] | None = None
        self.pending_base: dict[str, Any] | None = None
        self.file_sig: list[int] | None = None
        self.dirty = False
        self.update_seq = 0
        #: True while nobody has synced with (or written to) this freshly created lineage
        self.adoptable = False
        self._applying_remote = False
        self._merging = False
        self._save_handle: asyncio.TimerHandle | None = None
        self._first_unsaved = self._last_change = 0.0  # loop times
        self._evict_handle: asyncio.TimerHandle | None = None
        self._save_lock = asyncio.Lock()
        self._poll_task: asyncio.Task | None = None
        self._seen_sig: list[int] | None = None
        self._sub: Any = None
        #: bumped by every transaction of ``doc`` (and by replacing it)
        self._version = 0
        #: the version whose whole state is the journal's snapshot: a client with an
        #: empty document is sent it from the file (page cache) instead of re-encoding
        #: the document -- and without holding an encoded copy in memory
        self._snapshot_version = -1
        #: the snapshot just encoded by a load from the file, kept for the client that is
        #: opening the document (its first full-state reply), then dropped
        self._loaded_snapshot: bytes | None = None
        #: what the load's base digest is computed from, until it is (see _load_file)
        self._base_source: Any = None
        self._base_handle: asyncio.TimerHandle | None = None
        self._base_task: asyncio.Task | None = None
        self.closed = False

    # ------------------------------------------------------------------ loading
    @property
    def is_notebook(self) -> bool:
        return self.type == "notebook"

    def _new_model(self, doc: Doc) -> Any:
        return ydocs[self.type](doc)

    def _attach(self, doc: Doc, model: Any = None) -> None:
        if self._sub is not None:
            self.doc.unobserve(self._sub)
        self.doc = doc
        self.model = model if model is not None else self._new_model(doc)
        self._version += 1
        self._loaded_snapshot = None
        self._sub = doc.observe(self._on_transaction)

    async def load(self) -> None:
        if Journal.exists(self.journal.path):
            try:
                await self._load_journal()
                return
            except Exception:
                self.log.exception("collab: journal of %s unreadable; reloading the file", self.path)
                self.journal.close()
        await self._load_file()

    async def _load_journal(self) -> None:
        def replay() -> tuple[Any, Doc]:
            state = self.journal.load()
            doc = Doc()
            if state.snapshot:
                doc.apply_update(state.snapshot)
            for u in state.updates:
                doc.apply_update(u)
            return state, doc

        state, doc = await asyncio.to_thread(replay)
        if self.journal.size > BIG_DOCUMENT:
            await asyncio.to_thread(release_free_memory)
        meta = state.meta
        self.lineage = meta["lineage"]
        self.base = meta.get("base")
        self.pending_base = meta.get("pending_base")
        self.file_sig = meta.get("file_sig")
        self._attach(doc)
        if state.snapshot and not state.updates:
            self._snapshot_version = self._version
        if self.base is None and self.file_sig is not None and self.file_sig == self._stat():
            # Stopped before the load's base was recorded (so before any client update):
            # the file is unchanged since, so its digest is that base.
            self.base = await asyncio.to_thread(self._base_of, await self._read_file())
            self.journal.set_meta(base=self.base)
        self.dirty = state.unsaved_updates > 0
        self.log.info(
            "collab: %s restored from journal (%d updates, %d unsaved)",
            self.path, len(state.updates), state.unsaved_updates,
        )
        await self.check_file()
        if self.dirty:
            self._schedule_save()

    async def _load_file(self) -> None:
        # the signature first: a change after it is seen (and merged) by the next check
        file_sig = self._stat()
        content = await self._read_file()
        lineage = uuid.uuid4().hex

        def build() -> list[Any]:
            nonlocal content
            # off the event loop: building, encoding and journaling a big document
            source = _base_source(content)  # the build takes the content over
            doc = Doc()
            model = self._new_model(doc)
            if self.is_notebook:
                fastload.build_notebook(model, content)
            else:
                model.set(content)
            snapshot = doc.get_update()
            meta = {
                "lineage": lineage,
                "path": self.path,
                "format": self.format,
                "type": self.type,
                "file_sig": file_sig,
            }
            self.journal.create(snapshot, meta)
            self.journal.set_meta(saved=True)
            big = len(snapshot) > BIG_DOCUMENT
            content = None  # the document holds it now
            if big:
                release_free_memory()
            return [doc, model, source, snapshot]

        box = await asyncio.to_thread(build)
        doc, model, source, snapshot = box
        box.clear()  # only this frame holds the snapshot
        self._attach(doc, model)
        self._snapshot_version = self._version
        self._loaded_snapshot = snapshot
        loop = asyncio.get_running_loop()
        # not kept if the opening client never asks (nor past the first change)
        loop.call_later(5.0, self._drop_loaded_snapshot)
        self.lineage = lineage
        self.file_sig = file_sig
        self.adoptable = True
        # The base digest (hashing the whole notebook: 0.16 s for 20 MB) is not needed
        # to open the document, only to merge a change of the file: it is computed once
        # the opening client has been served, or at once when a merge, a save or the
        # first client update needs it. So the journal has it before any unsaved update:
        # a journal without it holds none, and the file then wins (see _load_journal).
        self._base_source = source
        self._base_handle = loop.call_later(self.service.base_delay, self._start_base)

    def _start_base(self) -> asyncio.Future | None:
        self._base_handle = None
        if self._base_task is None and self._base_source is not None:
            source, self._base_source = self._base_source, None
            self._base_task = asyncio.ensure_future(self._record_base(source))
        return self._base_task

    async def _record_base(self, source: Any) -> None:
        try:
            self.base = await asyncio.to_thread(self._base_of, source)
            if not self.closed:
                self.journal.set_meta(base=self.base)
        except Exception:
            # without a base, a change of the file wins over the document's cells
            self.log.exception("collab: the digest of %s failed", self.path)
        finally:
            self._base_task = None

    @property
    def base_pending(self) -> bool:
        return self._base_source is not None or self._base_task is not None

    async def settle_base(self) -> None:
        """Wait for the load's base digest (see ``_load_file``)."""
        if self._base_handle is not None:
            self._base_handle.cancel()
        task = self._start_base()
        if task is not None:
            await asyncio.shield(task)

    def start(self) -> None:
        if self.service.file_poll_interval > 0 and self._os_path() is not None:
            self._poll_task = asyncio.ensure_future(self._poll())
        if not self.clients:
            self._schedule_eviction()

    # ------------------------------------------------------------------ updates
    def _on_transaction(self, event: Any) -> None:
        """Server-side changes (file merges, the ``dirty`` flag): journal and broadcast."""
        self._version += 1
        self._loaded_snapshot = None
        if self._applying_remote or self.closed:
            return
        update = event.update
        if update == EMPTY_UPDATE:
            return
        self._journal_and_broadcast(update, None, mark_dirty=not self._merging)

    def apply_update(self, conn: Conn | None, update: bytes) -> None:
        """Apply a client's update: validate, journal, then broadcast (once-encoded).
        Never a read-only connection's: every path that gets here checks, and so does this."""
        if update == EMPTY_UPDATE:
            return
        if conn is not None and not conn.can_write:
            raise P.ProtocolError(P.CLOSE_POLICY, "read-only connection: update refused")
        self._applying_remote = True
        try:
            self.doc.apply_update(update)
        except ValueError as e:
            raise P.ProtocolError(P.CLOSE_MALFORMED, f"invalid update: {e}") from e
        finally:
            self._applying_remote = False
        self._journal_and_broadcast(update, conn, mark_dirty=True)

    def _journal_and_broadcast(self, update: bytes, origin: Conn | None, mark_dirty: bool) -> None:
        self.adoptable = False
        self.journal.append(update)
        self.update_seq += 1
        self.broadcast_frame(P.update_frame(update), exclude=origin)
        if mark_dirty:
            self.dirty = True
            self._schedule_save()
        if self.journal.needs_compaction(
            self.service.compact_min_bytes, self.service.compact_ratio
        ):
            self.compact()

    def compact(self) -> None:
        self.journal.compact(self.doc.get_update(), saved=not self.dirty)
        self._snapshot_version = self._version

    # ------------------------------------------------------------------ sync
    def reply_step1(self, state_vector: bytes) -> bytes:
        """The update a client with ``state_vector`` is missing (for its SyncStep2)."""
        if state_vector == EMPTY_STATE_VECTOR:
            self.adoptable = False
            return self.full_state()
        try:
            update = self.doc.get_update(state_vector)
        except ValueError as e:
            raise P.ProtocolError(P.CLOSE_MALFORMED, f"invalid state vector: {e}") from e
        self.adoptable = False
        return update

    def _drop_loaded_snapshot(self) -> None:
        self._loaded_snapshot = None

    def full_state(self) -> bytes:
        """The whole document as one update: the journal's snapshot while it is the
        current state (no re-encoding of a big document for each client that opens it)."""
        if self._snapshot_version == self._version:
            loaded, self._loaded_snapshot = self._loaded_snapshot, None
            if loaded is not None:
                return loaded
            try:
                return self.journal.read_snapshot()
            except OSError:
                self.log.warning("collab: snapshot of %s unreadable; encoding", self.path, exc_info=True)
                self._snapshot_version = -1
        return self.doc.get_update()

    def adopt_or_merge(self, conn: Conn, client_state: bytes) -> bool:
        """A client of another lineage sent its whole state. Returns True if adopted
        (the client carries on normally), False if merged by content (close it)."""
        tmp = Doc()
        try:
            tmp.apply_update(client_state)
        except ValueError as e:
            raise P.ProtocolError(P.CLOSE_MALFORMED, f"invalid update: {e}") from e
        tmp_model = self._new_model(tmp)
        if self.adoptable and conn.session_id:
            # Nobody has seen this lineage yet: take the client's (it holds every
            # accepted edit, including those the lost journal had) instead.
            self._applying_remote = True
            try:
                self._attach(tmp, tmp_model)
            finally:
                self._applying_remote = False
            self.lineage = conn.session_id
            self.journal.meta["lineage"] = self.lineage
            self.dirty = True
            self.journal.compact(tmp.get_update(), saved=False)
            self._snapshot_version = self._version
            self._schedule_save()
            self.adoptable = False
            self.log.info("collab: %s adopted the state of a returning client", self.path)
            return True
        content = tmp_model.get()
        if self.is_notebook:
            merge_notebook(self.model, content, self.base)
        else:
            merge_text(self.model, content, self.base)
        self.log.info("collab: %s merged the content of a client of an older session", self.path)
        return False

    def _schedule_eviction(self) -> None:
        if self._evict_handle or self.closed:
            return
        loop = asyncio.get_running_loop()
        self._evict_handle = loop.call_later(
            self.service.room_idle_timeout,
            lambda: asyncio.ensure_future(self.service.evict(self)),
        )

    def _cancel_eviction(self) -> None:
        if self._evict_handle:
            self._evict_handle.cancel()
            self._evict_handle = None

    # ------------------------------------------------------------------ closing
    async def close(self, save: bool = True) -> None:
        await self.settle_base()
        if save and self.dirty:
            try:
                await self.save()
            except Exception:
                self.log.exception("collab: saving %s on close failed", self.path)
        self.closed = True
        for h in (self._save_handle, self._evict_handle):
            if h:
                h.cancel()
        if self._poll_task:
            self._poll_task.cancel()
            try:
                await self._poll_task
            except (asyncio.CancelledError, Exception):
                pass
        if not self.dirty:
            try:
                self.journal.compact(self.doc.get_update(), saved=True)
            except OSError:
                pass
        self.journal.close()
        if self._sub is not None:
            self.doc.unobserve(self._sub)
            self._sub = None

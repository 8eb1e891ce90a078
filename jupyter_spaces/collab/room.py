"""A document room: the live CRDT document, its journal, its clients, its file.

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
import json
import logging
import os
import uuid
from typing import TYPE_CHECKING, Any, Protocol

from jupyter_core.utils import ensure_async
from jupyter_ydoc import ydocs
from pycrdt import Doc, create_awareness_message

from . import fastload
from . import protocol as P
from .journal import Journal
from .merge import merge_notebook, merge_text, notebook_base, text_base

if TYPE_CHECKING:
    from .service import CollabService

EMPTY_UPDATE = b"\x00\x00"
EMPTY_STATE_VECTOR = b"\x00"
#: bytes of encoded document above which a load gives its freed memory back to the system
BIG_DOCUMENT = 4 << 20


def release_free_memory() -> None:
    """Give the heap's free memory back to the system (glibc): loading a big document
    frees about as much as it keeps (parsed JSON, encoder buffers), which would
    otherwise stay in this process's resident set."""
    if _malloc_trim is not None:
        _malloc_trim(0)


def _libc() -> Any:
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim, libc.mallopt  # noqa: B018 -- glibc's
        return libc
    except (OSError, AttributeError):  # not glibc
        return None


_LIBC = _libc()
_malloc_trim = _LIBC.malloc_trim if _LIBC is not None else None
M_MMAP_THRESHOLD = -3


def set_mmap_threshold(nbytes: int) -> bool:
    """Allocate blocks of ``nbytes`` and more with their own mappings (glibc), so that
    freeing them gives the memory back at once. glibc raises this threshold by itself,
    up to 32 MiB, after a big block is freed: a server that had opened a big document
    then served its next big buffers from the heap, where they stayed resident once
    freed (a 20 MB notebook's room read 3.5x its size instead of 1.7x). Returns False
    where the allocator is not glibc's."""
    if _LIBC is None or nbytes <= 0:
        return False
    return bool(_LIBC.mallopt(M_MMAP_THRESHOLD, int(nbytes)))


class Conn(Protocol):
    """What a room needs from a connection (the websocket handler implements it)."""

    conn_id: int
    identity: dict[str, Any]
    can_write: bool
    session_id: str | None
    client_ids: set[int]
    pending_adoption: bool

    def send(self, message: bytes) -> None: ...
    def send_frame(self, frame: bytes) -> None: ...
    def close_with(self, code: int, reason: str) -> None: ...


class AwarenessRoom:
    """Clients + awareness relay. The global awareness room is just this; the
    identity in each state's ``user`` field is the server's, not the client's claim."""

    def __init__(self) -> None:
        self.clients: set[Conn] = set()
        # awareness: client id -> (clock, json state)
        self.awareness: dict[int, tuple[int, str]] = {}

    def broadcast(self, message: bytes, exclude: Conn | None = None) -> None:
        self.broadcast_frame(P.ws_frame(message), exclude)

    def broadcast_frame(self, frame: bytes, exclude: Conn | None = None) -> None:
        # framed once: every client is written the same bytes
        for c in list(self.clients):
            if c is not exclude and not c.pending_adoption:
                c.send_frame(frame)

    # ------------------------------------------------------------------ awareness
    def apply_awareness(self, conn: Conn, payload: bytes) -> None:
        states = P.decode_awareness(payload)
        out = []
        for client, clock, state in states:
            if state and state != "null":
                obj = json.loads(state)
                obj["user"] = conn.identity  # identity comes from the server, not the client
                state = json.dumps(obj, separators=(",", ":"))
                conn.client_ids.add(client)
                prev = self.awareness.get(client)
                if prev is None or prev[0] <= clock:
                    self.awareness[client] = (clock, state)
            else:
                state = "null"
                self.awareness.pop(client, None)
                conn.client_ids.discard(client)
            out.append((client, clock, state))
        if out:
            self.broadcast(create_awareness_message(P.encode_awareness(out)), exclude=conn)

    def awareness_snapshot(self) -> bytes | None:
        if not self.awareness:
            return None
        states = [(c, clock, s) for c, (clock, s) in self.awareness.items()]
        return create_awareness_message(P.encode_awareness(states))

    # ------------------------------------------------------------------ clients
    def add(self, conn: Conn) -> None:
        self.clients.add(conn)
        self._cancel_eviction()

    def remove(self, conn: Conn) -> None:
        self.clients.discard(conn)
        gone = [(c, self.awareness[c][0] + 1, "null") for c in conn.client_ids if c in self.awareness]
        for c, _, _ in gone:
            del self.awareness[c]
        if gone:
            self.broadcast(create_awareness_message(P.encode_awareness(gone)))
        if not self.clients:
            self._schedule_eviction()

    def _schedule_eviction(self) -> None:
        pass

    def _cancel_eviction(self) -> None:
        pass


def _base_source(content: Any) -> Any:
    """What the base digest of ``content`` is computed from once ``build_notebook`` has
    taken ``content`` over: it changes the cell dicts themselves, nothing below them."""
    if isinstance(content, dict) and isinstance(content.get("cells"), list):
        return {**content, "cells": [dict(c) if isinstance(c, dict) else c for c in content["cells"]]}
    return content


class Room(AwarenessRoom):
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

"""The collaboration service: a jupyter server extension owning the rooms."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from tornado import web
from traitlets import Bool, Float, Int, Unicode

from .awareness import AwarenessRoom
from .fileids import FileIds
from .handlers import RoomHandler, SessionHandler
from .journal import Journal
from .memory import set_mmap_threshold
from .presence import Presence
from .room import Room

CONFLICTING_EXTENSIONS = ("jupyter_server_ydoc", "jupyter_collaboration")


def conflicting_extension(serverapp: Any) -> str | None:
    """The name of an enabled extension we must not run beside, if any."""
    enabled = {k for k, v in (serverapp.jpserver_extensions or {}).items() if v}
    manager = getattr(serverapp, "extension_manager", None)
    if manager is not None:
        enabled |= {k for k, ext in manager.extensions.items() if getattr(ext, "enabled", False)}
    for name in CONFLICTING_EXTENSIONS:
        if name in enabled:
            return name
    return None


class CollabService(ExtensionApp):
    """Real-time collaboration (jupyter-collaboration's wire protocol) for a space."""

    name = "jupyter_spaces_collab"
    load_other_extensions = True

    store_path = Unicode(
        "",
        config=True,
        help="Directory for the update journals and document ids (on the space's volume). "
        "Default: <root_dir>/.jupyter_spaces/collab",
    )
    save_delay = Float(1.0, config=True, help="Seconds without a change before the document is written to its file.")
    save_max_delay = Float(
        10.0, config=True,
        help="While people keep typing, the file is still written this many seconds after the first "
        "unsaved change (every update is journaled at once either way).",
    )
    room_idle_timeout = Float(60.0, config=True, help="Seconds a room with no clients stays in memory before it is saved and freed.")
    base_delay = Float(
        1.0, config=True,
        help="Seconds after a document is loaded from its file before the digest used to merge later "
        "changes of the file is computed (not needed to open it; computed sooner when an edit, a save "
        "or a merge needs it).",
    )
    file_poll_interval = Float(1.0, config=True, help="Seconds between checks of open documents' files for out-of-band changes (0 disables).")
    max_message_size = Int(64 * 1024 * 1024, config=True, help="Largest client message accepted; bigger ones close that connection (1009).")
    journal_fsync = Bool(False, config=True, help="fsync the journal after each update (power-loss durability; process-kill durability holds without it).")
    compact_min_bytes = Int(1024 * 1024, config=True, help="A journal is never compacted below this size.")
    compact_ratio = Float(2.0, config=True, help="Compact a journal when it exceeds this multiple of its last snapshot.")
    malloc_mmap_threshold = Int(
        1024 * 1024,
        config=True,
        help="glibc: blocks of this size and more get their own mappings, returned to the system "
        "when freed (keeps the buffers of big documents from staying resident). 0 leaves the "
        "allocator's dynamic threshold alone.",
    )

    def initialize_settings(self) -> None:
        other = conflicting_extension(self.serverapp)
        if other:
            msg = (
                f"jupyter_spaces.collab refuses to load beside {other}: both serve "
                "api/collaboration and would corrupt each other's documents. Disable one "
                f"(e.g. `jupyter server extension disable {other}`)."
            )
            self.log.error(msg)
            raise RuntimeError(msg)
        if self.malloc_mmap_threshold > 0:
            set_mmap_threshold(self.malloc_mmap_threshold)
        root = self.serverapp.root_dir
        self.store_dir = self.store_path or os.path.join(root, ".jupyter_spaces", "collab")
        self.journal_dir = os.path.join(self.store_dir, "journals")
        os.makedirs(self.journal_dir, exist_ok=True)
        self.file_ids = FileIds(os.path.join(self.store_dir, "ids.sqlite"))
        self.rooms: dict[str, Room] = {}
        self._loading: dict[str, asyncio.Future] = {}
        self.global_room = AwarenessRoom()
        self.presence = Presence()
        self.settings["jupyter_spaces_collab"] = self
        self._recovery: asyncio.Task | None = None
        self.io_loop_callback()

    def io_loop_callback(self) -> None:
        from tornado.ioloop import IOLoop

        IOLoop.current().add_callback(self._start_recovery)

    def _start_recovery(self) -> None:
        self._recovery = asyncio.ensure_future(self.recover())

    def initialize_handlers(self) -> None:
        self.handlers.extend(
            [
                (r"/api/collaboration/session/(.*)", SessionHandler),
                (r"/api/collaboration/room/(.*)", RoomHandler),
            ]
        )

    @property
    def contents_manager(self) -> Any:
        return self.serverapp.contents_manager

    # ------------------------------------------------------------------ rooms
    async def get_room(self, file_id: str, fmt: str, kind: str) -> Room:
        room = self.rooms.get(file_id)
        if room is not None and not room.closed:
            if (room.format, room.type) != (fmt, kind):
                raise web.HTTPError(400, f"document is open as {room.format}:{room.type}")
            return room
        pending = self._loading.get(file_id)
        if pending is not None:
            return await asyncio.shield(pending)
        path = self.file_ids.path_of(file_id)
        if path is None:
            raise web.HTTPError(404, "unknown document")
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        self._loading[file_id] = fut
        try:
            room = Room(self, file_id, path, fmt, kind)
            await room.load()
            self.rooms[file_id] = room
            room.start()
            fut.set_result(room)
            return room
        except BaseException as e:
            fut.set_exception(e)
            fut.exception()  # mark retrieved
            raise
        finally:
            del self._loading[file_id]

    async def evict(self, room: Room) -> None:
        """Save and free a room that has had no clients for ``room_idle_timeout``."""
        if room.clients or room.closed:
            return
        if self.rooms.get(room.file_id) is room:
            del self.rooms[room.file_id]
        await room.close(save=True)
        self.log.info("collab: room %s (%s) saved and freed", room.room_id, room.path)

    async def recover(self) -> None:
        """After a crash: write to their files the documents whose journal has unsaved updates."""
        try:
            names = [n for n in os.listdir(self.journal_dir) if n.endswith(".journal")]
        except FileNotFoundError:
            return
        for name in names:
            file_id = name[: -len(".journal")]
            try:
                meta = Journal.read_meta(os.path.join(self.journal_dir, name))
                if not meta.get("unsaved_updates") or file_id in self.rooms:
                    continue
                room = await self.get_room(file_id, meta["format"], meta["type"])
                await room.save()
                self.log.info("collab: recovered unsaved edits of %s from its journal", room.path)
            except Exception:
                self.log.exception("collab: recovering journal %s failed", name)

    async def stop_extension(self) -> None:
        if not hasattr(self, "rooms"):  # refused to load
            return
        if self._recovery is not None and not self._recovery.done():
            self._recovery.cancel()
            try:
                await self._recovery
            except (asyncio.CancelledError, Exception):
                pass
        for room in list(self.rooms.values()):
            await room.close(save=True)
        self.rooms.clear()
        self.file_ids.close()

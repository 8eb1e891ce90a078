"""HTTP and websocket handlers of jupyter-collaboration's wire protocol.

* ``PUT api/collaboration/session/{path}`` -> ``{format, type, fileId, sessionId}``
* websocket ``api/collaboration/room/{format}:{type}:{fileId}[?sessionId=...]``
* websocket ``api/collaboration/room/JupyterLab:globalAwareness`` (awareness only)
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import TYPE_CHECKING, Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_ydoc import ydocs
from pycrdt import create_sync_message
from tornado import web
from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from . import protocol as P
from .presence import identity_of
from .memory import BIG_DOCUMENT, release_free_memory
from .room import EMPTY_STATE_VECTOR, EMPTY_UPDATE

if TYPE_CHECKING:
    from .room import Room
    from .service import CollabService

GLOBAL_AWARENESS = "JupyterLab:globalAwareness"
FORMATS = {"json", "text", "base64"}
_ids = itertools.count(1)


_trim_pending = False


def _release_after_flush(fut: Any) -> None:
    """After a big message left: its frame and write buffers are free; trim the heap
    (once for a burst of such messages, in a thread)."""
    global _trim_pending
    if not fut.cancelled():
        fut.exception()  # a closed connection is not an error here
    if _trim_pending:
        return
    _trim_pending = True

    def trim() -> None:
        global _trim_pending
        _trim_pending = False
        release_free_memory()

    asyncio.get_running_loop().run_in_executor(None, trim)


def _service(handler: Any) -> CollabService:
    return handler.settings["jupyter_spaces_collab"]


class SessionHandler(APIHandler):
    auth_resource = "contents"

    @web.authenticated
    async def put(self, path: str) -> None:
        if not await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, "read", "contents")
        ):
            raise web.HTTPError(403)
        body = self.get_json_body() or {}
        fmt, kind = body.get("format"), body.get("type")
        if fmt not in FORMATS or kind not in ydocs or kind == "blob" and fmt != "base64":
            raise web.HTTPError(400, f"unsupported document format/type {fmt!r}/{kind!r}")
        path = path.strip("/")
        service = _service(self)
        cm = service.contents_manager
        if not await ensure_async(cm.file_exists(path)):
            raise web.HTTPError(404, f"file {path!r} not found")
        file_id = service.file_ids.get_or_create(path)
        try:
            room = await service.get_room(file_id, fmt, kind)
        except web.HTTPError:
            raise
        except Exception as e:
            self.log.exception("collab: cannot open %s", path)
            raise web.HTTPError(500, f"cannot open {path!r}: {e}") from e
        self.set_status(201)
        self.finish(
            json.dumps({"format": fmt, "type": kind, "fileId": file_id, "sessionId": room.lineage})
        )


class RoomHandler(WebSocketMixin, WebSocketHandler, JupyterHandler):  # type: ignore[misc]
    """One client connection to one room (document or the global awareness room)."""

    auth_resource = "contents"

    # -- tornado plumbing
    @property
    def max_message_size(self) -> int:  # type: ignore[override]
        # tornado's own hard limit, above ours so that we close with a clear reason
        return _service(self).max_message_size * 2 + 4096

    def get_compression_options(self) -> None:
        return None

    @ws_authenticated
    async def get(self, room_id: str, *args: Any, **kwargs: Any) -> None:
        user = self.current_user
        if not await ensure_async(self.authorizer.is_authorized(self, user, "read", "contents")):
            raise web.HTTPError(403)
        self.can_write = bool(
            await ensure_async(self.authorizer.is_authorized(self, user, "write", "contents"))
        )
        self.identity = identity_of(user)
        res = super().get(room_id, *args, **kwargs)
        if res is not None:
            await res

    # -- Conn protocol (see awareness.Conn)
    def initialize(self) -> None:
        self.conn_id = next(_ids)
        self.client_ids: set[int] = set()
        self.pending_adoption = False
        self.session_id: str | None = None
        self.room: Room | None = None
        self.is_global = False
        self._pending_sv: bytes | None = None
        self._refusals = 0
        self._closing = False

    def send(self, message: bytes) -> Any:
        """Queue ``message``; returns the future of its flush (None if closed)."""
        if self._closing:
            return None
        try:
            return self.write_message(message, binary=True)
        except WebSocketClosedError:
            self._closing = True
            return None

    def send_frame(self, frame: bytes) -> Any:
        """Write an already framed message (see ``P.ws_frame``). tornado's
        ``write_message`` would frame (copy) it again and start a task, per client."""
        ws = self.ws_connection
        if self._closing or ws is None or ws.is_closing():
            return None
        try:
            return ws.stream.write(frame)
        except StreamClosedError:
            self._closing = True
            return None

    def _send_step2(self, update: bytes) -> None:
        """A SyncStep2 carrying ``update``. A big one (a whole document) is written in
        two pieces: joining head and update, then frame header and message, would copy
        the document twice (20 ms each for 20 MB here)."""
        head = P.sync_step2_head(len(update))
        if len(update) < BIG_DOCUMENT:
            self.send(head + update)
            return
        if self.send_frame(P.ws_frame_header(len(head) + len(update)) + head) is None:
            return
        fut = self.send_frame(update)
        if fut is not None:
            # once it has left, give the buffers back
            fut.add_done_callback(_release_after_flush)

    def close_with(self, code: int, reason: str) -> None:
        if not self._closing:
            self._closing = True
            self.log.info("collab: closing connection %s: %s %s", self.conn_id, code, reason)
            self.close(code, reason[:120])

    # -- lifecycle
    async def open(self, room_id: str, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        super().open()
        service = _service(self)
        self.session_id = self.get_argument("sessionId", None)
        if room_id == GLOBAL_AWARENESS:
            self.is_global = True
            self.room = service.global_room
            self.room.add(self)
            service.presence.join(self.conn_id, self.identity, None, self._role)
            self.send(P.STEP1_EMPTY)
            snap = self.room.awareness_snapshot()
            if snap:
                self.send(snap)
            return
        try:
            fmt, kind, file_id = room_id.split(":", 2)
        except ValueError:
            return self.close_with(P.CLOSE_BAD_REQUEST, "room id must be format:type:fileId")
        if fmt not in FORMATS or kind not in ydocs:
            return self.close_with(P.CLOSE_BAD_REQUEST, "unsupported format/type")
        if service.file_ids.path_of(file_id) is None:
            return self.close_with(P.CLOSE_NOT_FOUND, "unknown document")
        try:
            room = await service.get_room(file_id, fmt, kind)
        except web.HTTPError as e:
            return self.close_with(P.CLOSE_NOT_FOUND if e.status_code == 404 else P.CLOSE_SERVER_ERROR, str(e.log_message))
        except Exception as e:
            self.log.exception("collab: cannot open room %s", room_id)
            return self.close_with(P.CLOSE_SERVER_ERROR, f"cannot load document: {e}")
        if self._closing:
            return
        self.room = room
        room.add(self)
        service.presence.join(self.conn_id, self.identity, room.path, self._role)
        if self.session_id and self.session_id != room.lineage:
            # A client of another lineage (journal lost / file recreated): ask for its whole
            # state first, never hand it ours -- CRDT-merging two lineages duplicates content.
            self.pending_adoption = True
            self.send(P.STEP1_EMPTY)
            return
        self.send(create_sync_message(room.doc))
        snap = room.awareness_snapshot()
        if snap:
            self.send(snap)

    @property
    def _role(self) -> str:
        # In a space the signed identity carries the role (owner, editor, viewer);
        # on a plain server, what the authorizer allows is all there is.
        role = getattr(self.current_user, "role", None)
        if role:
            return role
        return "editor" if self.can_write else "viewer"

    async def on_message(self, message: Any) -> None:  # type: ignore[override]
        if self._closing or self.room is None:
            return
        service = _service(self)
        try:
            msg = P.parse(message, service.max_message_size)
            await self._handle(msg)
        except P.ProtocolError as e:
            self.close_with(e.code, e.reason)
        except Exception as e:  # a bug must not take the room down: close this one connection
            self.log.exception("collab: error handling a message")
            self.close_with(P.CLOSE_SERVER_ERROR, f"server error: {type(e).__name__}")

    async def _handle(self, msg: P.Message) -> None:
        room = self.room
        assert room is not None
        kind = msg.kind
        if self.is_global:
            if kind == "awareness":
                room.apply_awareness(self, msg.payload)
            elif kind == "step1":
                self.send(P.STEP2_EMPTY)
            return  # document messages in the awareness room are ignored
        if kind == "step1":
            if self.pending_adoption:
                self._pending_sv = msg.payload
            else:
                self._send_step2(room.reply_step1(msg.payload))
        elif kind in ("step2", "update"):
            if self.pending_adoption:
                if kind == "step2":
                    await self._adopt(room, msg.payload)
                return
            if not self.can_write:
                if msg.payload != EMPTY_UPDATE:
                    self._refuse()
                return
            if room.base_pending:
                # the journal records the load's base before the first unsaved update
                await room.settle_base()
            room.apply_update(self, msg.payload)
        elif kind == "awareness":
            room.apply_awareness(self, msg.payload)
        elif kind == "save":
            await self._save(room, msg.request_id)
        # other RAW messages (e.g. chat of older clients) are ignored

    async def _adopt(self, room: Room, state: bytes) -> None:
        if self.session_id != room.lineage and self.can_write:
            await room.settle_base()  # a merge needs the load's base (checked again below)
        if self.session_id == room.lineage:
            adopted = True  # another client of the same lineage adopted it just before
            if self.can_write:
                room.apply_update(self, state)
            # a viewer's state is not applied (issue 12, finding 9): it is served the room's
            # document below and reads on; its own changes, if any, stay its own
        elif self.can_write:
            adopted = room.adopt_or_merge(self, state)
        else:
            adopted = False
        if not adopted:
            reason = {
                "reason": "session_expired",
                "sessionId": room.lineage,
                "reloadable": True,
                "errorReason": "The document was reloaded on the server and your changes were "
                "merged into it. Reload to continue.",
            }
            self.close_with(P.CLOSE_UNSUPPORTED, json.dumps(reason))
            return
        self.pending_adoption = False
        self._send_step2(room.reply_step1(self._pending_sv or EMPTY_STATE_VECTOR))
        self.send(create_sync_message(room.doc))
        snap = room.awareness_snapshot()
        if snap:
            self.send(snap)

    def _refuse(self) -> None:
        self._refusals += 1
        if self._refusals == 1 or self._refusals % 100 == 0:
            self.send(
                P.raw_message(
                    {
                        "type": "refused",
                        "reason": "read_only",
                        "message": "You have view-only access to this space: "
                        "your changes are not saved or shared.",
                        "count": self._refusals,
                    }
                )
            )

    async def _save(self, room: Room, request_id: int) -> None:
        if not self.can_write:
            status = "failed"
        elif room._save_lock.locked():
            status = "skipped"
        else:
            try:
                status = "success" if await room.save() else "failed"
            except Exception:
                self.log.exception("collab: save of %s failed", room.path)
                status = "failed"
        self.send(P.raw_message({"type": "save", "responseTo": request_id, "status": status}))

    def on_close(self) -> None:
        self._closing = True
        service = self.settings.get("jupyter_spaces_collab")
        if service is not None:
            service.presence.leave(self.conn_id)
        if self.room is not None:
            self.room.remove(self)

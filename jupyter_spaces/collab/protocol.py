"""The wire protocol of jupyter-collaboration's provider: parsing, validation, encoding.

Message = ``varuint type`` + body:

* ``0`` SYNC: ``varuint subtype`` (0 step1, 1 step2, 2 update) + ``varbytes payload``
* ``1`` AWARENESS: ``varbytes update`` (``varuint n`` then n x ``client, clock, varstring json``)
* ``2`` RAW: ``varstring`` -- the client sends ``"save"`` + ``varuint id``; the server sends a
  JSON string (``{"type": "save", "responseTo": id, "status": ...}``,
  ``{"type": "conflict"}``, and our ``{"type": "refused", ...}`` for viewers).

The y-sync and awareness messages are pycrdt's (``create_sync_message``,
``create_update_message``, ``create_awareness_message``, ``Decoder``). What is here is
what pycrdt does not do: validate what a client sends (its ``Decoder`` reads past the
end of a truncated message without a word), relay awareness states as they came,
jupyter-collaboration's RAW messages, and websocket framing of a broadcast.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pycrdt import (
    Decoder,
    Doc,
    YMessageType,
    YSyncMessageType,
    create_sync_message,
    handle_sync_message,
    write_message,
    write_var_uint,
)

# plain ints: compared on every message
SYNC, AWARENESS = int(YMessageType.SYNC), int(YMessageType.AWARENESS)
RAW = 2  # jupyter-collaboration's, not y-protocols'
STEP1 = int(YSyncMessageType.SYNC_STEP1)
STEP2 = int(YSyncMessageType.SYNC_STEP2)
UPDATE = int(YSyncMessageType.SYNC_UPDATE)

#: SyncStep1 of an empty document: asks a client for its whole state
STEP1_EMPTY = create_sync_message(Doc())
#: SyncStep2 with nothing in it: the awareness room's answer to a SyncStep1
STEP2_EMPTY = handle_sync_message(STEP1_EMPTY[1:], Doc())

# websocket close codes
CLOSE_UNSUPPORTED = 1003  # also what the provider reads as "session expired" (JSON reason)
CLOSE_MALFORMED = 1007
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_NOT_FOUND = 4404
CLOSE_BAD_REQUEST = 4400
CLOSE_SERVER_ERROR = 4500


class ProtocolError(Exception):
    """A message that breaks the protocol: the connection is closed with ``code``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(slots=True)
class Message:
    kind: str  # "step1" | "step2" | "update" | "awareness" | "save" | "raw"
    payload: bytes = b""
    request_id: int = 0
    text: str = ""


def _uint(d: Decoder) -> int:
    try:
        return d.read_var_uint()
    except (IndexError, RuntimeError) as e:  # past the end
        raise ProtocolError(CLOSE_MALFORMED, "truncated message") from e


def _bytes(d: Decoder) -> bytes:
    try:
        payload = d.read_message()
    except (IndexError, RuntimeError) as e:  # its length is past the end
        raise ProtocolError(CLOSE_MALFORMED, "truncated message") from e
    if payload is None or d.length < 0:  # pycrdt slices short and carries on
        raise ProtocolError(CLOSE_MALFORMED, "truncated message")
    return payload


def _string(d: Decoder) -> str:
    try:
        return _bytes(d).decode("utf-8")
    except UnicodeDecodeError as e:
        raise ProtocolError(CLOSE_MALFORMED, "invalid UTF-8") from e


def parse(message: Any, max_size: int) -> Message:
    """Parse and validate one websocket message from a client."""
    if not isinstance(message, bytes):
        raise ProtocolError(CLOSE_UNSUPPORTED, "binary y-protocol messages only")
    if len(message) > max_size:
        raise ProtocolError(CLOSE_TOO_BIG, f"message of {len(message)} bytes exceeds {max_size}")
    if not message:
        raise ProtocolError(CLOSE_MALFORMED, "empty message")
    d = Decoder(message)
    mtype = _uint(d)
    if mtype == SYNC:
        sub = _uint(d)
        payload = _bytes(d)
        if sub == STEP1:
            return Message("step1", payload)
        if sub == STEP2:
            return Message("step2", payload)
        if sub == UPDATE:
            return Message("update", payload)
        raise ProtocolError(CLOSE_MALFORMED, f"unknown sync message type {sub}")
    if mtype == AWARENESS:
        return Message("awareness", _bytes(d))
    if mtype == RAW:
        text = _string(d)
        if text == "save":
            return Message("save", request_id=_uint(d) if d.length > 0 else 0)
        return Message("raw", text=text)
    raise ProtocolError(CLOSE_MALFORMED, f"unknown message type {mtype}")


def decode_awareness(update: bytes) -> list[tuple[int, int, str]]:
    """``[(client_id, clock, state_json)]``; validates that each state is JSON object or null.
    (pycrdt's ``Awareness.apply_awareness_update`` keeps states, it does not check them.)"""
    d = Decoder(update)
    n = _uint(d)
    if n > 10_000:
        raise ProtocolError(CLOSE_MALFORMED, "too many awareness states")
    out = []
    for _ in range(n):
        client, clock, state = _uint(d), _uint(d), _string(d)
        if state and state != "null":
            try:
                value = json.loads(state)
            except ValueError as e:
                raise ProtocolError(CLOSE_MALFORMED, "awareness state is not JSON") from e
            if not isinstance(value, dict):
                raise ProtocolError(CLOSE_MALFORMED, "awareness state is not an object")
        out.append((client, clock, state))
    return out


def encode_awareness(states: list[tuple[int, int, str]]) -> bytes:
    """An awareness update relaying ``states`` with their own clocks (pycrdt's ``Awareness``
    encodes the states it holds, with its clocks; and its ``Encoder.write_var_string``
    writes a string's length in characters, not bytes)."""
    parts = [write_var_uint(len(states))]
    for client, clock, state in states:
        parts += (write_var_uint(client), write_var_uint(clock), write_message(state.encode()))
    return b"".join(parts)


def ws_frame_header(length: int) -> bytes:
    """RFC 6455 5.2 header of an unmasked (server to client) binary message of ``length`` bytes."""
    if length < 126:
        return bytes((0x82, length))
    if length < 1 << 16:
        return b"\x82\x7e" + length.to_bytes(2, "big")
    return b"\x82\x7f" + length.to_bytes(8, "big")


def ws_frame(message: bytes) -> bytes:
    """``message`` as a websocket frame: built once, written to every client of a room."""
    return ws_frame_header(len(message)) + message


_UPDATE_HEAD = bytes((SYNC, UPDATE))


def update_frame(update: bytes) -> bytes:
    """``ws_frame(create_update_message(update))`` with one copy of ``update`` instead of
    three: the broadcast of every update goes through here."""
    length = write_var_uint(len(update))
    return b"".join((ws_frame_header(2 + len(length) + len(update)), _UPDATE_HEAD, length, update))


def sync_step2_head(length: int) -> bytes:
    """What precedes an update of ``length`` bytes in a SyncStep2 message: a whole document
    is written after it as it is, not copied into a message (pycrdt encodes only whole
    messages, and its SyncStep2 encoder is not public)."""
    return bytes((SYNC, STEP2)) + write_var_uint(length)


def raw_message(obj: dict[str, Any]) -> bytes:
    """A RAW message carrying ``obj`` as JSON (jupyter-collaboration's; not in y-protocols)."""
    return bytes((RAW,)) + write_message(json.dumps(obj).encode())

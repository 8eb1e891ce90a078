"""The wire protocol of jupyter-collaboration's provider: parsing, validation, encoding.

Message = ``varuint type`` + body:

* ``0`` SYNC: ``varuint subtype`` (0 step1, 1 step2, 2 update) + ``varbytes payload``
* ``1`` AWARENESS: ``varbytes update`` (``varuint n`` then n x ``client, clock, varstring json``)
* ``2`` RAW: ``varstring`` -- the client sends ``"save"`` + ``varuint id``; the server sends a
  JSON string (``{"type": "save", "responseTo": id, "status": ...}``,
  ``{"type": "conflict"}``, and our ``{"type": "refused", ...}`` for viewers).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pycrdt import Decoder, Encoder, write_var_uint

SYNC, AWARENESS, RAW = 0, 1, 2
STEP1, STEP2, UPDATE = 0, 1, 2

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


class _Reader:
    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.pos = 0

    def uint(self) -> int:
        num = 0
        shift = 0
        while True:
            if self.pos >= len(self.buf):
                raise ProtocolError(CLOSE_MALFORMED, "truncated message")
            b = self.buf[self.pos]
            self.pos += 1
            num |= (b & 0x7F) << shift
            if b < 0x80:
                return num
            shift += 7
            if shift > 63:
                raise ProtocolError(CLOSE_MALFORMED, "variable-length integer too long")

    def bytes(self) -> bytes:
        n = self.uint()
        end = self.pos + n
        if end > len(self.buf):
            raise ProtocolError(CLOSE_MALFORMED, "truncated message")
        out = self.buf[self.pos : end]
        self.pos = end
        return out

    def string(self) -> str:
        try:
            return self.bytes().decode("utf-8")
        except UnicodeDecodeError as e:
            raise ProtocolError(CLOSE_MALFORMED, "invalid UTF-8") from e

    @property
    def done(self) -> bool:
        return self.pos >= len(self.buf)


def parse(message: Any, max_size: int) -> Message:
    """Parse and validate one websocket message from a client."""
    if not isinstance(message, bytes):
        raise ProtocolError(CLOSE_UNSUPPORTED, "binary y-protocol messages only")
    if len(message) > max_size:
        raise ProtocolError(CLOSE_TOO_BIG, f"message of {len(message)} bytes exceeds {max_size}")
    if not message:
        raise ProtocolError(CLOSE_MALFORMED, "empty message")
    r = _Reader(message)
    mtype = r.uint()
    if mtype == SYNC:
        sub = r.uint()
        payload = r.bytes()
        if sub == STEP1:
            return Message("step1", payload)
        if sub == STEP2:
            return Message("step2", payload)
        if sub == UPDATE:
            return Message("update", payload)
        raise ProtocolError(CLOSE_MALFORMED, f"unknown sync message type {sub}")
    if mtype == AWARENESS:
        return Message("awareness", r.bytes())
    if mtype == RAW:
        text = r.string()
        if text == "save":
            return Message("save", request_id=r.uint() if not r.done else 0)
        return Message("raw", text=text)
    raise ProtocolError(CLOSE_MALFORMED, f"unknown message type {mtype}")


def decode_awareness(update: bytes) -> list[tuple[int, int, str]]:
    """``[(client_id, clock, state_json)]``; validates that each state is JSON object or null."""
    r = _Reader(update)
    n = r.uint()
    if n > 10_000:
        raise ProtocolError(CLOSE_MALFORMED, "too many awareness states")
    out = []
    for _ in range(n):
        client, clock, state = r.uint(), r.uint(), r.string()
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
    enc = Encoder()
    enc.write_var_uint(len(states))
    for client, clock, state in states:
        enc.write_var_uint(client)
        enc.write_var_uint(clock)
        enc.write_var_string(state)
    return enc.to_bytes()


def _frame(*parts: bytes) -> bytes:
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


def sync_step1(state_vector: bytes) -> bytes:
    return _frame(b"\x00\x00", write_var_uint(len(state_vector)), state_vector)


def sync_step2(update: bytes) -> bytes:
    return _frame(b"\x00\x01", write_var_uint(len(update)), update)


def sync_step2_head(length: int) -> bytes:
    """What precedes an update of ``length`` bytes in a SyncStep2 message."""
    return b"\x00\x01" + write_var_uint(length)


def sync_update(update: bytes) -> bytes:
    return _frame(b"\x00\x02", write_var_uint(len(update)), update)


def awareness_message(update: bytes) -> bytes:
    return _frame(b"\x01", write_var_uint(len(update)), update)


def raw_message(obj: dict[str, Any]) -> bytes:
    enc = Encoder()
    enc.write_var_uint(RAW)
    enc.write_var_string(json.dumps(obj))
    return enc.to_bytes()


def save_request(request_id: int) -> bytes:
    enc = Encoder()
    enc.write_var_uint(RAW)
    enc.write_var_string("save")
    enc.write_var_uint(request_id)
    return enc.to_bytes()


def parse_raw_reply(message: bytes) -> dict[str, Any] | None:
    """Client side: decode a server RAW JSON message, or None."""
    try:
        d = Decoder(message)
        if d.read_var_uint() != RAW:
            return None
        return json.loads(d.read_var_string())
    except Exception:
        return None

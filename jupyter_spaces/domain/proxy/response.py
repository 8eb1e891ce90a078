"""A space server's HTTP/1.x response as the fast path reads it, bytes as they arrive:
its head (``parse_head``: what goes on to the client, and how the body is framed) and
where a chunked body ends (``ChunkedBody``). Anything the fast path would not relay
exactly is a ``BadResponse``."""

from __future__ import annotations

import re

from tornado import httputil

from .headers import connection_tokens, encode_head, relayed_header_lines

__all__ = ["MAX_HEAD", "BadResponse", "ChunkedBody", "Head", "parse_head"]

#: Largest response head (and chunk line) read from a space server.
MAX_HEAD = 64 * 1024
_STATUS_LINE = re.compile(r"HTTP/1\.([01]) ([1-9][0-9][0-9])(?: (.*))?$")
_HEX = re.compile(rb"[0-9a-fA-F]{1,16}$")


class BadResponse(Exception):
    """The space server's response is not HTTP/1.1 as the fast path relays it."""


class Head:
    """A parsed response head: ``status``; ``framing`` of the body ("length" with
    ``length`` bytes, "chunked", "close": until the connection ends, or "none");
    ``keep_alive`` (whether the space server's connection can serve another request)
    and ``encoded``, the head for the client."""

    __slots__ = ("encoded", "framing", "keep_alive", "length", "status")

    def __init__(self, status: int, framing: str, length: int, keep_alive: bool, encoded: bytes):
        self.status, self.framing, self.length = status, framing, length
        self.keep_alive, self.encoded = keep_alive, encoded


def parse_head(raw: bytes, request: httputil.HTTPServerRequest, client_closes: bool) -> Head:
    """The head ``raw`` (without its blank line) of the answer to ``request``; the client's
    head is rewritten as ``Relay`` rewrites it (``client_closes``: the client asked for
    ``Connection: close``). A body delimited by the end of the connection is chunked for
    the client."""
    lines = raw.decode("latin-1").split("\r\n")
    m = _STATUS_LINE.match(lines[0])
    if m is None:
        raise BadResponse("no HTTP/1.x status line")
    code = int(m.group(2))
    if code < 200:
        raise BadResponse(f"informational response {code}")
    keep_alive = m.group(1) != "0"
    fields = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip() or line[0] in " \t":
            raise BadResponse("malformed header line")
        fields.append((name, value.strip()))
    extra = connection_tokens(", ".join(v for name, v in fields if name.lower() == "connection"))
    if "close" in extra:
        keep_alive = False
    length = None
    chunked = False
    for name, value in fields:
        lower = name.lower()
        if lower == "transfer-encoding":
            if value.lower() != "chunked":
                raise BadResponse(f"transfer-encoding {value!r}")
            chunked = True
        elif lower == "content-length":
            if length is not None or not value.isdigit():
                raise BadResponse("bad or repeated content-length")
            length = int(value)
    out = [f"HTTP/1.1 {code} {m.group(3) or httputil.responses.get(code, 'Unknown')}",
           *relayed_header_lines(fields, extra, request.path)]
    if request.method == "HEAD" or code in (204, 304):
        framing = "none"
    elif chunked:
        if length is not None:
            raise BadResponse("both content-length and chunked")
        framing = "chunked"
        out.append("Transfer-Encoding: chunked")
    elif length is not None:
        framing = "length"
    else:
        framing = "close"
        keep_alive = False
        out.append("Transfer-Encoding: chunked")
    if client_closes:
        out.append("Connection: close")
    return Head(code, framing, length if framing == "length" else 0, keep_alive, encode_head("\r\n".join(out) + "\r\n\r\n"))


class ChunkedBody:
    """Follows a chunked body through the bytes that carry it (``scan``)."""

    __slots__ = ("in_trailer", "line", "remaining")

    def __init__(self) -> None:
        self.remaining = 0  # bytes of the chunk at hand still to come, with its CRLF
        self.line = b""  # a chunk-size (or trailer) line not yet complete
        self.in_trailer = False

    def scan(self, data: bytes) -> int | None:
        """Where the message ends in ``data`` (the next bytes of the body), or None."""
        pos, n = 0, len(data)
        while pos < n:
            if self.remaining:
                take = min(self.remaining, n - pos)
                pos += take
                self.remaining -= take
                continue
            newline = data.find(b"\n", pos)
            if newline < 0:
                self.line += data[pos:]
                if len(self.line) > MAX_HEAD:
                    raise BadResponse("chunk line too long")
                return None
            line = (self.line + data[pos:newline]).rstrip(b"\r")
            self.line = b""
            pos = newline + 1
            if self.in_trailer:
                if not line:
                    return pos  # the blank line after the trailers ends the message
                continue
            size = line.split(b";", 1)[0].strip()
            if not _HEX.match(size):
                raise BadResponse("bad chunk size")
            size = int(size, 16)
            if size == 0:
                self.in_trailer = True
            else:
                self.remaining = size + 2  # the data and its CRLF
        return None

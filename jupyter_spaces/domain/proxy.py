"""The authenticated reverse proxy: ``<base_url>spaces/<name>/...`` → the space's server.

Every request, HTTP or websocket, goes through the same steps:

1. **Identity.** The domain's identity provider (API token or login cookie).
   Anonymous: a browser asking for a page is redirected to the login page,
   anything else gets 403 JSON.
2. **Cross-site checks**, because the space agent trusts signed requests like
   token-authenticated ones (``jupyter_spaces.space.identity``): for
   cookie-authenticated unsafe methods the domain's own XSRF check (the
   ``X-XSRFToken`` header must match the domain's ``_xsrf`` cookie), and for
   cookie-authenticated websocket upgrades the ``Origin`` check. Requests
   authenticated with an API token need neither, as in jupyter_server.
3. **Policy.** ``DomainService.open_target`` — the one policy check: a space
   the caller may not see is the same 404 as a missing one; a space that is
   not ``running`` answers 409 (JSON ``{"message", "reason": "not_running",
   "status"}``, or for a browser page an HTML page that says how to start it).
4. **Forwarding.** Inbound ``X-Jupyter-Spaces-*`` headers are dropped, so are
   the domain's credentials (an ``Authorization: token|bearer ...`` header,
   every ``token`` query parameter, the domain's login cookie), then the
   request is signed (``jupyter_spaces.signing.sign_request``) with the
   request target exactly as the space server receives it.

The shared ``_xsrf`` cookie
---------------------------
A space's JupyterLab is served under the domain's origin, so the browser has
one cookie jar for both. jupyter_server (in the domain and in the space) names
its XSRF cookie ``_xsrf``; JupyterLab reads ``_xsrf`` from ``document.cookie``
and sends it as ``X-XSRFToken``. To keep exactly one such cookie (the domain's,
path ``<base_url>``), the proxy makes sure a cookie-authenticated browser has
it before the request reaches the space (setting it if missing and passing it
on, so the space server never mints its own) and drops any ``Set-Cookie:
_xsrf`` the space sends. JupyterLab inside the space therefore sends the
domain's token, which is what the domain checks.

Caching (how fast a change takes effect)
----------------------------------------
``open_target`` results for running spaces are cached per (user, space) for
``TARGET_TTL`` seconds (2 s): a membership or role change, or a stop, takes
effect in the proxy within that time. Refusals and non-running spaces are never
cached. A failed connection to a space server drops its cache entries and
re-asks the service once. Identity (token or cookie → user) is resolved by the
identity provider on every request (which caches it for ``cache_seconds``).

A caller's repeat ``GET``/``HEAD`` requests do not reach this handler: the
fast path in front of the application (``proxy_fast``) serves them from these
same caches, and hands anything it has no cached answer for to the handler.

Streaming
---------
HTTP bodies stream both ways with bounded memory: the request body (tornado's
``stream_request_body``) is written to the space server as it arrives, with
backpressure; the response head is encoded once as bytes and sent with the
first body bytes, and the body is relayed as it arrives, with at most
``RELAY_HIGH_WATER`` bytes waiting for the client before the space server is
read again (no wait per chunk). A body of ``PUMP_MIN_BODY`` bytes or more with
a Content-Length is pumped without copies in Python: socket reads land in a few
rotating buffers that are sent as they are, and the space server's socket wakes
the domain only once ``PUMP_LOWAT`` bytes have arrived (``SO_RCVLOWAT``; a slow
sender is relayed anyway after ``PUMP_LOWAT_WAIT`` seconds). TCP_NODELAY is set
once on both sides and left on. Connections to space servers are kept alive
and reused (a small per-upstream pool; a pooled connection closed by the
server is detected before reuse). Websockets are proxied message by message,
text and binary, with close codes, the subprotocol negotiated by the space
server, and backpressure both ways (the next message is read only once the
previous one was written).

Activity
--------
Proxied traffic calls ``domain.note_activity(name)`` when the domain has it,
at most once a second per space (HTTP requests, websocket messages both ways).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
import time
import weakref
from collections import deque
from urllib.parse import unquote_plus, urlencode, urlsplit

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import JupyterHandler
from tornado import httputil, web
from tornado.escape import url_escape, xhtml_escape
from tornado.http1connection import HTTP1Connection, HTTP1ConnectionParameters
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.iostream import IOStream, StreamClosedError
from tornado.tcpclient import TCPClient
from tornado.websocket import WebSocketClosedError, WebSocketHandler, websocket_connect

from .. import signing
from ..errors import Conflict, Forbidden, NotFound, SpacesError
from . import revocation
from .auth import SETTINGS_KEY
from .origins import TICKET_PARAM, HostFacts, host_facts
from .schemas import RESERVED_SPACE_NAMES

__all__ = ["TARGET_TTL", "SpaceProxyHandler", "forget", "proxy_handlers", "shutdown"]

#: Seconds an ``open_target`` answer for a running space is reused.
TARGET_TTL = 2.0
#: Most (user, space) answers kept; the cache is cleared when it grows past this.
TARGET_CACHE_MAX = 10_000
#: Idle keep-alive connections kept per space server, and for how long.
POOL_MAX_IDLE = 16
POOL_IDLE_SECONDS = 30.0
CONNECT_TIMEOUT = 10.0
#: Bytes read from a space server at once (socket reads and relayed chunks).
CHUNK_SIZE = 256 * 1024
#: A socket read into tornado's own buffer (heads, small and chunked bodies).
READ_CHUNK = 64 * 1024
#: Relayed response bytes that may wait in the client's send buffer before the
#: space server is read again (then the relay waits down to the low mark).
RELAY_HIGH_WATER = 4 * CHUNK_SIZE
RELAY_LOW_WATER = CHUNK_SIZE
#: Bodies with a Content-Length at least this big are pumped without copies:
#: read straight into a few rotating buffers, each reused once sent.
PUMP_MIN_BODY = 1024 * 1024
PUMP_BUFFERS = 4
#: While pumping, the space server's socket wakes the domain only once this
#: many bytes wait (SO_RCVLOWAT), or after PUMP_LOWAT_WAIT seconds anyway.
PUMP_LOWAT = CHUNK_SIZE
PUMP_LOWAT_WAIT = 0.02
#: Largest websocket message relayed, either way.
MAX_WS_MESSAGE = 256 * 1024 * 1024
ACTIVITY_INTERVAL = 1.0
XSRF_COOKIE = "_xsrf"

_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Hop-by-hop headers (RFC 9110 7.6.1) and what we set ourselves.
_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_DROP_REQUEST = _HOP | {"host", "expect", "cookie", "authorization"}
_DROP_WS_REQUEST = _DROP_REQUEST | {
    "origin",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
    "sec-websocket-protocol",
    "sec-websocket-accept",
}
_PREFIX = signing.HEADER_PREFIX.lower()
# Responses are read CHUNK_SIZE at a time, whatever their length.
_PARAMS = HTTP1ConnectionParameters(chunk_size=CHUNK_SIZE, max_body_size=1 << 62, decompress=False)


# ---------------------------------------------------------------- per-domain state


class _SignedIdentity(signing.Identity):
    """An identity whose encoding is computed once (it is signed on every request)."""

    def encode(self) -> str:
        encoded = self.__dict__.get("_encoded")
        if encoded is None:
            encoded = super().encode()
            object.__setattr__(self, "_encoded", encoded)
        return encoded


class _Target:
    """What the proxy needs for one (user, running space)."""

    __slots__ = ("expires", "identity", "name", "netloc", "secret", "server_url", "ws_base")

    def __init__(self, data: dict, expires: float):
        self.name = data["name"]
        self.server_url = data["server_url"].rstrip("/")
        self.secret = data["secret"]
        identity = signing.Identity.from_dict(data["identity"])
        self.identity = _SignedIdentity(**{f: getattr(identity, f) for f in identity.__dataclass_fields__})
        parts = urlsplit(self.server_url)
        self.netloc = parts.netloc
        self.ws_base = ("wss://" if parts.scheme == "https" else "ws://") + parts.netloc
        self.expires = expires


def target_key(user, name: str) -> tuple:
    """The cache key of ``user``'s target for space ``name``."""
    return (user.id, user.username, user.admin, name)


class Pool:
    """Idle keep-alive connections to space servers, per ``host:port``.

    A subclass says how to open a connection (``_open``), whether one is
    closed (``_closed``) and whether an idle one is still usable (``_usable``);
    connections have ``close()``.
    """

    def __init__(self):
        self._idle: dict[str, deque] = {}

    async def _open(self, host: str, port: int):
        raise NotImplementedError

    def _closed(self, conn) -> bool:
        raise NotImplementedError

    def _usable(self, conn) -> bool:
        return not self._closed(conn)

    def take(self, netloc: str):
        """An idle connection still usable, if there is one."""
        idle = self._idle.get(netloc)
        now = time.monotonic()
        while idle:
            conn, since = idle.pop()
            if now - since < POOL_IDLE_SECONDS and self._usable(conn):
                return conn
            conn.close()
        return None

    async def connect(self, netloc: str):
        host, _, port = netloc.rpartition(":")
        if host.startswith("["):
            host = host[1:-1]
        return await asyncio.wait_for(self._open(host, int(port)), CONNECT_TIMEOUT)

    def release(self, netloc: str, conn) -> None:
        if self._closed(conn):
            return
        idle = self._idle.setdefault(netloc, deque())
        if len(idle) >= POOL_MAX_IDLE:
            idle.popleft()[0].close()
        idle.append((conn, time.monotonic()))

    def forget(self, netloc: str | None = None) -> None:
        for key in [netloc] if netloc else list(self._idle):
            for conn, _ in self._idle.pop(key, ()):
                conn.close()


class _StreamPool(Pool):
    """The handler's connections: tornado streams."""

    def __init__(self):
        super().__init__()
        self._tcp = TCPClient()

    async def _open(self, host: str, port: int) -> IOStream:
        stream = await self._tcp.connect(host, port, max_buffer_size=4 * CHUNK_SIZE)
        # Each read allocates read_chunk_size bytes: tornado's 64 KiB default suits
        # heads and small bodies; large ones are pumped into buffers of their own.
        stream.read_chunk_size = READ_CHUNK
        _nodelay_for_good(stream)
        return stream

    def _closed(self, stream: IOStream) -> bool:
        return stream.closed()

    def _usable(self, stream: IOStream) -> bool:
        return _still_open(stream)


def _keep_nodelay(value: bool) -> None:
    pass


def _nodelay_for_good(stream: IOStream) -> None:
    """TCP_NODELAY on, and kept on: tornado turns Nagle on and off around every
    message (two system calls a request); every write here is a whole message
    or a large chunk, which Nagle would only delay."""
    if stream.set_nodelay is not _keep_nodelay:
        stream.set_nodelay(True)
        stream.set_nodelay = _keep_nodelay


def _still_open(stream: IOStream) -> bool:
    """An idle connection the server has not closed (nor sent anything on)."""
    if stream.closed() or stream._read_buffer_size:
        return False
    try:
        stream.socket.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False  # EOF, or unsolicited bytes: unusable either way


class _State:
    def __init__(self):
        self.targets: dict[tuple, _Target] = {}
        self.pool = _StreamPool()
        self.activity: dict[str, float] = {}
        self.sockets: set = set()  # open upstream websockets
        self.hosts: dict[str, HostFacts] = {}
        self.fast_pool = None  # the fast path's own connections (proxy_fast), once used

    def pools(self) -> list:
        return [self.pool] if self.fast_pool is None else [self.pool, self.fast_pool]


_states: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _state(domain) -> _State:
    state = _states.get(domain)
    if state is None:
        state = _states[domain] = _State()
    return state


def forget(domain, name: str | None = None, user_id: int | None = None) -> None:
    """Drop cached answers (of space ``name``, of user ``user_id``, or all): call on stop,
    start, member and user changes.

    Without it such changes reach the proxy within ``TARGET_TTL`` seconds anyway.
    """
    state = _states.get(domain)
    if state is None:
        return
    if user_id is not None:
        for key in [k for k in state.targets if k[0] == user_id]:
            del state.targets[key]
        return
    if name is None:
        state.targets.clear()
        for pool in state.pools():
            pool.forget()
        return
    netlocs = set()
    for key in [k for k, t in state.targets.items() if t.name == name]:
        netlocs.add(state.targets.pop(key).netloc)
    for netloc in netlocs:
        for pool in state.pools():
            pool.forget(netloc)


def shutdown(domain) -> None:
    """Close idle connections to space servers (call when the domain stops)."""
    state = _states.pop(domain, None)
    if state is not None:
        for pool in state.pools():
            pool.forget()
        state.targets.clear()
        for ws in list(state.sockets):
            ws.close(1001, "the domain is shutting down")
        state.sockets.clear()


def note_activity(domain, name: str) -> None:
    """Tell the domain that space ``name`` is in use (at most once a second)."""
    note = getattr(domain, "note_activity", None)
    if note is None:
        return
    activity = _state(domain).activity
    now = time.monotonic()
    if now - activity.get(name, -ACTIVITY_INTERVAL) >= ACTIVITY_INTERVAL:
        activity[name] = now
        note(name)


_LOWAT_OK = hasattr(socket, "SO_RCVLOWAT")


def _relax(sock: socket.socket) -> None:
    """Drop a receive watermark (the waiting read then sees what has arrived)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, 1)
    except OSError:
        pass


_debug_checks: dict = {}  # logger -> (valid until, debug records are emitted)


def _debug_logged(logger: logging.Logger) -> bool:
    """Whether a debug record of ``logger`` would be written (checked every few seconds).

    ``isEnabledFor(DEBUG)`` is not enough: traitlets applications set their
    logger to DEBUG and filter in the handler (``log_level`` is the handler's).
    """
    now = time.monotonic()
    known = _debug_checks.get(logger)
    if known is not None and known[0] > now:
        return known[1]
    emitted = False
    if logger.isEnabledFor(logging.DEBUG):
        current = logger
        while current is not None and not emitted:
            emitted = any(h.level <= logging.DEBUG for h in current.handlers)
            current = current.parent if current.propagate else None
    if len(_debug_checks) > 64:
        _debug_checks.clear()
    _debug_checks[logger] = (now + 5.0, emitted)
    return emitted


# ---------------------------------------------------------------------- pages

NOT_RUNNING_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} · Jupyter Spaces</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{{font-family:system-ui,sans-serif;background:#f5f5f5;color:#222;display:flex;
justify-content:center;padding-top:12vh;margin:0}}
main{{background:#fff;padding:2rem 2.5rem;border-radius:8px;box-shadow:0 1px 4px #0002;max-width:32rem}}
h1{{font-size:1.3rem;margin:0 0 1rem}} code{{background:#eee;padding:0 .2rem}}
button{{padding:.5rem 1.2rem;background:#1976d2;color:#fff;border:0;border-radius:4px;font-size:1rem}}
#error{{color:#b00020}}
</style></head><body><main>
<h1>{title}</h1>
<p>{message}</p>
<p id="actions">{button} <a href="{home}">All spaces</a></p>
<p id="error"></p>
<p>From a script: <code>POST {start_url}</code></p>
</main>
<script>
(function () {{
  var status = {status_json};
  var api = {api_json};
  function xsrf() {{
    var m = document.cookie.match(/(?:^|;\\s*)_xsrf=([^;]*)/);
    return m ? decodeURIComponent(m[1]) : "";
  }}
  function poll() {{
    fetch(api, {{headers: {{Accept: "application/json"}}}}).then(function (r) {{
      return r.ok ? r.json() : null;
    }}).then(function (s) {{
      if (s && s.status === "running") {{ location.reload(); }}
      else {{ setTimeout(poll, 2000); }}
    }}, function () {{ setTimeout(poll, 5000); }});
  }}
  var button = document.getElementById("start");
  if (button) {{
    button.addEventListener("click", function () {{
      button.disabled = true;
      fetch(api + "/start", {{method: "POST", headers: {{"X-XSRFToken": xsrf()}}}}).then(function (r) {{
        if (r.ok) {{ button.textContent = "Starting…"; poll(); return; }}
        return r.json().then(function (e) {{
          document.getElementById("error").textContent = e.message;
          button.disabled = false;
        }});
      }});
    }});
  }}
  if (status === "starting" || status === "updating") {{ poll(); }}
}})();
</script>
</body></html>"""

NOT_FOUND_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Not found · Jupyter Spaces</title></head>
<body style="font-family:system-ui,sans-serif;margin:2rem"><h1>Not found</h1><p>{message}</p>
<p><a href="{home}">All spaces</a></p></body></html>"""


def _not_running_message(name: str, status: str) -> tuple[str, str]:
    if status in ("starting", "updating"):
        return "Space is starting", (
            f"Space {name} is {status}. This page opens it as soon as it is running."
        )
    if status == "stopping":
        return "Space is stopping", f"Space {name} is stopping. Start it again once it has stopped."
    if status == "failed":
        return "Space failed", f"Space {name} failed. Start it again, or look at its settings."
    if status == "deleting":
        return "Space is being deleted", f"Space {name} is being deleted."
    return "Space is stopped", f"Space {name} is {status}. Start it to open it; its files are kept."


# ------------------------------------------------- what the space server receives


def upstream_target(uri: str) -> str:
    """The request target without domain credentials (``token`` query parameters)."""
    path, sep, query = uri.partition("?")
    if not sep:
        return uri
    if "token" in query.lower() or "%" in query:
        kept = [p for p in query.split("&") if p and unquote_plus(p.partition("=")[0]) != "token"]
        query = "&".join(kept)
    return f"{path}?{query}" if query else path


def _cookie_header(request: httputil.HTTPServerRequest, login_cookie: str, xsrf_token) -> str | None:
    """The Cookie header without the domain's login cookie; with ``_xsrf`` added
    (``xsrf_token()``) when it is missing and ``xsrf_token`` is given."""
    kept = []
    has_xsrf = False
    for header in request.headers.get_list("Cookie"):
        for part in header.split(";"):
            part = part.strip()
            if not part:
                continue
            cname = part.partition("=")[0].strip()
            if cname == login_cookie:
                continue
            if cname == XSRF_COOKIE:
                has_xsrf = True
            kept.append(part)
    if not has_xsrf and xsrf_token is not None:
        # A browser without the domain's _xsrf cookie gets it now, and the space
        # server sees it, so it does not mint a second one (see module docstring).
        kept.append(f"{XSRF_COOKIE}={xsrf_token()}")
    return "; ".join(kept) if kept else None


def upstream_headers(
    request: httputil.HTTPServerRequest, t: _Target, target: str, method: str, *, ws: bool, login_cookie: str,
    auth_header_pat, xsrf_token,
) -> list[tuple[str, str]]:
    """The headers space ``t``'s server gets for ``request``, as (name, value) pairs.

    Hop-by-hop headers, inbound identity headers and the domain's credentials
    are dropped (an ``Authorization`` header that ``auth_header_pat`` does not
    match is an app's own and passes), ``X-Forwarded-*`` are added and the
    request is signed for ``target``. ``xsrf_token`` (a callable, for
    cookie-authenticated callers) supplies the ``_xsrf`` cookie if missing.
    """
    drop = _DROP_WS_REQUEST if ws else _DROP_REQUEST
    inbound = request.headers
    out = [("Host", t.netloc)]
    connection = inbound.get("Connection")
    extra = {v.strip().lower() for v in connection.split(",")} if connection else ()
    forwarded_for = None
    for name, value in inbound.get_all():
        lower = name.lower()
        if lower in drop or lower in extra or lower.startswith(_PREFIX):
            if lower == "authorization" and not auth_header_pat.match(value):
                out.append((name, value))  # not a domain credential (e.g. an app's own Basic auth)
            continue
        if lower == "x-forwarded-for":
            forwarded_for = value
            continue
        out.append((name, value))
    cookie = _cookie_header(request, login_cookie, xsrf_token)
    if cookie:
        out.append(("Cookie", cookie))
    out.append(("X-Forwarded-For", f"{forwarded_for}, {request.remote_ip}" if forwarded_for else request.remote_ip))
    out.append(("X-Forwarded-Proto", request.protocol))
    out.append(("X-Forwarded-Host", request.host))
    out.extend(signing.sign_request(t.secret, t.name, method, target, t.identity).items())
    return out


def encode_head(head: str) -> bytes:
    try:
        return head.encode("latin-1")
    except UnicodeEncodeError:
        return head.encode("utf-8")  # tornado decoded latin-1; never here in practice


def request_head(method: str, target: str, headers: list[tuple[str, str]]) -> bytes:
    """An HTTP/1.1 request head as bytes (cheaper than tornado's HTTPHeaders)."""
    return encode_head(f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n")


# ------------------------------------------------------ what the client receives


def connection_tokens(value: str) -> set[str]:
    """The options of a ``Connection`` header value, lowercased."""
    return {t.strip().lower() for t in value.split(",") if t.strip()}


#: A space's raw files and their renderings: the browser shows them as the space's
#: editors wrote them.
_RAW_FILE_PATH = re.compile(r"/spaces/[^/]+/(?:files|view|nbconvert)/")
#: Even if a space's own config dropped jupyter_server's sandbox, such a page runs in
#: an origin of its own (no cookies, no storage, no same-origin requests).
RAW_FILE_HEADERS = ("Content-Security-Policy: sandbox allow-scripts", "X-Content-Type-Options: nosniff")


def relayed_header_lines(fields, extra, path: str = "") -> list[str]:
    """``name: value`` lines of a space server's response headers that go on to the
    client: not hop-by-hop, not named in its ``Connection`` header (``extra``), and
    not the space's own ``_xsrf`` cookie (the domain owns it, see module docstring);
    for a raw file at request ``path``, the proxy's own sandbox."""
    lines = [*RAW_FILE_HEADERS] if _RAW_FILE_PATH.search(path) else []
    for name, value in fields:
        lower = name.lower()
        if lower in _HOP or lower in extra:
            continue
        if lower == "set-cookie" and value.lstrip().startswith(XSRF_COOKIE + "="):
            continue
        lines.append(f"{name}: {value}")
    return lines


# -------------------------------------------------------------------- handler


class _Relay(httputil.HTTPMessageDelegate):
    """Relays one upstream response to the client of ``owner``.

    ``owner`` is the request being answered (the handler): it has ``request``
    (the client's ``HTTPServerRequest``) and ``upstream_stream``, and answers
    ``relay_finished()`` (the client's response is over already),
    ``relay_cookies()`` (``Set-Cookie`` values of the domain's own to add),
    ``relay_head(code, reason)`` (the head is being sent) and ``abort_upstream()``.

    The response head is encoded here as bytes and written straight to the
    client's stream together with the first body bytes (one write for a small
    response); tornado's own header machinery is skipped. Body chunks are
    written as they arrive without waiting for each to reach the client: the
    upstream is read again as long as less than ``RELAY_HIGH_WATER`` bytes
    wait to be sent, then the oldest writes are awaited (backpressure without
    a stall per chunk).
    """

    __slots__ = ("complete", "framing", "head", "keep_alive", "outstanding", "owner", "started", "stream",
                 "truncated", "upstream", "writes")

    def __init__(self, owner):
        self.owner = owner
        self.keep_alive = True
        self.started = False
        self.complete = False
        self.head: bytes | None = None
        self.framing = "length"  # "length" (or no body), "chunked" (to an HTTP/1.1 client), "close"
        self.stream = owner.request.connection.stream
        self.writes: deque = deque()  # (future, size) of writes not known to be flushed
        self.outstanding = 0
        self.upstream = owner.upstream_stream
        self.truncated = False

    def headers_received(self, start_line, headers):
        self.started = True
        owner = self.owner
        if owner.relay_finished():
            return None
        request = owner.request
        code = start_line.code
        extra = connection_tokens(headers.get("Connection", ""))
        if "close" in extra:
            self.keep_alive = False
        reason = start_line.reason or httputil.responses.get(code, "Unknown")
        lines = [f"HTTP/1.1 {code} {reason}", *relayed_header_lines(headers.get_all(), extra, request.path)]
        has_length = "Content-Length" in headers and "content-length" not in extra
        lines.extend("Set-Cookie: " + c for c in owner.relay_cookies())  # ours: the domain's _xsrf cookie
        server_conn = request.connection
        http11 = request.version == "HTTP/1.1"
        bodiless = request.method == "HEAD" or code in (204, 304) or code < 200
        if not bodiless and not has_length:
            if http11:
                self.framing = "chunked"
                lines.append("Transfer-Encoding: chunked")
            else:
                # An HTTP/1.0 client: the end of the body is the end of the connection.
                self.framing = "close"
                server_conn._disconnect_on_finish = True
        if getattr(server_conn, "_disconnect_on_finish", False):
            if http11:
                lines.append("Connection: close")
        elif not http11 and request.headers.get("Connection", "").lower() == "keep-alive":
            lines.append("Connection: Keep-Alive")
        self.head = encode_head("\r\n".join(lines) + "\r\n\r\n")
        owner.relay_head(code, reason)
        if has_length and not bodiless and _LOWAT_OK:
            length = headers.get("Content-Length", "")
            if length.isdigit() and int(length) >= PUMP_MIN_BODY:
                # The body is ours from here: the connection then reads an empty one.
                headers["Content-Length"] = "0"
                return self._pump(int(length))
        return None

    def _write(self, data):
        """Write to the client (the head first); this write's future."""
        head = self.head
        if head is not None:
            self.head = None
            data = head + data if data else head
        future = self.stream.write(data)  # raises StreamClosedError if the client is gone
        if not future.done():
            self.writes.append((future, len(data)))
            self.outstanding += len(data)
        return future

    async def _drain(self, limit: int) -> None:
        """Wait until no more than ``limit`` bytes of ours wait to be sent."""
        writes = self.writes
        while writes and (self.outstanding > limit or writes[0][0].done()):
            future, size = writes[0]
            if not future.done():
                await future  # StreamClosedError if the client went away
            writes.popleft()
            self.outstanding -= size

    async def _pump(self, remaining: int) -> None:
        """Relay a ``remaining``-byte body: socket reads land in rotating buffers
        that go to the client as they are (no copies in Python); a buffer is
        read into again once the client's stream has sent it."""
        up = self.upstream
        loop = asyncio.get_running_loop()
        sock = up.socket
        buffers = [bytearray(CHUNK_SIZE) for _ in range(PUMP_BUFFERS)]
        sent: list = [None] * PUMP_BUFFERS
        lowat = 1
        relaxed = False
        i = 0
        try:
            while remaining > 0:
                pending = sent[i]
                if pending is not None and not pending.done():
                    try:
                        await pending
                    except StreamClosedError:
                        self.owner.abort_upstream()
                        self.truncated = True
                        return
                want = 1 if relaxed else min(PUMP_LOWAT, remaining)
                if want != lowat:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, want)
                    lowat = want
                view = memoryview(buffers[i])[: min(CHUNK_SIZE, remaining)]
                reading = up.read_into(view, partial=True)
                timer = None
                if not reading.done() and lowat > 1:
                    # A slow sender is relayed as it comes, not held back by the watermark.
                    timer = loop.call_later(PUMP_LOWAT_WAIT, _relax, sock)
                try:
                    got = await reading
                except StreamClosedError:
                    self.truncated = True  # the space server went away mid-body
                    return
                finally:
                    # After a wait that ended on the timer, the next read does not wait either.
                    relaxed = timer is not None and timer.when() <= loop.time()
                    if timer is not None:
                        timer.cancel()
                remaining -= got
                try:
                    future = self._write(view[:got])
                except StreamClosedError:
                    self.owner.abort_upstream()
                    self.truncated = True
                    return
                sent[i] = future
                i = (i + 1) % PUMP_BUFFERS
        finally:
            if lowat != 1 and not up.closed():
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, 1)
                except OSError:
                    up.close()

    async def data_received(self, chunk):
        if not chunk or self.owner.relay_finished():
            return
        try:
            if self.framing == "chunked":
                self._write(b"%x\r\n" % len(chunk))
                self._write(chunk)
                self._write(b"\r\n")
            else:
                self._write(chunk)
            if self.outstanding > RELAY_HIGH_WATER:
                await self._drain(RELAY_LOW_WATER)
        except StreamClosedError:
            # The client went away: stop reading from the space server.
            self.owner.abort_upstream()

    def finish(self):
        self.complete = not self.truncated

    def on_connection_close(self):
        self.keep_alive = False

    async def close(self) -> bool:
        """End the response (after a complete body); False if the client went away."""
        try:
            if self.framing == "chunked":
                self._write(b"0\r\n\r\n")
            elif self.head is not None:
                self._write(b"")
            await self._drain(0)
        except StreamClosedError:
            return False
        return True


@web.stream_request_body
class SpaceProxyHandler(WebSocketHandler, JupyterHandler):
    """Forwards ``spaces/<name>/<path>`` to space ``name``'s server (HTTP and websockets)."""

    # Set by prepare for the request at hand.
    _target: _Target | None = None
    _upstream_conn: HTTP1Connection | None = None
    upstream_stream: IOStream | None = None
    _response_task: asyncio.Future | None = None
    _relay: _Relay | None = None
    _ws = None
    _ws_pump: asyncio.Task | None = None
    _ws_subprotocol: str | None = None
    _open: revocation.Open | None = None  # this relay in the revocation registry
    _revoked: str | None = None  # why its access ended, once it has
    _upload_failed = False
    _reused = False
    _has_body = False
    _chunked_upload = False

    # -- tornado / jupyter_server plumbing ------------------------------------

    @property
    def domain(self):
        return self.settings[SETTINGS_KEY]

    def set_default_headers(self):
        # Nothing: proxied responses carry the space server's headers; our own
        # pages and errors set theirs in _refuse.
        pass

    def compute_etag(self):
        return None  # never derive an Etag from (part of) a relayed body

    def _host_facts(self) -> HostFacts:
        hosts = _state(self.domain).hosts
        facts = hosts.get(self.request.host)
        if facts is None:
            facts = host_facts(
                self.domain.origins, self.request.host,
                lambda: JupyterHandler.check_host(self), lambda: self.identity_provider.get_cookie_name(self),
            )
            if len(hosts) < 256:
                hosts[self.request.host] = facts
        return facts

    def _log(self):
        # jupyter_server's request log (debug level below 400, plus a prometheus
        # histogram) costs more than the proxying itself; keep it for errors and
        # when debug records would really be written somewhere.
        if self.get_status() >= 400 or _debug_logged(self.log):
            super()._log()

    def check_xsrf_cookie(self):
        # tornado calls this before prepare, too early: prepare checks once the user is known.
        return None

    def check_origin(self, origin=None) -> bool:
        return JupyterHandler.check_origin(self)

    @property
    def max_message_size(self):
        return MAX_WS_MESSAGE

    def get_compression_options(self):
        return None

    def _wants_html(self) -> bool:
        return self.request.method in ("GET", "HEAD") and "text/html" in self.request.headers.get("Accept", "")

    def _refuse(self, error: SpacesError, html: str | None = None) -> None:
        """Answer with our own error (JSON, or ``html`` for a browser page)."""
        self._headers = httputil.HTTPHeaders()
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "no-store")
        self.set_status(error.status)
        if html is not None and self._wants_html():
            self.set_header("Content-Type", "text/html; charset=UTF-8")
            self.set_header("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; "
                            "style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'self'")
            self.finish(html)
        else:
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(error.to_json()))

    def write_error(self, status_code, **kwargs):
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, SpacesError):
            error = exc
        else:
            message = "The space could not be reached." if status_code >= 500 else "Request refused."
            if isinstance(exc, web.HTTPError) and exc.log_message:
                message = exc.log_message % exc.args if exc.args else exc.log_message
            error = SpacesError(message, reason=httputil.responses.get(status_code, "error").lower().replace(" ", "_"))
            error.status = status_code
        self._refuse(error)

    # -- the checks -----------------------------------------------------------

    def clear(self):
        # tornado's default headers (Server, Content-Type, a formatted Date) are
        # never sent by the proxy: relayed responses carry the space server's,
        # refusals set theirs in _refuse.
        self._headers = httputil.HTTPHeaders()
        self._write_buffer = []
        self._status_code = 200
        self._reason = "OK"

    async def prepare(self):
        stream = getattr(self.request.connection, "stream", None)
        if isinstance(stream, IOStream):
            _nodelay_for_good(stream)
        facts = self._host_facts()
        if not facts.allowed:
            return self._refuse(Forbidden("Host not allowed."))
        name = self.path_kwargs["name"]
        if name in RESERVED_SPACE_NAMES or (facts.space is not None and name != facts.space):
            # Another space's path on a space's host: each is reached on its own.
            return self._refuse(NotFound("No such page."))
        user = self.identity_provider.get_user(self)
        if asyncio.iscoroutine(user) or isinstance(user, asyncio.Future):
            user = await user
        self.current_user = self._jupyter_current_user = user
        if user is None:
            if self._wants_html():
                if facts.space is not None:
                    # Through the domain's address of this page: log in there, get a ticket.
                    origin = self.domain.origins.domain_origin(self.request.protocol, self.request.host)
                    return self.redirect(origin + self.request.uri)
                url = self.get_login_url()
                sep = "&" if "?" in url else "?"
                return self.redirect(url + sep + "next=" + url_escape(self.request.uri))
            return self._refuse(Forbidden("Log in to the domain (or send an API token) to open a space."))
        is_upgrade = self.request.headers.get("Upgrade", "").lower() == "websocket"
        token_auth = self.token_authenticated
        if self.domain.origins.isolated and facts.space is None:
            # The domain's host never serves a space's pages to a browser: they would run
            # with the visitor's domain credentials. Cookies get a ticket to the space's
            # own origin; API tokens must come in the Authorization header (a token in a
            # URL could render a page here).
            if not token_auth:
                if self.request.method in ("GET", "HEAD") and not is_upgrade:
                    return await self._enter_own_origin(user, name)
                return self._refuse(Forbidden(
                    "Spaces are served on their own origin: open this space from the spaces home.",
                    reason="space_origin",
                ))
            if not is_upgrade and not self.identity_provider.auth_header_pat.match(
                self.request.headers.get("Authorization", "")
            ):
                return self._refuse(Forbidden(
                    "On the domain's address, send the API token in the Authorization header.",
                    reason="space_origin",
                ))
        if not token_auth:
            if self.request.method in _UNSAFE:
                try:
                    JupyterHandler.check_xsrf_cookie(self)
                except web.HTTPError as e:
                    msg = e.log_message % e.args if e.log_message and e.args else (e.log_message or "XSRF check failed.")
                    return self._refuse(Forbidden(msg, reason="xsrf"))
            if is_upgrade and not JupyterHandler.check_origin(self):
                return self._refuse(Forbidden("Cross-origin websocket refused.", reason="origin"))
        try:
            target = await self._open_target(user, name)
        except SpacesError as e:
            return self._refuse(e, self._error_page(e, name))
        if target is None:
            return  # answered (not running)
        self._target = target
        note_activity(self.domain, name)
        if is_upgrade:
            return None  # get() connects upstream first, then accepts the upgrade
        await self._start_upstream(token_auth)

    async def _enter_own_origin(self, user, name: str) -> None:
        """Redirect a logged-in browser to the space's own origin with a one-time ticket."""
        try:
            target = await self._open_target(user, name, fresh=True)
        except SpacesError as e:
            return self._refuse(e, self._error_page(e, name))
        if target is None:
            return None  # answered: not running
        domain = self.domain
        try:
            ticket = await domain.run(domain.service.create_space_ticket, user.session_id, user.id, name)
        except SpacesError as e:
            return self._refuse(e, self._error_page(e, name))
        origin = domain.origins.space_origin(name, self.request.protocol, self.request.host)
        query = urlencode({TICKET_PARAM: ticket, "next": self.request.uri})
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")
        self.redirect(f"{origin}{self.base_url}spaces/_enter?{query}")

    async def _open_target(self, user, name: str, fresh: bool = False) -> _Target | None:
        domain = self.domain
        state = _state(domain)
        key = target_key(user, name)
        now = time.monotonic()
        target = None if fresh else state.targets.get(key)
        if target is not None and target.expires > now:
            return target
        data = await domain.run(domain.service.open_target, user.caller, name)
        if data["status"] != "running" or not data.get("server_url") or not data.get("secret"):
            state.targets.pop(key, None)
            self._not_running(name, data["status"])
            return None
        if len(state.targets) >= TARGET_CACHE_MAX:
            state.targets.clear()
        target = state.targets[key] = _Target(data, now + TARGET_TTL)
        return target

    def _error_page(self, error: SpacesError, name: str) -> str | None:
        if isinstance(error, NotFound):
            return NOT_FOUND_PAGE.format(message=xhtml_escape(error.message), home=xhtml_escape(self._home()))
        return None

    def _home(self) -> str:
        return self.base_url + "spaces/home"

    def _not_running(self, name: str, status: str) -> None:
        title, message = _not_running_message(name, status)
        error = Conflict(message, reason="not_running", detail={"status": status})
        api = f"{self.base_url}spaces/api/spaces/{name}"
        startable = status in ("stopped", "failed")
        if startable:
            button = '<button id="start" type="button">Start space</button>'
            # Make sure the browser has the domain's XSRF cookie for the button.
            self.xsrf_token  # noqa: B018
        else:
            button = ""
        page = NOT_RUNNING_PAGE.format(
            title=xhtml_escape(title),
            message=xhtml_escape(message),
            button=button,
            home=xhtml_escape(self._home()),
            start_url=xhtml_escape(api + "/start"),
            status_json=json.dumps(status).replace("<", "\\u003c"),
            api_json=json.dumps(api).replace("<", "\\u003c"),
        )
        self._refuse(error, page)

    # -- what the space server receives --------------------------------------

    def _upstream_headers(self, target: str, method: str, token_auth: bool, ws: bool) -> list[tuple[str, str]]:
        return upstream_headers(
            self.request, self._target, target, method, ws=ws, login_cookie=self._host_facts().login_cookie,
            auth_header_pat=self.identity_provider.auth_header_pat,
            xsrf_token=None if token_auth else lambda: self.xsrf_token.decode(),
        )

    # -- HTTP -------------------------------------------------------------------

    async def _start_upstream(self, token_auth: bool, retry: bool = True, fresh: bool = False) -> None:
        request = self.request
        target_path = upstream_target(self.request.uri)
        headers = self._upstream_headers(target_path, request.method, token_auth, ws=False)
        chunked = "Transfer-Encoding" in request.headers and "Content-Length" not in request.headers
        has_body = chunked or "Content-Length" in request.headers
        if chunked:
            headers.append(("Transfer-Encoding", "chunked"))
        t = self._target
        pool = _state(self.domain).pool
        stream = None if fresh else pool.take(t.netloc)
        reused = stream is not None
        if stream is None:
            try:
                stream = await pool.connect(t.netloc)
            except (OSError, StreamClosedError, asyncio.TimeoutError):
                return await self._unreachable(token_auth, retry)
        self.upstream_stream = stream
        self._reused = reused
        self._has_body = has_body
        self._chunked_upload = chunked
        conn = self._upstream_conn = HTTP1Connection(stream, True, _PARAMS, t.netloc)
        # The request head is written here, as bytes (cheaper than HTTPHeaders); the
        # connection object reads the response (and needs the method: HEAD has no body).
        conn._request_start_line = httputil.RequestStartLine(request.method, target_path, "HTTP/1.1")
        head = request_head(request.method, target_path, headers)
        try:
            stream.write(head)
            if not has_body:
                conn.finish()
        except (StreamClosedError, OSError):
            stream.close()
            return await self._unreachable(token_auth, retry)
        self._relay = _Relay(self)
        # With a request body the response is read while the body is still being
        # sent (a space server may answer early); without one, _proxy_http reads it.
        self._response_task = asyncio.ensure_future(self._read_response(conn, self._relay)) if has_body else None

    def _response(self):
        task = self._response_task
        return task if task is not None else self._read_response(self._upstream_conn, self._relay)

    @staticmethod
    async def _read_response(conn: HTTP1Connection, relay: _Relay) -> tuple[str, bool]:
        """("ok", stream still open) or ("closed" | "bad", False)."""
        try:
            return "ok", await conn.read_response(relay)
        except (StreamClosedError, OSError):
            return "closed", False
        except httputil.HTTPInputError:
            return "bad", False

    async def _unreachable(self, token_auth: bool, retry: bool) -> None:
        """The space server did not take the connection: re-ask the service once."""
        forget(self.domain, self._target.name)
        if retry:
            try:
                target = await self._open_target(self.current_user, self._target.name, fresh=True)
            except SpacesError as e:
                return self._refuse(e, self._error_page(e, self._target.name))
            if target is None:
                return None
            self._target = target
            return await self._start_upstream(token_auth, retry=False)
        error = SpacesError("The space's server is not answering; try again in a moment.", reason="unreachable")
        error.status = 502
        self._refuse(error)

    async def data_received(self, chunk: bytes):
        conn = self._upstream_conn
        if conn is None or self._upload_failed:
            return
        if self._chunked_upload:
            chunk = b"%x\r\n%b\r\n" % (len(chunk), chunk)
        try:
            await conn.write(chunk)
        except (StreamClosedError, OSError):
            # The space server stopped reading (it may have answered already).
            self._upload_failed = True

    # Authentication is prepare()'s (it answers anonymous callers itself), hence
    # allow_unauthenticated: jupyter_server's own check would redirect API calls.
    @allow_unauthenticated
    async def _proxy_http(self, *args, **kwargs):
        if self._finished or self._upstream_conn is None:
            return
        conn = self._upstream_conn
        if not conn._write_finished and not self._upload_failed:
            try:
                if self._chunked_upload:
                    conn.write(b"0\r\n\r\n")
                conn.finish()
            except (StreamClosedError, OSError, httputil.HTTPOutputError):
                self._upload_failed = True
        outcome, still_open = await self._response()
        if outcome == "closed" and not self._relay.started and self._reused and not self._has_body:
            # A kept-alive connection the server closed meanwhile: once more, on a new one.
            self.upstream_stream.close()
            self._upstream_conn = None
            await self._start_upstream(self.token_authenticated, retry=True, fresh=True)
            if self._finished or self._upstream_conn is None:
                return
            conn = self._upstream_conn
            outcome, still_open = await self._response()
        relay = self._relay
        stream = self.upstream_stream
        reusable = (
            outcome == "ok" and still_open and relay.complete and relay.keep_alive
            and conn._write_finished and not self._upload_failed
        )
        self._upstream_conn = None
        if reusable:
            _state(self.domain).pool.release(self._target.netloc, stream)
        else:
            stream.close()
        if self._finished:
            return
        if not relay.started:
            error = SpacesError("The space's server closed the connection without answering.", reason="bad_gateway")
            error.status = 502
            return self._refuse(error)
        if not relay.complete:
            # Cut off mid-body: the client must not take a truncated body as complete.
            self.request.connection.close()
            return
        if await relay.close():
            self.finish()
        else:
            self.request.connection.close()

    def abort_upstream(self) -> None:
        stream = self.upstream_stream
        if stream is not None:
            stream.close()

    # -- what _Relay asks of the request it answers ----------------------------

    def relay_finished(self) -> bool:
        return self._finished

    def relay_cookies(self) -> list[str]:
        new_cookies = getattr(self, "_new_cookie", None)
        return [c.OutputString(None) for c in new_cookies.values()] if new_cookies else []

    def relay_head(self, code: int, reason: str) -> None:
        # The handler's own output machinery stays out of the way from here on:
        # finish() only tells the connection that the response is complete.
        self._headers_written = True
        self._transforms = []
        self._status_code = code
        self._reason = reason

    post = put = patch = delete = head = options = _proxy_http

    @allow_unauthenticated
    async def get(self, *args, **kwargs):
        if self.request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._proxy_websocket(*args, **kwargs)
        return await self._proxy_http()

    # -- websockets ---------------------------------------------------------------

    async def _proxy_websocket(self, *args, **kwargs):
        # Registered before the space is reached, so access revoked meanwhile ends it too.
        registry = revocation.connections(self.domain)
        self._open = registry.add(
            self._target.name, self.current_user.id, revocation.credential_of(self),
            self._target.identity.role, self._revoke,
        )
        try:
            await self._connect_websocket(*args, **kwargs)
        finally:
            if self.ws_connection is None:  # refused, unreachable or revoked: nothing is relayed
                registry.discard(self._open)

    def _revoke(self, reason: str) -> None:
        """The access this relay was opened with is gone: both sides close now."""
        self._revoked = reason
        if self._ws is not None:
            self._ws.close(revocation.CLOSE_CODE, reason)
        if self.ws_connection is not None:
            self.close(revocation.CLOSE_CODE, reason)

    async def _connect_websocket(self, *args, **kwargs):
        t = self._target
        target_path = upstream_target(self.request.uri)
        headers = httputil.HTTPHeaders()
        for name, value in self._upstream_headers(target_path, "GET", self.token_authenticated, ws=True):
            headers.add(name, value)
        requested = [
            p.strip() for p in self.request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()
        ]
        request = HTTPRequest(
            t.ws_base + target_path, headers=headers, connect_timeout=CONNECT_TIMEOUT, request_timeout=60,
            follow_redirects=False,
        )
        try:
            self._ws = await websocket_connect(
                request, subprotocols=requested or None, max_message_size=MAX_WS_MESSAGE
            )
        except HTTPClientError as e:
            # The space server refused the upgrade: pass its answer on.
            forget(self.domain, t.name) if e.code == 599 else None
            self._headers = httputil.HTTPHeaders()
            self.set_status(e.code if e.code != 599 else 502)
            body = e.response.body if e.response is not None and e.response.body else b""
            ctype = e.response.headers.get("Content-Type") if e.response is not None else None
            if ctype:
                self.set_header("Content-Type", ctype)
            return self.finish(body)
        except (OSError, StreamClosedError, asyncio.TimeoutError):
            forget(self.domain, t.name)
            error = SpacesError("The space's server is not answering; try again in a moment.", reason="unreachable")
            error.status = 502
            return self._refuse(error)
        if self._revoked is not None:
            self._ws.close(revocation.CLOSE_CODE, self._revoked)
            self._ws = None
            return self._refuse(Forbidden(self._revoked, reason="revoked"))
        _state(self.domain).sockets.add(self._ws)
        self._ws_subprotocol = self._ws.selected_subprotocol or ""
        await WebSocketHandler.get(self, *args, **kwargs)
        if self.ws_connection is None and self._ws is not None:
            # The client side was refused (e.g. bad handshake): drop the upstream.
            self._ws.close()
            _state(self.domain).sockets.discard(self._ws)
            self._ws = None

    def select_subprotocol(self, subprotocols):
        return self._ws_subprotocol or None

    def open(self, *args, **kwargs):
        self._ws_pump = asyncio.ensure_future(self._pump_upstream())

    async def _pump_upstream(self):
        upstream = self._ws
        name = self._target.name
        try:
            while True:
                message = await upstream.read_message()
                if message is None:
                    break
                note_activity(self.domain, name)
                try:
                    await self.write_message(message, binary=isinstance(message, bytes))
                except WebSocketClosedError:
                    upstream.close(self.close_code, self.close_reason)
                    return
        except (StreamClosedError, WebSocketClosedError):
            pass
        if self.ws_connection is not None:
            self.close(upstream.close_code, upstream.close_reason)
        upstream.close()  # already closed by the server; releases the client object
        _state(self.domain).sockets.discard(upstream)

    async def on_message(self, message):
        upstream = self._ws
        if upstream is None:
            return
        note_activity(self.domain, self._target.name)
        try:
            await upstream.write_message(message, binary=isinstance(message, bytes))
        except (WebSocketClosedError, StreamClosedError):
            self.close(upstream.close_code or 1011, upstream.close_reason or "space server went away")

    def on_close(self):
        if self._open is not None:
            revocation.connections(self.domain).discard(self._open)
        if self._ws is not None:
            code = self.close_code
            # 1005 (no code) and 1006 (abnormal) must never be sent in a close frame.
            if code in (1005, 1006, 1015):
                code = None
            self._ws.close(code, self.close_reason if code else None)
            _state(self.domain).sockets.discard(self._ws)
        elif self.upstream_stream is not None and self._upstream_conn is not None:
            # An HTTP client went away mid-request: drop the upstream connection.
            self.upstream_stream.close()

    def on_finish(self):
        # Never leave an upstream connection half-used.
        if self._upstream_conn is not None and self.upstream_stream is not None:
            self.upstream_stream.close()


proxy_handlers = [(r"/spaces/(?P<name>[^/]+)/(?P<path>.*)", SpaceProxyHandler)]

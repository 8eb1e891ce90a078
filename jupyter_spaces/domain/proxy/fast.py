"""The proxy's fast path: a caller's repeat safe requests, served without a RequestHandler.

tornado's ``web.Application`` (routing, a ``RequestHandler`` per request) and
its HTTP client connection (``HTTP1Connection`` over an ``IOStream``, a few
event-loop rounds per response) cost more than the proxying itself.
``ProxyFront`` is put in front of the application (``install``: it becomes
the application's ``start_request``) and serves a request itself only when
every decision ``SpaceProxyHandler`` makes for it is already cached from
requests that the handler served, each cache with its own expiry:

- an HTTP/1.1 ``GET`` or ``HEAD`` without a body, not an upgrade (safe
  methods: the XSRF and Origin checks do not apply to them);
- path ``<base_url>spaces/<name>/...`` with a plain ``name`` that is not
  reserved;
- a ``Host`` the handler found allowed;
- credentials whose user the identity provider has cached (the same key, the
  same ``cache_seconds``): an ``Authorization: token|bearer`` header, or else
  the login cookie together with the domain's ``_xsrf`` cookie; no ``token``
  query parameter;
- the proxy's target for (user, space), unexpired (``TARGET_TTL``).

Anything else (a first request, a refusal, an unsafe method, a websocket)
goes to the application unchanged, and so does a request that the space
server could not be reached for, or whose reused connection it had closed
before answering (the handler connects anew, or re-asks the service). The
fast path never decides anything: it repeats what the handler decided, so a
change (a stop, a member removed, a revoked token) reaches both at once.

The request is forwarded as the handler forwards it (``upstream_headers``:
the same headers dropped and added, the same signature); the response is
read by an asyncio protocol (``upstream.Upstream``) that writes each piece to the
client as it arrives, in the callback that received it: the head rewritten
as ``Relay`` rewrites it, a ``Content-Length`` or chunked body passed
through as it is (a body delimited by the end of the connection is chunked
for the client), with backpressure: the space server's socket is not read
while more than ``RELAY_HIGH_WATER`` bytes wait for the client. A body of
``PUMP_MIN_BODY`` bytes or more goes to the handler's pump (``Relay.pump``:
no copies, fewer wake-ups), the connection then moving to the handler's pool.
Otherwise connections are kept alive in a pool of their own. Served requests count as
activity, and are logged when their status is 400 or more.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from collections import deque
from urllib.parse import unquote_plus

from jupyter_server.base.handlers import log as jupyter_log
from tornado import httputil
from tornado.iostream import IOStream, StreamClosedError

from ...errors import BadGateway
from ..accounts import token_digest
from ..auth import SETTINGS_KEY
from ..schemas import RESERVED_SPACE_NAMES
from . import tornado_compat
from .headers import XSRF_COOKIE, request_head, upstream_headers, upstream_target
from .limits import CHUNK_SIZE, PUMP_MIN_BODY, READ_CHUNK, RELAY_HIGH_WATER, RELAY_LOW_WATER
from .relay import PUMP_SUPPORTED, Relay
from .response import MAX_HEAD, BadResponse, ChunkedBody, parse_head
from .state import Target, target_key
from .upstream import Upstream, fast_pool

__all__ = ["ProxyFront", "install"]

_SAFE = frozenset({"GET", "HEAD"})
# Request headers that send a request to the handler: a body, an upgrade, 100-continue.
_NOT_FAST = ("Content-Length", "Transfer-Encoding", "Upgrade", "Expect")
# Paths in a space the handler may answer itself (a user's own settings: personal_settings).
_DOMAIN_ANSWERS = ("lab/api/settings", "logout")  # the domain's own handlers (space_host)


def _has_token_param(query: str) -> bool:
    if "token" not in query.lower() and "%" not in query:
        return False
    return any(unquote_plus(p.partition("=")[0]) == "token" for p in query.split("&"))


# --------------------------------------------------------------------- front


class _Plan:
    """What a fast request needs, found by ``ProxyFront.plan``."""

    __slots__ = ("domain", "login_cookie", "request", "target", "user")

    def __init__(self, domain, request, user, target: Target, login_cookie: str):
        self.domain = domain
        self.request = request
        self.user = user
        self.target = target
        self.login_cookie = login_cookie


class ProxyFront(httputil.HTTPServerConnectionDelegate):
    """Serves the requests it can from the proxy's caches; hands the rest to ``app``."""

    def __init__(self, app):
        self.app = app
        self.app_start_request = app.start_request  # the application's own, bound before install
        self.prefix = app.settings.get("base_url", "/") + "spaces/"
        self.served = 0  # requests answered here (tests and curious admins)

    def start_request(self, server_conn, request_conn: httputil.HTTPConnection) -> httputil.HTTPMessageDelegate:
        return _FastRequest(self, server_conn, request_conn)

    def plan(self, start_line: httputil.RequestStartLine, headers: httputil.HTTPHeaders, request_conn) -> _Plan | None:
        """How to serve this request on the fast path, or None: the handler serves it."""
        if start_line.method not in _SAFE or start_line.version != "HTTP/1.1":
            return None
        path, _, query = start_line.path.partition("?")
        if not path.startswith(self.prefix):
            return None
        name, slash, rest = path[len(self.prefix):].partition("/")
        if not slash or not name or "%" in name or name in RESERVED_SPACE_NAMES:
            return None
        if rest.startswith(_DOMAIN_ANSWERS):
            return None
        for header in _NOT_FAST:
            if header in headers:
                return None
        settings = self.app.settings
        domain = settings.get(SETTINGS_KEY)
        if domain is None:
            return None
        state = domain.proxy
        facts = state.hosts.get(headers.get("Host") or "127.0.0.1")
        if facts is None or not facts.allowed or (facts.space is not None and name != facts.space):
            return None
        if query and _has_token_param(query):
            return None
        provider = settings["identity_provider"]
        request = httputil.HTTPServerRequest(connection=request_conn, start_line=start_line, headers=headers)
        # The same key as DomainIdentityProvider.get_user: a token first, else the login cookie.
        match = provider.auth_header_pat.match(headers.get("Authorization", ""))
        if match:
            key = "t:" + token_digest(match.group(2))
        else:
            if not facts.cookie_proxy:
                return None
            cookies = request.cookies
            login = cookies.get(facts.login_cookie)
            if login is None or not login.value or XSRF_COOKIE not in cookies:
                return None
            key = facts.cookie_key + login.value
        user = provider.cache.get(key)
        if user is None:
            return None
        target = state.targets.get(target_key(user, name))
        if target is None or target.expires <= time.monotonic():
            return None
        return _Plan(domain, request, user, target, facts.login_cookie)


class _FastRequest(httputil.HTTPMessageDelegate):
    """One request: answered here when ``ProxyFront.plan`` allows, else by the application.

    As the exchange with the space server, it parses the response as it is
    fed (``feed``) and writes it on to the client.
    """

    def __init__(self, front: ProxyFront, server_conn, request_conn):
        self.front = front
        self.server_conn = server_conn
        self.request_conn = request_conn
        self.inner: httputil.HTTPMessageDelegate | None = None  # the application's, once handed over
        self.plan: _Plan | None = None
        self.start_line = self.headers = None
        self.up: Upstream | None = None
        self.upstream_stream: IOStream | None = None  # a large body's, once pumped
        self.reused = False
        self.client_gone = False
        self.done: asyncio.Future | None = None
        self.task: asyncio.Task | None = None  # held: the loop keeps only weak references to tasks
        self.pump_task: asyncio.Task | None = None
        # the response
        self.status = 0
        self.started = False  # the response head arrived
        self.head_buf = b""
        self.pending_head: bytes | None = None  # sent with the first body bytes
        self.framing = ""  # "length", "chunked", "close" or "none"
        self.remaining = 0  # body bytes still due ("length")
        self.chunks = ChunkedBody()  # where a chunked body ends
        self.upstream_keep_alive = True
        self.writes: deque = deque()  # (future, size) of client writes not known to be flushed
        self.outstanding = 0
        self.paused = False

    # -- the connection's calls ------------------------------------------------

    def headers_received(self, start_line, headers):
        plan = self.front.plan(start_line, headers, self.request_conn)
        if plan is None:
            self.inner = self.front.app_start_request(self.server_conn, self.request_conn)
            return self.inner.headers_received(start_line, headers)
        self.plan, self.start_line, self.headers = plan, start_line, headers
        return None

    def data_received(self, chunk):
        if self.inner is not None:
            return self.inner.data_received(chunk)
        return None  # a fast request has no body

    def finish(self):
        if self.inner is not None:
            return self.inner.finish()
        self.task = asyncio.ensure_future(self._serve_safely())
        return None

    def on_connection_close(self):
        if self.inner is not None:
            return self.inner.on_connection_close()
        self.client_gone = True
        self._end(reuse=False)
        return None

    # -- what Relay asks, when it pumps a large body ---------------------------

    @property
    def request(self):
        return self.plan.request

    def relay_finished(self) -> bool:
        return self.client_gone

    def abort_upstream(self) -> None:
        if self.upstream_stream is not None:
            self.upstream_stream.close()

    # -- serving ---------------------------------------------------------------

    async def _serve_safely(self) -> None:
        try:
            await self._serve()
        except Exception:  # noqa: BLE001 - a bug here must not leave the client waiting
            jupyter_log().exception("proxy fast path: %s %s", self.start_line.method, self.start_line.path)
            self._end(reuse=False)
            self.request_conn.close()

    async def _serve(self) -> None:
        plan = self.plan
        request, t = plan.request, plan.target
        pool = fast_pool(plan.domain.proxy)
        up = pool.take(t.netloc)
        self.reused = up is not None
        if up is None:
            try:
                up = await pool.connect(t.netloc)
            except (OSError, asyncio.TimeoutError):
                plan.domain.proxy.forget(t.name)  # the handler re-asks the service
                return await self._hand_over()
        if self.client_gone:
            pool.release(t.netloc, up)
            return
        provider = self.front.app.settings["identity_provider"]
        target_path = upstream_target(request.uri)
        headers = upstream_headers(
            request, t, target_path, request.method, ws=False, login_cookie=plan.login_cookie,
            auth_header_pat=provider.auth_header_pat, xsrf_token=None,
        )
        tornado_compat.keep_nodelay(self.request_conn.stream)
        plan.domain.proxy.note_activity(t.name)
        self.up = up
        self.done = asyncio.get_running_loop().create_future()
        up.exchange = self
        up.transport.write(request_head(request.method, target_path, headers))
        outcome = await self.done
        if outcome == "retry":
            return await self._hand_over()
        if outcome == "bad":
            return self._bad_gateway()
        if outcome == "cut":
            self.request_conn.close()  # a truncated body must not pass for a complete one
            return
        if outcome == "gone":
            return
        try:
            if self.writes:
                await self.writes[-1][0]  # tornado flushes writes in order
        except StreamClosedError:
            return
        self.front.served += 1
        self.request_conn.finish()
        if self.status >= 400:
            self._log()

    async def _hand_over(self) -> None:
        """Give the request to the application after all (nothing was sent to the client)."""
        inner = self.inner = self.front.app_start_request(self.server_conn, self.request_conn)
        waiting = inner.headers_received(self.start_line, self.headers)
        if waiting is not None:
            await waiting
        inner.finish()

    def _end(self, outcome: str = "gone", reuse: bool = False) -> None:
        """The exchange is over: the connection back to the pool (or closed), ``done`` set."""
        up, self.up = self.up, None
        if up is not None:
            up.exchange = None
            if self.paused and not up.closed:
                up.transport.resume_reading()
            pool = self.plan.domain.proxy.fast_pool
            if reuse and self.upstream_keep_alive and pool is not None:
                pool.release(self.plan.target.netloc, up)
            else:
                up.close()
        if self.done is not None and not self.done.done():
            self.done.set_result(outcome)

    # -- the response, as the space server sends it ------------------------------

    def upstream_lost(self) -> None:
        """The space server closed the connection."""
        self.up = None
        if not self.started:
            # a reused connection closed before answering: the handler sends it again
            self._end("retry" if self.reused and not self.head_buf else "bad")
        elif self.framing == "close":
            try:
                self._write(b"0\r\n\r\n")
            except StreamClosedError:
                self.client_gone = True
                self._end("gone")
                return
            self._end("ok")
        else:
            self._end("cut")

    def feed(self, data: bytes) -> None:
        try:
            if not self.started:
                buf = self.head_buf + data
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > MAX_HEAD:
                        raise BadResponse("response head too large")
                    self.head_buf = buf
                    return
                self.head_buf = b""
                self._head(buf[:end])
                data = buf[end + 4:]
                if self.framing == "length" and self.remaining - len(data) >= PUMP_MIN_BODY and PUMP_SUPPORTED:
                    self._pump(data)
                    return
            self._body(data)
        except BadResponse as e:
            jupyter_log().warning("proxy fast path: %s from space %s", e, self.plan.target.name)
            self._end("cut" if self.started else "bad")
        except StreamClosedError:
            self.client_gone = True
            self._end("gone")

    def _head(self, raw: bytes) -> None:
        head = parse_head(raw, self.plan.request, tornado_compat.closes_after_response(self.request_conn))
        self.status, self.framing, self.remaining = head.status, head.framing, head.length
        if not head.keep_alive:
            self.upstream_keep_alive = False
        self.started = True
        self.pending_head = head.encoded

    def _body(self, data: bytes) -> None:
        """Relay body bytes (the head goes with the first write, even of none)."""
        framing = self.framing
        if framing == "length":
            if len(data) > self.remaining:
                self.upstream_keep_alive = False  # bytes past the response
                data = data[:self.remaining]
            self.remaining -= len(data)
            self._write(data)
            if self.remaining == 0:
                self._end("ok", reuse=True)
        elif framing == "chunked":
            end = self.chunks.scan(data)
            if end is None:
                self._write(data)
            else:
                if end < len(data):
                    self.upstream_keep_alive = False
                self._write(data[:end])
                self._end("ok", reuse=True)
        elif framing == "close":
            self._write(b"%x\r\n%b\r\n" % (len(data), data) if data else b"")
        else:  # "none"
            if data:
                self.upstream_keep_alive = False
            self._write(b"")
            self._end("ok", reuse=True)

    def _pump(self, data: bytes) -> None:
        """Relay a large Content-Length body with the handler's pump, on a tornado
        stream over a duplicate of this connection's socket (the transport closes
        its own descriptor; the connection lives on in the duplicate)."""
        up, self.up = self.up, None
        up.exchange = None
        up.transport.pause_reading()
        sock = socket.socket(fileno=os.dup(up.transport.get_extra_info("socket").fileno()))
        up.close()
        stream = self.upstream_stream = IOStream(sock, max_buffer_size=4 * CHUNK_SIZE)
        stream.read_chunk_size = READ_CHUNK
        relay = Relay(self)
        relay.head, self.pending_head = self.pending_head, None
        self.remaining -= len(data)
        relay.write(data)  # the head, and the body bytes that came with it
        self.pump_task = asyncio.ensure_future(self._pumped(relay, stream))

    async def _pumped(self, relay: Relay, stream: IOStream) -> None:
        await relay.pump(self.remaining)
        complete = not relay.truncated and await relay.close()
        if complete and self.upstream_keep_alive:
            self.plan.domain.proxy.pool.release(self.plan.target.netloc, stream)  # the handler's pool: tornado streams
        else:
            stream.close()
        self._end("ok" if complete else "gone" if self.client_gone else "cut")

    def _write(self, data: bytes) -> None:
        """Write to the client (the head first); pause reading the space server while too much waits."""
        head = self.pending_head
        if head is not None:
            self.pending_head = None
            data = head + data if data else head
        elif not data:
            return
        future = self.request_conn.stream.write(data)
        if future.done():
            return
        self.writes.append((future, len(data)))
        self.outstanding += len(data)
        if self.outstanding > RELAY_HIGH_WATER and not self.paused and self.up is not None:
            self.paused = True
            self.up.transport.pause_reading()
            future.add_done_callback(self._flushed)

    def _flushed(self, _future) -> None:
        writes = self.writes
        while writes and writes[0][0].done():
            self.outstanding -= writes.popleft()[1]
        if not self.paused:
            return
        if self.outstanding <= RELAY_LOW_WATER or not writes:
            self.paused = False
            if self.up is not None and not self.up.closed:
                self.up.transport.resume_reading()
        else:
            writes[0][0].add_done_callback(self._flushed)

    # -- answers of our own ------------------------------------------------------

    def _bad_gateway(self) -> None:
        error = BadGateway("The space's server sent no usable answer.")
        self.status = error.status
        body = json.dumps(error.to_json()).encode()
        headers = httputil.HTTPHeaders(
            {"Content-Type": "application/json", "Content-Length": str(len(body)), "Cache-Control": "no-store",
             "X-Content-Type-Options": "nosniff"}
        )
        self.request_conn.write_headers(httputil.ResponseStartLine("HTTP/1.1", 502, "Bad Gateway"), headers, body)
        self.request_conn.finish()
        self._log()

    def _log(self) -> None:
        # As jupyter_server logs a failed request, without the query (it may hold secrets).
        request = self.plan.request
        logger = jupyter_log()
        log = logger.warning if self.status < 500 else logger.error
        log("%d %s %s (%s@%s) %.2fms", self.status, request.method, request.path, self.plan.user.username,
            request.remote_ip, 1000 * request.request_time())


def install(app) -> ProxyFront:
    """Put the fast path in front of ``app`` (a jupyter_server web application).

    Every ``HTTPServer`` serving ``app`` calls ``app.start_request`` for each
    request; the front takes that place and calls the application's own for
    whatever it does not serve.
    """
    front = ProxyFront(app)
    tornado_compat.front(app, front.start_request)
    app.settings["jupyter_spaces_proxy_front"] = front
    return front

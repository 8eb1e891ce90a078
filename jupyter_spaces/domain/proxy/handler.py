"""``SpaceProxyHandler``: the proxy's request handler, HTTP and websockets.

It makes every decision of the proxy (identity, cross-site checks, policy: see
the package docstring) and caches the answers in the domain's ``Proxy``, which
lets the fast path serve a caller's repeats. HTTP request bodies stream to the
space server as they arrive (tornado's ``stream_request_body``), with
backpressure; responses go back through ``Relay``. Websocket upgrades are the
``WebSocketSplicing`` mixin's (``upgrade``), a user's own settings the
``PersonalSettings`` mixin's (``personal``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from urllib.parse import urlencode

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import JupyterHandler
from tornado import httputil, web
from tornado.escape import url_escape
from tornado.http1connection import HTTP1Connection, HTTP1ConnectionParameters
from tornado.iostream import IOStream, StreamClosedError

from ...errors import BadGateway, Conflict, Forbidden, NotFound, SpacesError
from ..auth import SETTINGS_KEY
from ..origins import TICKET_PARAM, HostFacts, host_facts
from ..schemas import RESERVED_SPACE_NAMES
from . import tornado_compat
from .headers import request_head, upstream_headers, upstream_target
from .limits import CHUNK_SIZE, TARGET_CACHE_MAX, TARGET_TTL
from .pages import not_found_page, not_running_message, not_running_page
from .personal import PersonalSettings
from .relay import Relay
from .state import Target, target_key
from .upgrade import WebSocketSplicing

__all__ = ["SpaceProxyHandler", "proxy_handlers"]

_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Responses are read CHUNK_SIZE at a time, whatever their length.
_PARAMS = HTTP1ConnectionParameters(chunk_size=CHUNK_SIZE, max_body_size=1 << 62, decompress=False)

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


@web.stream_request_body
class SpaceProxyHandler(PersonalSettings, WebSocketSplicing, JupyterHandler):
    """Forwards ``spaces/<name>/<path>`` to space ``name``'s server (HTTP and websockets)."""

    # Set by prepare for the request at hand.
    _target: Target | None = None
    _upstream_conn: HTTP1Connection | None = None
    upstream_stream: IOStream | None = None
    _response_task: asyncio.Future | None = None
    _relay: Relay | None = None
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
        hosts = self.domain.proxy.hosts
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

    def _from_own_pages(self) -> bool:
        """A browser's write sent by a page of this very origin (the space's own host):
        as safe as the XSRF token, which those pages can read anyway, and what apps that
        send no token (MLflow's UI) are let in by; another site cannot set ``Origin``."""
        origin = self.request.headers.get("Origin")
        return origin is not None and origin == f"{self.request.protocol}://{self.request.host}"

    def _wants_html(self) -> bool:
        return self.request.method in ("GET", "HEAD") and "text/html" in self.request.headers.get("Accept", "")

    def _refuse(self, error: SpacesError, html: str | None = None) -> None:
        """Answer with our own error (JSON, or ``html`` for a browser page)."""
        tornado_compat.drop_headers(self)
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
        tornado_compat.reset_response(self)

    async def prepare(self):
        stream = getattr(self.request.connection, "stream", None)
        if isinstance(stream, IOStream):
            tornado_compat.keep_nodelay(stream)
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
        is_upgrade = self.request.method == "GET" and self.request.headers.get("Upgrade", "").lower() == "websocket"
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
            if self.request.method in _UNSAFE and not (facts.space is not None and self._from_own_pages()):
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
        self.domain.proxy.note_activity(name)
        if not is_upgrade and await self._personal_settings(target):
            return None
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

    async def _open_target(self, user, name: str, fresh: bool = False) -> Target | None:
        domain = self.domain
        state = domain.proxy
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
        target = state.targets[key] = Target(data, now + TARGET_TTL)
        return target

    def _error_page(self, error: SpacesError, name: str) -> str | None:
        if isinstance(error, NotFound):
            return not_found_page(error.message, self._home())
        return None

    def _home(self) -> str:
        return self.base_url + "spaces/home"

    def _not_running(self, name: str, status: str) -> None:
        title, message = not_running_message(name, status)
        error = Conflict(message, reason="not_running", detail={"status": status})
        startable = status in ("stopped", "failed")
        if startable:
            # Make sure the browser has the domain's XSRF cookie for the button.
            self.xsrf_token  # noqa: B018
        page = not_running_page(
            title, message, status, f"{self.base_url}spaces/api/spaces/{name}", self._home(), startable
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
        pool = self.domain.proxy.pool
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
        tornado_compat.set_request_start_line(conn, request.method, target_path)
        head = request_head(request.method, target_path, headers)
        try:
            stream.write(head)
            if not has_body:
                conn.finish()
        except (StreamClosedError, OSError):
            stream.close()
            return await self._unreachable(token_auth, retry)
        self._relay = Relay(self)
        # With a request body the response is read while the body is still being
        # sent (a space server may answer early); without one, _proxy_http reads it.
        self._response_task = asyncio.ensure_future(self._read_response(conn, self._relay)) if has_body else None

    def _response(self):
        task = self._response_task
        return task if task is not None else self._read_response(self._upstream_conn, self._relay)

    @staticmethod
    async def _read_response(conn: HTTP1Connection, relay: Relay) -> tuple[str, bool]:
        """("ok", stream still open) or ("closed" | "bad", False)."""
        try:
            return "ok", await conn.read_response(relay)
        except (StreamClosedError, OSError):
            return "closed", False
        except httputil.HTTPInputError:
            return "bad", False

    async def _unreachable(self, token_auth: bool, retry: bool) -> None:
        """The space server did not take the connection: re-ask the service once."""
        self.domain.proxy.forget(self._target.name)
        if retry:
            try:
                target = await self._open_target(self.current_user, self._target.name, fresh=True)
            except SpacesError as e:
                return self._refuse(e, self._error_page(e, self._target.name))
            if target is None:
                return None
            self._target = target
            return await self._start_upstream(token_auth, retry=False)
        error = BadGateway("The space's server is not answering; try again in a moment.", reason="unreachable")
        self._refuse(error)

    async def data_received(self, chunk: bytes):
        if self._settings is not None:
            return self._gather_settings(chunk)
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
        if self._settings is not None and not tornado_compat.handler_finished(self):
            return await self._save_settings()
        if tornado_compat.handler_finished(self) or self._upstream_conn is None:
            return
        conn = self._upstream_conn
        if not tornado_compat.request_finished(conn) and not self._upload_failed:
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
            if tornado_compat.handler_finished(self) or self._upstream_conn is None:
                return
            conn = self._upstream_conn
            outcome, still_open = await self._response()
        relay = self._relay
        stream = self.upstream_stream
        reusable = (
            outcome == "ok" and still_open and relay.complete and relay.keep_alive
            and tornado_compat.request_finished(conn) and not self._upload_failed
        )
        self._upstream_conn = None
        if reusable:
            self.domain.proxy.pool.release(self._target.netloc, stream)
        else:
            stream.close()
        if tornado_compat.handler_finished(self):
            return
        if not relay.started:
            error = BadGateway("The space's server closed the connection without answering.")
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

    # -- what Relay asks of the request it answers - ----------------------------

    def relay_finished(self) -> bool:
        return tornado_compat.handler_finished(self)

    def relay_cookies(self) -> list[str]:
        return tornado_compat.new_cookies(self)

    def relay_head(self, code: int, reason: str) -> None:
        tornado_compat.head_written_elsewhere(self, code, reason)

    post = put = patch = delete = head = options = _proxy_http

    @allow_unauthenticated
    async def get(self, *args, **kwargs):
        if self._target is not None and self.request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._proxy_websocket()
        return await self._proxy_http()

    def on_connection_close(self):
        super().on_connection_close()
        if self.upstream_stream is not None and self._upstream_conn is not None:
            # An HTTP client went away mid-request: drop the upstream connection.
            self.upstream_stream.close()

    def on_finish(self):
        # Never leave an upstream connection half-used.
        if self._upstream_conn is not None and self.upstream_stream is not None:
            self.upstream_stream.close()


proxy_handlers = [(r"/spaces/(?P<name>[^/]+)/(?P<path>.*)", SpaceProxyHandler)]

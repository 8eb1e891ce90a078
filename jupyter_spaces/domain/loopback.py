"""A browser that opens a loopback domain by IP address is sent to ``localhost``.

On loopback each space's origin is ``{space}.localhost`` and the domain's is
``localhost`` (:mod:`.origins`): a space's way home, and the domain's cookies,
are on ``localhost``. A login link or bookmark of ``http://127.0.0.1:PORT/...``
would leave the browser logged in on a host its spaces never lead back to, so
page visits there (GET/HEAD asking for HTML) are redirected, before any
handler, to the same path on ``localhost``. API clients (no ``text/html``),
websockets and every other request are served where they are.
"""

from __future__ import annotations

from tornado import httputil
from tornado.iostream import SSLIOStream

from .origins import is_loopback_ip, split_port


class _Redirect(httputil.HTTPMessageDelegate):
    def __init__(self, front: LocalhostFront, server_conn, request_conn):
        self.front = front
        self.server_conn = server_conn
        self.request_conn = request_conn
        self.inner: httputil.HTTPMessageDelegate | None = None

    def headers_received(self, start_line, headers):
        host = headers.get("Host", "")
        if (
            start_line.method in ("GET", "HEAD")
            and is_loopback_ip(host)
            and "text/html" in headers.get("Accept", "")
            and "Upgrade" not in headers
        ):
            scheme = "https" if isinstance(getattr(self.request_conn, "stream", None), SSLIOStream) else "http"
            location = f"{scheme}://{self.front.host}{split_port(host)[1]}{start_line.path}"
            response = httputil.ResponseStartLine(start_line.version, 302, "Found")
            self.request_conn.write_headers(
                response,
                httputil.HTTPHeaders({"Location": location, "Content-Length": "0", "Cache-Control": "no-store"}),
            )
            self.request_conn.finish()
            return None
        self.inner = self.front.app_start_request(self.server_conn, self.request_conn)
        return self.inner.headers_received(start_line, headers)

    def data_received(self, chunk):
        return self.inner.data_received(chunk) if self.inner is not None else None

    def finish(self):
        return self.inner.finish() if self.inner is not None else None

    def on_connection_close(self):
        return self.inner.on_connection_close() if self.inner is not None else None


class LocalhostFront(httputil.HTTPServerConnectionDelegate):
    """Takes the place of ``app.start_request``; everything not redirected goes on to it."""

    def __init__(self, app, host: str = "localhost"):
        self.host = host
        self.app_start_request = app.start_request  # the application's (or the fast path's)

    def start_request(self, server_conn, request_conn) -> httputil.HTTPMessageDelegate:
        return _Redirect(self, server_conn, request_conn)


def install(app, host: str = "localhost") -> LocalhostFront:
    front = LocalhostFront(app, host)
    app.start_request = front.start_request
    return front

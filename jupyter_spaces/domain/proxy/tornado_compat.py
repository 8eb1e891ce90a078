"""The tornado internals the proxy relies on, each behind one function.

The proxy writes response heads itself, pumps bodies past tornado's buffers and
serves repeat requests in front of the application (see the package docstring):
that takes a handful of tornado's private attributes. They are all used here and
nowhere else, so a tornado release that changes them breaks this module only, and
``problems()`` (run by ``tests/domain/test_tornado_compat.py``) names what broke.
``pyproject.toml`` bounds tornado to ``SUPPORTED``.
"""

from __future__ import annotations

import inspect
import socket

import tornado
from tornado import httputil, web
from tornado.http1connection import HTTP1Connection
from tornado.iostream import IOStream

#: The tornado versions this module was written against: [low, high).
SUPPORTED = ((6, 4), (7, 0))


# -------------------------------------------------------------- HTTP1Connection


def set_request_start_line(conn: HTTP1Connection, method: str, target: str) -> None:
    """Tell a client connection what request it carries (the head was written without it;
    reading the response needs the method: HEAD has no body)."""
    conn._request_start_line = httputil.RequestStartLine(method, target, "HTTP/1.1")


def request_finished(conn: HTTP1Connection) -> bool:
    """Whether the request on a client connection has been finished (all of it written)."""
    return conn._write_finished


def closes_after_response(conn) -> bool:
    """Whether a server connection closes once the response at hand is sent."""
    return getattr(conn, "_disconnect_on_finish", False)


def close_after_response(conn: HTTP1Connection) -> None:
    """Make a server connection close once the response at hand is sent."""
    conn._disconnect_on_finish = True


# ----------------------------------------------------------------------- IOStream


def buffered_bytes(stream: IOStream) -> int:
    """Bytes read from the socket that nobody has consumed yet."""
    return stream._read_buffer_size


async def take_socket(stream: IOStream) -> tuple[socket.socket, bytes]:
    """Take a detached connection's socket out of tornado: (the socket, the bytes tornado
    had read from it but nobody consumed). The stream is closed; the connection is not
    (the socket returned is a duplicate of the stream's)."""
    waiting = buffered_bytes(stream)
    early = await stream.read_bytes(waiting) if waiting else b""
    sock = stream.socket.dup()
    stream.close()  # unregisters its descriptor from the loop before closing it
    sock.setblocking(False)
    return sock, early


def _keep_nodelay(value: bool) -> None:
    pass


def keep_nodelay(stream: IOStream) -> None:
    """TCP_NODELAY on, and kept on: tornado turns Nagle on and off around every
    message (two system calls a request); every write here is a whole message
    or a large chunk, which Nagle would only delay."""
    if stream.set_nodelay is not _keep_nodelay:
        stream.set_nodelay(True)
        stream.set_nodelay = _keep_nodelay


# ------------------------------------------------------------------ RequestHandler


def handler_finished(handler: web.RequestHandler) -> bool:
    """Whether the handler's response is over."""
    return handler._finished


def reset_response(handler: web.RequestHandler) -> None:
    """A response with no headers at all (not even tornado's defaults), status 200."""
    handler._headers = httputil.HTTPHeaders()
    handler._write_buffer = []
    handler._status_code = 200
    handler._reason = "OK"


def drop_headers(handler: web.RequestHandler) -> None:
    """Forget the headers set so far (cookies stay)."""
    handler._headers = httputil.HTTPHeaders()


def new_cookies(handler: web.RequestHandler) -> list[str]:
    """``Set-Cookie`` values the handler has set (e.g. the ``_xsrf`` cookie)."""
    cookies = getattr(handler, "_new_cookie", None)
    return [c.OutputString(None) for c in cookies.values()] if cookies else []


def head_written_elsewhere(handler: web.RequestHandler, code: int, reason: str) -> None:
    """The response head went to the client without the handler: its own output
    machinery stays out of the way, ``finish()`` only ends the response."""
    handler._headers_written = True
    handler._transforms = []
    handler._status_code = code
    handler._reason = reason


#: The method tornado calls to log a finished request (overridden by the proxy's handler).
LOG_METHOD = "_log"


# --------------------------------------------------------------------- Application


def front(app: web.Application, start_request) -> None:
    """Put ``start_request`` in the place of ``app.start_request``: every ``HTTPServer``
    serving ``app`` calls it for each request."""
    app.start_request = start_request


# -------------------------------------------------------------------------- checks


def problems() -> list[str]:
    """What of the above the installed tornado lacks (empty when all is well)."""
    from unittest import mock

    found = []
    version = tornado.version_info[:2]
    low, high = SUPPORTED
    if not low <= version < high:
        found.append(f"tornado {tornado.version} is outside the supported range {low} to {high} (excluded)")
    conn = HTTP1Connection(mock.Mock(max_buffer_size=1), False)
    for attr in ("_request_start_line", "_write_finished", "_disconnect_on_finish"):
        if not hasattr(conn, attr):
            found.append(f"HTTP1Connection has no {attr}")
    sock = socket.socket()
    try:
        stream = IOStream(sock)
        if not isinstance(getattr(stream, "_read_buffer_size", None), int):
            found.append("IOStream has no _read_buffer_size")
        if not callable(getattr(stream, "set_nodelay", None)):
            found.append("IOStream has no set_nodelay")
    finally:
        sock.close()
    request = httputil.HTTPServerRequest(
        start_line=httputil.RequestStartLine("GET", "/", "HTTP/1.1"),
        headers=httputil.HTTPHeaders({"Host": "localhost"}),
        connection=mock.Mock(),
    )
    handler = web.RequestHandler(web.Application(), request)
    handler.set_cookie("probe", "1")
    for attr in ("_finished", "_headers", "_write_buffer", "_status_code", "_reason", "_headers_written",
                 "_new_cookie"):
        if not hasattr(handler, attr):
            found.append(f"RequestHandler has no {attr}")
    if "self._transforms" not in inspect.getsource(web.RequestHandler.flush):
        found.append("RequestHandler.flush() no longer uses _transforms")
    if not callable(getattr(web.RequestHandler, LOG_METHOD, None)):
        found.append(f"RequestHandler has no {LOG_METHOD}()")
    if not callable(getattr(web.Application, "start_request", None)):
        found.append("Application has no start_request()")
    return found

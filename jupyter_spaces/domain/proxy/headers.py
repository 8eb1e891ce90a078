"""What crosses the proxy in each direction, header by header.

Toward the space server: hop-by-hop headers, inbound ``X-Jupyter-Spaces-*``
headers and the domain's credentials are dropped, the domain's ``_xsrf`` cookie
is added where missing, ``X-Forwarded-*`` are set and the request is signed.
Toward the client: hop-by-hop headers and the space's own ``_xsrf`` cookie are
dropped, and a space's raw files get the proxy's own sandbox. Heads are written
as bytes (cheaper than tornado's ``HTTPHeaders``). The handler and the fast path
both use these, so a space server sees the same request whichever served it.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

from tornado import httputil

from ... import signing
from .state import Target

__all__ = [
    "RAW_FILE_HEADERS",
    "XSRF_COOKIE",
    "connection_tokens",
    "encode_head",
    "relayed_header_lines",
    "request_head",
    "upstream_headers",
    "upstream_target",
]

XSRF_COOKIE = "_xsrf"

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
# The proxy sets X-Forwarded-Host and -Proto itself: a client's own never reach a space.
_DROP_REQUEST = _HOP | {"host", "expect", "cookie", "authorization", "x-forwarded-host", "x-forwarded-proto"}
# A websocket's handshake is the space server's: the client's key, version,
# subprotocols and extensions go through; the Origin was checked here.
_DROP_WS_REQUEST = _DROP_REQUEST | {"origin", "sec-websocket-accept"}
_PREFIX = signing.HEADER_PREFIX.lower()


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
        # server sees it, so it does not mint a second one (see the package docstring).
        kept.append(f"{XSRF_COOKIE}={xsrf_token()}")
    return "; ".join(kept) if kept else None


def upstream_headers(
    request: httputil.HTTPServerRequest, t: Target, target: str, method: str, *, ws: bool, login_cookie: str,
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
    not the space's own ``_xsrf`` cookie (the domain owns it, see the package
    docstring); for a raw file at request ``path``, the proxy's own sandbox."""
    lines = [*RAW_FILE_HEADERS] if _RAW_FILE_PATH.search(path) else []
    for name, value in fields:
        lower = name.lower()
        if lower in _HOP or lower in extra:
            continue
        if lower == "set-cookie" and value.lstrip().startswith(XSRF_COOKIE + "="):
            continue
        lines.append(f"{name}: {value}")
    return lines

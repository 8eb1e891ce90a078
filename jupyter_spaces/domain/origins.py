"""Where a space is served from: its own origin, or (fallback) a path on the domain's.

A space's pages are written by its editors (notebook outputs, HTML files,
extensions). On the domain's origin such a page could use every visitor's
login cookie and XSRF token: read their private spaces, call the domain API
as them. So each space gets an origin of its own, ``{space}.<suffix>``, and
the browser keeps the domain's login cookie (host-only) away from it.

- **Host mode** (``space_host`` set, or by default when the domain listens on
  loopback: ``{space}.localhost``, which browsers resolve to loopback
  themselves). The domain is served on the suffix host (``localhost``, or
  ``spaces.example.org`` for ``{space}.spaces.example.org``); a space's
  origin keeps the port of the request that entered it.
- **Path mode** (``space_host`` empty and the domain not on loopback): every
  space on the domain's origin, as ``<base_url>spaces/{space}/``. A startup
  warning and a banner say what that means.
"""

from __future__ import annotations

import ipaddress
import re
from typing import NamedTuple

SPACE_LABEL = r"[a-z0-9](?:-?[a-z0-9]){0,62}"
LOOPBACK_TEMPLATE = "{space}.localhost"


def split_port(host: str) -> tuple[str, str]:
    """``("name", ":port")`` of a Host header value (IPv6 literals kept whole)."""
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[: end + 1], host[end + 1 :]
    name, colon, port = host.rpartition(":")
    if colon and port.isdigit():
        return name, ":" + port
    return host, ""


def is_loopback_ip(host: str) -> bool:
    name = split_port(host)[0].strip("[]")
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def listens_on_loopback(ip: str) -> bool:
    return ip in ("localhost", "127.0.0.1", "::1") or is_loopback_ip(ip)


class SpaceOrigins:
    """Names and recognises the spaces' own origins (``template`` "" means path mode)."""

    def __init__(self, template: str = ""):
        template = template.strip().lower()
        if template:
            prefix, found, suffix = template.partition("{space}")
            if not found or prefix or not suffix.startswith(".") or len(suffix) < 2 or ":" in suffix:
                raise ValueError(
                    f"space_host must look like '{{space}}.spaces.example.org' (no port), not {template!r}"
                )
            self.suffix = suffix
            self._host_re = re.compile(rf"^({SPACE_LABEL}){re.escape(suffix)}$")
        else:
            self.suffix = ""
            self._host_re = None
        self.template = template

    @property
    def isolated(self) -> bool:
        return bool(self.template)

    @property
    def domain_host(self) -> str:
        """The domain's own host name in host mode (``localhost``, ``spaces.example.org``)."""
        return self.suffix[1:]

    @property
    def host_pattern(self) -> str:
        """A tornado ``HostMatches`` pattern for every space host (port excluded)."""
        return self._host_re.pattern if self._host_re else "^$"

    def space_of(self, host: str) -> str | None:
        """The space a ``Host`` header names, or None (the domain's host, or path mode)."""
        if self._host_re is None or not host:
            return None
        match = self._host_re.match(split_port(host)[0])
        return match.group(1) if match else None

    def space_origin(self, name: str, scheme: str, request_host: str) -> str:
        """``scheme://{name}.<suffix>[:port]``, the port taken from the request's Host."""
        return f"{scheme}://{name}{self.suffix}{split_port(request_host)[1]}"

    def domain_origin(self, scheme: str, request_host: str) -> str:
        """The domain's origin, as seen from a request to one of its hosts (any of them)."""
        return f"{scheme}://{self.domain_host}{split_port(request_host)[1]}"


#: The cookie of a space session, host-only on the space's host.
SPACE_COOKIE = "jupyter-spaces-space"
#: The query parameter of ``<base>spaces/_enter`` that carries a one-time ticket.
TICKET_PARAM = "ticket"


class HostFacts(NamedTuple):
    """What the proxy decides from the ``Host`` header alone (cached per Host)."""

    allowed: bool
    #: the cookie that authenticates browsers here; never forwarded to a space
    login_cookie: str
    #: prefix of that cookie's identity-cache key ("c:" login, "s:" space session)
    cookie_key: str
    #: the space whose own host this is (None: the domain's host)
    space: str | None
    #: whether cookie-authenticated callers are proxied on this host
    cookie_proxy: bool


def host_facts(origins: SpaceOrigins, host: str, domain_host_allowed, login_cookie_name) -> HostFacts:
    """``domain_host_allowed()`` and ``login_cookie_name()`` are asked for the domain's hosts only."""
    space = origins.space_of(host)
    if space is not None:
        return HostFacts(True, SPACE_COOKIE, "s:", space, True)
    return HostFacts(domain_host_allowed(), login_cookie_name(), "c:", None, not origins.isolated)

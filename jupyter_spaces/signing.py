"""Signed identity: how the domain proxy tells a space server who is calling.

The domain is the only place where users authenticate. Its reverse proxy
strips every inbound ``X-Jupyter-Spaces-*`` header (see ``HEADER_PREFIX`` and
``IDENTITY_HEADERS``), then adds the headers returned by :func:`sign_request`.
The space agent (``jupyter_spaces.space``) checks them with a :class:`Verifier`
and refuses anything else, so a direct connection to a space server's port,
a forged header or a replayed request gets 403.

Scheme (version ``v1``)::

    identity  = base64url(JSON {name, display_name, initials, color, role})
    material  = "\\n".join(["jupyter-spaces-v1", space, METHOD, path,
                           timestamp, nonce, identity])
    signature = "v1=" + hex(HMAC-SHA256(secret, material))

* ``secret`` is the per-space secret (text, UTF-8 encoded as the HMAC key);
  :func:`generate_secret` makes one.
* ``path`` is the raw request target exactly as the space server receives it
  (tornado's ``request.uri``): the URL-encoded path, plus ``?query`` only when
  the query is not empty (tornado's HTTP client drops a bare ``?``). The space
  server runs with ``base_url`` equal to the domain's ``<base_url>spaces/<name>/``,
  so the proxy forwards the request target it received, unchanged and not
  re-encoded, and signs that same string.
* ``timestamp`` is Unix time in seconds with millisecond decimals; requests
  more than ``max_skew`` seconds away from the verifier's clock are refused.
* ``nonce`` is random per request; the verifier remembers nonces for the
  skew window and refuses a second use (replay).
* Websocket upgrades (kernels, terminals, collaboration) are signed the same
  way: method ``GET`` and the upgrade request's target.

What is not covered: the request body and other headers. The signature
authenticates *who* asks for *which* method on *which* URL of *which* space,
once, recently. The hop from the domain to the space server is local
(loopback or a unix socket), so the body cannot be altered in transit by
anyone who could not already read the secret.

Plain Python on purpose: the domain proxy and the agent share it, and it is
tested without a server.
"""

from __future__ import annotations

import base64
import binascii
import collections
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass

__all__ = [
    "HEADER_IDENTITY",
    "HEADER_NONCE",
    "HEADER_PREFIX",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "IDENTITY_HEADERS",
    "ROLES",
    "Identity",
    "InvalidSignature",
    "Verifier",
    "control_space",
    "generate_secret",
    "sign_request",
]

HEADER_PREFIX = "X-Jupyter-Spaces-"
HEADER_IDENTITY = HEADER_PREFIX + "Identity"
HEADER_TIMESTAMP = HEADER_PREFIX + "Timestamp"
HEADER_NONCE = HEADER_PREFIX + "Nonce"
HEADER_SIGNATURE = HEADER_PREFIX + "Signature"
#: Every header of the scheme; the proxy removes inbound copies of these
#: (better: of every header starting with HEADER_PREFIX) before signing.
IDENTITY_HEADERS = (HEADER_IDENTITY, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE)

ROLES = ("owner", "editor", "viewer")
VERSION = "v1"
_CONTEXT = "jupyter-spaces-v1"
_NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_TIMESTAMP_RE = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,6})?$")
_SIGNATURE_RE = re.compile(r"^v1=[0-9a-f]{64}$")
# An identity is a handful of short strings; anything bigger is not ours.
_MAX_IDENTITY_CHARS = 4096
MIN_SECRET_BYTES = 16


class InvalidSignature(Exception):
    """The request does not carry a valid signed identity; ``reason`` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Identity:
    """Who the domain says is calling, and with which role in this space."""

    name: str
    display_name: str
    initials: str
    color: str
    role: str

    def __post_init__(self):
        for field, value in asdict(self).items():
            if not isinstance(value, str):
                raise ValueError(f"identity field {field!r} must be a string")
        if not self.name:
            raise ValueError("identity name must not be empty")
        if self.role not in ROLES:
            raise ValueError(f"identity role must be one of {ROLES}, not {self.role!r}")

    @classmethod
    def from_dict(cls, data: Mapping) -> Identity:
        if not isinstance(data, Mapping):
            raise ValueError("identity must be a JSON object")
        name = data.get("name")
        return cls(
            name=name,
            display_name=data.get("display_name") or name,
            initials=data.get("initials") or "",
            color=data.get("color") or "",
            role=data.get("role"),
        )

    def encode(self) -> str:
        raw = json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)
        return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(cls, value: str) -> Identity:
        padded = value + "=" * (-len(value) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        return cls.from_dict(data)


def control_space(space: str) -> str:
    """What the domain's own notices to ``space``'s agent are signed for, in place of the space name.

    The proxy signs a user's requests for ``space``; ``#`` is never in a space
    name, so no request the proxy forwards can pass as a notice from the domain.
    """
    return space + "#domain"


def generate_secret() -> str:
    """A fresh per-space secret (256 random bits, URL-safe text)."""
    return secrets.token_urlsafe(32)


def _key(secret: str | bytes) -> bytes:
    key = secret.encode() if isinstance(secret, str) else bytes(secret)
    if len(key) < MIN_SECRET_BYTES:
        raise ValueError(f"the space secret must be at least {MIN_SECRET_BYTES} bytes")
    return key


def _signature(key: bytes, space, method, path, timestamp, nonce, identity) -> str:
    material = "\n".join([_CONTEXT, space, method.upper(), path, timestamp, nonce, identity])
    return VERSION + "=" + hmac.new(key, material.encode(), hashlib.sha256).hexdigest()


def sign_request(
    secret: str | bytes,
    space: str,
    method: str,
    path: str,
    identity: Identity | Mapping,
    now: float | None = None,
) -> dict[str, str]:
    """Headers that prove to ``space``'s agent that the domain sends this request.

    ``path`` is the raw request target (path and ``?query``) as the space
    server will receive it. ``identity`` is an :class:`Identity` or a mapping
    with its fields. Every call makes a new nonce: sign each request once.
    """
    if not isinstance(identity, Identity):
        identity = Identity.from_dict(identity)
    timestamp = f"{time.time() if now is None else now:.3f}"
    nonce = secrets.token_urlsafe(18)
    encoded = identity.encode()
    return {
        HEADER_IDENTITY: encoded,
        HEADER_TIMESTAMP: timestamp,
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: _signature(_key(secret), space, method, path, timestamp, nonce, encoded),
    }


class Verifier:
    """Checks signed identities for one space; refuses stale and replayed ones.

    The nonce cache holds the nonces seen within the clock-skew window. It is
    bounded by ``nonce_cache_size``: when it is full of nonces that are still
    inside the window, the oldest is dropped and every request not newer than
    it is refused from then on (fail closed rather than allow a replay).
    """

    def __init__(
        self,
        secret: str | bytes,
        space: str,
        max_skew: float = 30.0,
        nonce_cache_size: int = 100_000,
    ):
        self._key = _key(secret)
        self.space = space
        self.max_skew = float(max_skew)
        self.nonce_cache_size = int(nonce_cache_size)
        self._nonces: collections.OrderedDict[str, float] = collections.OrderedDict()
        self._floor = float("-inf")
        self._lock = threading.Lock()

    def verify(self, method: str, path: str, headers: Mapping, now: float | None = None) -> Identity:
        """The signed :class:`Identity` of a request, or :class:`InvalidSignature`."""
        now = time.time() if now is None else now
        values = _get_headers(headers)
        missing = [name for name in IDENTITY_HEADERS if not values.get(name.lower())]
        if missing:
            raise InvalidSignature(f"missing header {missing[0]}")
        encoded = values[HEADER_IDENTITY.lower()]
        timestamp = values[HEADER_TIMESTAMP.lower()]
        nonce = values[HEADER_NONCE.lower()]
        signature = values[HEADER_SIGNATURE.lower()]
        if not _TIMESTAMP_RE.match(timestamp):
            raise InvalidSignature("malformed timestamp")
        if not _NONCE_RE.match(nonce):
            raise InvalidSignature("malformed nonce")
        if not _SIGNATURE_RE.match(signature) or len(encoded) > _MAX_IDENTITY_CHARS:
            raise InvalidSignature("malformed signature")
        sent = float(timestamp)
        if abs(now - sent) > self.max_skew:
            raise InvalidSignature("timestamp outside the allowed clock skew")
        expected = _signature(self._key, self.space, method, path, timestamp, nonce, encoded)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise InvalidSignature("signature does not match")
        # Only authentic requests reach the cache, so forgeries cannot fill it.
        self._remember(nonce, sent, now)
        try:
            return Identity.decode(encoded)
        except (ValueError, TypeError, binascii.Error) as e:
            # Signed but malformed: a bug in the signer, not an attack (details in __cause__).
            raise InvalidSignature("signed identity is malformed") from e

    def _remember(self, nonce: str, sent: float, now: float) -> None:
        with self._lock:
            if nonce in self._nonces:
                raise InvalidSignature("nonce already used (replay)")
            if sent <= self._floor:
                raise InvalidSignature("nonce cache overflow: request too old to check for replay")
            horizon = now - self.max_skew
            while self._nonces:
                oldest, oldest_sent = next(iter(self._nonces.items()))
                if oldest_sent >= horizon and len(self._nonces) < self.nonce_cache_size:
                    break
                del self._nonces[oldest]
                if oldest_sent >= horizon:
                    self._floor = max(self._floor, oldest_sent)
            self._nonces[nonce] = sent


def _get_headers(headers: Mapping) -> dict[str, str]:
    """Lower-cased view of our headers from a dict or tornado's HTTPHeaders."""
    wanted = {name.lower() for name in IDENTITY_HEADERS}
    return {k.lower(): v for k, v in headers.items() if k.lower() in wanted}

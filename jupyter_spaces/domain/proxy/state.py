"""What the proxy keeps between requests, per domain: ``Proxy``, held by the domain
(``domain.proxy``).

The handler and the fast path share it: the (user, space) answers of
``open_target`` (``Target``, cached ``TARGET_TTL`` seconds), the connection pools,
the open upstream websockets, what is known of each ``Host`` and when each space's
activity was last noted. The domain tells it of changes (``forget``) and of its
end (``shutdown``).
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from ... import signing
from ..origins import HostFacts
from .limits import ACTIVITY_INTERVAL
from .pool import Pool, StreamPool

__all__ = ["Proxy", "Target", "target_key"]


class SignedIdentity(signing.Identity):
    """An identity whose encoding is computed once (it is signed on every request)."""

    def encode(self) -> str:
        encoded = self.__dict__.get("_encoded")
        if encoded is None:
            encoded = super().encode()
            object.__setattr__(self, "_encoded", encoded)
        return encoded


class Target:
    """What the proxy needs for one (user, running space)."""

    __slots__ = ("expires", "identity", "image", "name", "netloc", "secret", "server_url", "ws_base")

    def __init__(self, data: dict, expires: float):
        self.name = data["name"]
        self.server_url = data["server_url"].rstrip("/")
        self.secret = data["secret"]
        self.image = data.get("image")
        identity = signing.Identity.from_dict(data["identity"])
        self.identity = SignedIdentity(**{f: getattr(identity, f) for f in identity.__dataclass_fields__})
        parts = urlsplit(self.server_url)
        self.netloc = parts.netloc
        self.ws_base = ("wss://" if parts.scheme == "https" else "ws://") + parts.netloc
        self.expires = expires


def target_key(user, name: str) -> tuple:
    """The cache key of ``user``'s target for space ``name``."""
    return (user.id, user.username, user.admin, name)


class Proxy:
    """The proxy's state in one domain.

    ``on_activity(name)`` is told that space ``name`` is in use (see ``note_activity``).
    """

    def __init__(self, on_activity):
        self.on_activity = on_activity
        self.targets: dict[tuple, Target] = {}
        self.pool = StreamPool()
        self.fast_pool: Pool | None = None  # the fast path's own connections, once used
        self.activity: dict[str, float] = {}
        self.sockets: set = set()  # websockets being relayed (websocket.Splice), until both ends closed
        self.hosts: dict[str, HostFacts] = {}

    def pools(self) -> list[Pool]:
        return [self.pool] if self.fast_pool is None else [self.pool, self.fast_pool]

    def forget(self, name: str | None = None, user_id: int | None = None) -> None:
        """Drop cached answers (of space ``name``, of user ``user_id``, or all): call on stop,
        start, member and user changes.

        Without it such changes reach the proxy within ``TARGET_TTL`` seconds anyway.
        """
        if user_id is not None:
            for key in [k for k in self.targets if k[0] == user_id]:
                del self.targets[key]
            return
        if name is None:
            self.targets.clear()
            for pool in self.pools():
                pool.forget()
            return
        netlocs = set()
        for key in [k for k, t in self.targets.items() if t.name == name]:
            netlocs.add(self.targets.pop(key).netloc)
        for netloc in netlocs:
            for pool in self.pools():
                pool.forget(netloc)

    def shutdown(self) -> None:
        """Close connections to space servers and upstream websockets; forget everything
        (call when the domain stops)."""
        for pool in self.pools():
            pool.forget()
        self.targets.clear()
        self.hosts.clear()
        self.activity.clear()
        for splice in list(self.sockets):
            splice.abort()  # a close frame could wait on a slow client past the domain's end
        self.sockets.clear()

    def note_activity(self, name: str) -> None:
        """Tell the domain that space ``name`` is in use (at most once a second)."""
        now = time.monotonic()
        if now - self.activity.get(name, -ACTIVITY_INTERVAL) >= ACTIVITY_INTERVAL:
            self.activity[name] = now
            self.on_activity(name)

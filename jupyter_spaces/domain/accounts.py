"""Pure helpers for user identity: initials, colours, tokens, password hashes, login throttling."""

from __future__ import annotations

import hashlib
import math
import secrets
import threading
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Distinct colours readable on light and dark themes (JupyterLab's collaborator palette
# extended). A new user takes the first one nobody has; the choice is stored, so it is
# stable for the life of the user.
PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#e377c2",
    "#8c564b", "#bcbd22", "#7f7f7f", "#393b79", "#ad494a", "#637939", "#843c39",
    "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363",
)  # fmt: skip

_hasher = PasswordHasher()


def initials_for(display_name: str) -> str:
    words = [w for w in display_name.replace("_", " ").replace("-", " ").split() if w]
    if not words:
        return "?"
    # Upper-casing can lengthen a letter (ﬃ → FFI): cut after it.
    if len(words) == 1:
        return words[0][:2].upper()[:2]
    return (words[0][0].upper()[:1] + words[-1][0].upper()[:1])


def pick_color(name: str, taken: set[str]) -> str:
    for color in PALETTE:
        if color not in taken:
            return color
    # Palette exhausted: a stable choice derived from the name.
    digest = hashlib.sha256(name.encode()).digest()
    return PALETTE[digest[0] % len(PALETTE)]


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0
    locks: int = 0
    until: float = 0.0


class LoginThrottle:
    """Failed password logins, counted per user name and per client address.

    After ``per_user`` failures for one name (``per_address`` from one address),
    with no pause of ``window`` seconds between them, the key is locked for ``lockout`` seconds; every further failure after a
    lock doubles it, up to ``max_lockout``. While a key is locked every attempt is
    refused before its password is looked at (a right one too), and is not counted.
    A key is forgotten ``window`` seconds after its last failure; a success forgets
    its name's failures (not its address's: one good account must not reset a guesser).
    In memory, per domain process: a restart forgets, which only ever lets a user in.
    """

    def __init__(
        self,
        *,
        per_user: int = 5,
        per_address: int = 20,
        window: float = 900.0,
        lockout: float = 30.0,
        max_lockout: float = 900.0,
        size: int = 100_000,
        clock=time.monotonic,
    ):
        self.limits = {"user": per_user, "address": per_address}
        self.window = window
        self.lockout = lockout
        self.max_lockout = max_lockout
        self.size = size
        self.clock = clock
        self._keys: dict[tuple[str, str], _Failures] = {}
        self._lock = threading.Lock()  # logins are checked on the store's threads

    def _live(self, key: tuple[str, str], now: float) -> _Failures | None:
        state = self._keys.get(key)
        if state is not None and state.until <= now and now - state.last > self.window:
            del self._keys[key]
            return None
        return state

    def retry_after(self, name: str, client: str) -> int:
        """Whole seconds until ``name`` may try again from ``client``; 0: now."""
        now = self.clock()
        with self._lock:
            waits = [state.until - now for key in (("user", name), ("address", client))
                     if (state := self._live(key, now)) is not None]
        wait = max(waits, default=0.0)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, name: str, client: str) -> list[tuple[str, int]]:
        """Count a failure; returns the locks it began, as ``(scope, seconds)``."""
        now = self.clock()
        with self._lock:
            return self._failed(name, client, now)

    def _failed(self, name: str, client: str, now: float) -> list[tuple[str, int]]:
        if len(self._keys) >= self.size:  # forget the stale ones
            for key in list(self._keys):
                self._live(key, now)
        locks = []
        for scope, value in (("user", name), ("address", client)):
            state = self._live((scope, value), now) or self._keys.setdefault((scope, value), _Failures())
            state.count += 1
            state.last = now
            if state.count >= self.limits[scope]:
                seconds = min(self.max_lockout, self.lockout * 2 ** min(state.locks, 30))
                state.locks += 1
                state.until = now + seconds
                locks.append((scope, math.ceil(seconds)))
        return locks

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._keys.pop(("user", name), None)

"""A new space's uid and port on this machine: stable where it can be, never one that
another recorded space holds."""

from __future__ import annotations

import hashlib
import random
import socket

from .base import LaunchError


def uid_for(space: str, uid_range: tuple[int, int], taken: set[int] | None = None) -> int:
    """The space's uid: stable hash of the name in ``uid_range``, skipping ``taken``."""
    lo, hi = uid_range
    n = hi - lo + 1
    h = int(hashlib.sha256(space.encode()).hexdigest()[:12], 16)
    taken = taken or set()
    for i in range(n):
        uid = lo + (h + i) % n
        if uid not in taken:
            return uid
    raise LaunchError("No free uid for a new space; widen the launcher's uid_range.")


def free_port(port_range: tuple[int, int], used: set) -> int:
    """A 127.0.0.1 port in ``port_range`` that is not ``used`` and binds now."""
    lo, hi = port_range
    for _ in range(200):
        port = random.randint(lo, hi)
        if port in used:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise LaunchError(f"No free port in {lo}-{hi} for the space server; try again later.")

"""Disk use of a directory tree: shared by the launcher (a directory volume's size) and
the space agent (its soft quota), which must count the same way and import neither
each other."""

from __future__ import annotations

import os
import stat


def tree_used_bytes(path: str) -> int:
    """Disk bytes used by a directory tree (st_blocks), not following symlinks."""
    total = 0
    stack = [path]
    while stack:
        d = stack.pop()
        try:
            with os.scandir(d) as it:
                for e in it:
                    try:
                        st = e.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    total += st.st_blocks * 512
                    if stat.S_ISDIR(st.st_mode):
                        stack.append(e.path)
        except OSError:
            pass
    return total

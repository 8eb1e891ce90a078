"""Giving memory back to the system (glibc): a big document's load frees about as much
as it keeps, and glibc would otherwise keep it in the process's resident set."""

from __future__ import annotations

from typing import Any

#: bytes of encoded document above which a load gives its freed memory back to the system
BIG_DOCUMENT = 4 << 20


def release_free_memory() -> None:
    """Give the heap's free memory back to the system (glibc): loading a big document
    frees about as much as it keeps (parsed JSON, encoder buffers), which would
    otherwise stay in this process's resident set."""
    if _malloc_trim is not None:
        _malloc_trim(0)


def _libc() -> Any:
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim, libc.mallopt  # noqa: B018 -- glibc's
        return libc
    except (OSError, AttributeError):  # not glibc
        return None


_LIBC = _libc()
_malloc_trim = _LIBC.malloc_trim if _LIBC is not None else None
M_MMAP_THRESHOLD = -3


def set_mmap_threshold(nbytes: int) -> bool:
    """Allocate blocks of ``nbytes`` and more with their own mappings (glibc), so that
    freeing them gives the memory back at once. glibc raises this threshold by itself,
    up to 32 MiB, after a big block is freed: a server that had opened a big document
    then served its next big buffers from the heap, where they stayed resident once
    freed (a 20 MB notebook's room read 3.5x its size instead of 1.7x). Returns False
    where the allocator is not glibc's."""
    if _LIBC is None or nbytes <= 0:
        return False
    return bool(_LIBC.mallopt(M_MMAP_THRESHOLD, int(nbytes)))

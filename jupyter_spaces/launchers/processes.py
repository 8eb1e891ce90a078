"""Process supervision of a space server on this machine: is it (still) the process we
started, which processes are its, and how to end them all.

For any launcher whose space server is a local process tree (the local launcher, a
batch job's node agent ...). A process is named by ``(pid, start)``: its start time
after boot (from ``/proc/<pid>/stat``) tells it apart from a later process that reused
the pid, so a state persisted by one domain process is safe to act on in the next.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time

from . import cgroups


def proc_start_time(pid: int) -> int | None:
    """Start time (clock ticks after boot) of a live, non-zombie process, else None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    fields = data.rsplit(")", 1)[-1].split()
    if not fields or fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def alive(pid: int | None, start: int | None) -> bool:
    """Whether ``pid`` runs and (when ``start`` is known) is the process that started then."""
    if not pid:
        return False
    st = proc_start_time(pid)
    return st is not None and (start is None or st == start)


def children(pid: int) -> list[int]:
    res: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                res.extend(int(x) for x in f.read().split())
    except OSError:
        pass
    return res


def descendants(pid: int) -> list[int]:
    out, stack = [], [pid]
    while stack:
        for c in children(stack.pop()):
            if c not in out:
                out.append(c)
                stack.append(c)
    return out


def comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def kill(pid: int, sig: int) -> None:
    with contextlib.suppress(OSError):
        os.kill(pid, sig)


def normalize_status(rc: int) -> int:
    """An exit status as the Launcher contract reports it (``<0``: killed by that signal)."""
    # bwrap reports a child killed by signal N as exit status 128+N
    if 128 < rc < 128 + 65:
        return -(rc - 128)
    return rc


def terminate(state: dict, popen: subprocess.Popen | None, stop_timeout: float, log: logging.Logger) -> None:
    """Blocking: SIGTERM the server, wait up to ``stop_timeout``, then SIGKILL every
    process of the space (its tree from ``state["pid"]`` and its cgroup's), and remove
    the cgroup. ``popen`` (when we started it) is reaped."""
    pid, start = state.get("pid"), state.get("pid_start")
    cg = cgroups.SpaceCgroup.from_state(state.get("cgroup"))
    was_alive = alive(pid, start)

    def everything() -> set[int]:
        procs = set(cg.pids()) if cg else set()
        if pid and alive(pid, start):
            procs.add(pid)
            procs.update(descendants(pid))
        return procs

    procs = everything()
    if procs:
        # polite: the server (not the bwrap monitors) shuts its kernels down
        for p in procs:
            if comm(p) != "bwrap":
                kill(p, signal.SIGTERM)
        deadline = time.monotonic() + stop_timeout
        while time.monotonic() < deadline:
            if popen is not None:
                popen.poll()
            if not everything():
                break
            time.sleep(0.05)
        # forceful: the pid-namespace init first (kills the whole namespace)
        if was_alive and pid:
            for c in children(pid):
                kill(c, signal.SIGKILL)
        for _ in range(100):
            left = everything()
            if not left:
                break
            for p in left:
                kill(p, signal.SIGKILL)
            if popen is not None:
                popen.poll()
            time.sleep(0.02)
    if cg:
        cg.kill_all()
    if popen is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(timeout=5)
    if cg and not cg.remove():
        log.warning("Could not remove cgroup of %s: %s", state.get("space"), cg.dirs)

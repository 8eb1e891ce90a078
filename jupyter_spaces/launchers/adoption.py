"""Finding a space's processes again: after a domain restart, a new launcher object
gets the state a previous domain process persisted (rule 3 of ``base.py``) and must
poll, stop or clean up what that state names.

The local launcher keeps a copy of each space's state in
``<run_dir>/spaces/<space>/state.json`` (root-only, :class:`SpaceRecords`), so it can
find processes even when the domain's copy is older or cgroups are unavailable::

    {"launcher": "local", "version": 1, "pid": 1234, "pid_start": 5678,
     "port": 41234, "uid": 612345, "home": "/run/jupyter-spaces/mounts/<space>",
     "cgroup": {"version": 1, "dirs": {"memory": "...", "cpu": "...", "pids": "..."}},
     "memory_bytes": 2147483648, "sandbox": "privileged"}

A process is the one a state names only if its start time matches too
(:func:`~jupyter_spaces.launchers.processes.alive`): a pid reused since is not ours.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil

from . import cgroups
from .base import LaunchError

SPACE_RE = re.compile(r"^[a-z0-9](-?[a-z0-9]){0,62}$")


def check_name(space: str) -> None:
    if not SPACE_RE.match(space or ""):
        raise LaunchError(f"Invalid space name {space!r}.")


class SpaceRecords:
    """Each space's runtime directory under ``<run_dir>/spaces``: its state, its server's
    log and the files its sandbox is given."""

    def __init__(self, run_dir: str):
        self.base = os.path.join(run_dir, "spaces")

    def space_dir(self, space: str) -> str:
        return os.path.join(self.base, space)

    def state_file(self, space: str) -> str:
        return os.path.join(self.space_dir(space), "state.json")

    def log_file(self, space: str) -> str:
        return os.path.join(self.space_dir(space), "server.log")

    def read(self, space: str) -> dict:
        try:
            with open(self.state_file(space)) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def write(self, space: str, state: dict) -> None:
        path = self.state_file(space)
        with open(path + ".tmp", "w", opener=lambda p, fl: os.open(p, fl, 0o600)) as f:
            json.dump(state, f)
        os.replace(path + ".tmp", path)

    def known(self) -> dict[str, dict]:
        """Every space with a state here, as written."""
        res = {}
        with contextlib.suppress(OSError):
            for name in os.listdir(self.base):
                st = self.read(name)
                if st:
                    res[name] = st
        return res

    def clear(self, space: str) -> None:
        """Remove what a stopped space's directory held, but its server's log."""
        sdir = self.space_dir(space)
        if not os.path.isdir(sdir):
            return
        for name in os.listdir(sdir):
            if name == "server.log":
                continue
            p = os.path.join(sdir, name)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(p)

    def adopted(self, space: str, state: dict, host: cgroups.CgroupLayout | None) -> dict:
        """``state`` (possibly from a previous domain process, possibly ``{}``) completed
        with what this machine still knows of ``space``: its recorded state and, found
        by name, its cgroup (``host``: the usable cgroup hierarchy, if any)."""
        st = dict(state or {})
        for k, v in self.read(space).items():
            st.setdefault(k, v)
        st.setdefault("space", space)
        if not st.get("cgroup") and host is not None:
            dirs = host.space_dirs(space)
            if any(os.path.isdir(d) for d in dirs.values()):
                st["cgroup"] = {"version": host.version, "dirs": dirs}
        return st


def orphans(known: dict[str, dict], found: set[str]) -> tuple[list[str], list[str]]:
    """Of the names ``found`` on this machine (records, cgroups, mounts), those the
    domain does not know: (spaces to stop, temporary cgroups of ``run_in_sandbox``)."""
    spaces, temporary = [], []
    for name in sorted(found):
        if name in (known or {}):
            continue
        if "." in name:  # a temporary cgroup of run_in_sandbox
            temporary.append(name)
        elif SPACE_RE.match(name):
            spaces.append(name)
    return spaces, temporary

"""Resource limits for a space through Linux cgroups (v2 where usable, v1 otherwise).

One job: create a cgroup per space with memory (+swap), CPU and process-count
limits, list/kill what is in it, remove it.

Layout: ``<own cgroup>/<parent_name>/<space>`` in every hierarchy we use, where
*own cgroup* is the cgroup of the launcher's process (so the spaces stay inside
whatever the domain was given, e.g. a systemd slice or a container's cgroup).
On cgroup v2 the launcher's own cgroup usually holds processes and so cannot
delegate controllers to children ("no internal processes" rule); we then fall
back to ``<v2 mount>/<parent_name>`` (works as root or in a cgroup namespace).

The process tree joins the cgroup *before* exec: :func:`join_prefix` returns a
tiny ``/bin/sh`` prefix that writes its own pid to every ``cgroup.procs`` and
then execs the sandbox, so nothing forks outside the limits.
"""

from __future__ import annotations

import errno
import os
import signal
import time
from dataclasses import dataclass, field

# controllers we use, per version
V1_CONTROLLERS = ("memory", "cpu", "pids")
V2_CONTROLLERS = ("memory", "cpu", "pids")


@dataclass
class CgroupLayout:
    """Where space cgroups go on this host (result of :func:`detect`)."""

    version: int  # 2, 1 or 0 (none usable)
    parents: dict[str, str] = field(default_factory=dict)  # v1: controller -> dir; v2: {"unified": dir}
    available: dict[str, str] = field(default_factory=dict)  # limit name -> how ("" if missing)
    missing: dict[str, str] = field(default_factory=dict)  # limit name -> why not
    swap_limited: bool = False

    @property
    def usable(self) -> bool:
        return self.version > 0 and bool(self.parents)

    def space_dirs(self, name: str) -> dict[str, str]:
        return {c: os.path.join(p, name) for c, p in self.parents.items()}


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _mountinfo() -> list[tuple[str, str, str, str]]:
    """(root, mountpoint, fstype, superoptions) of every mount."""
    out = []
    try:
        text = _read("/proc/self/mountinfo")
    except OSError:
        return out
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        lf = left.split()
        rf = right.split()
        if len(lf) < 5 or len(rf) < 3:
            continue
        out.append((_unescape(lf[3]), _unescape(lf[4]), rf[0], rf[2]))
    return out


def _unescape(s: str) -> str:
    return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def _own_cgroups() -> dict[str, str]:
    """controller (or "" for v2) -> own cgroup path, from /proc/self/cgroup."""
    res: dict[str, str] = {}
    try:
        text = _read("/proc/self/cgroup")
    except OSError:
        return res
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        for c in parts[1].split(",") if parts[1] else [""]:
            res[c] = parts[2]
    return res


def _host_dir(mount_root: str, mountpoint: str, cgpath: str) -> str:
    rel = os.path.relpath(cgpath, mount_root) if cgpath.startswith(mount_root) else "."
    return os.path.normpath(os.path.join(mountpoint, rel))


def _try_child(parent: str, required_files: tuple[str, ...]) -> str:
    """Create ``parent`` and a probe child; return "" if usable else the reason."""
    probe = os.path.join(parent, f".probe-{os.getpid()}")
    try:
        os.makedirs(parent, exist_ok=True)
        os.mkdir(probe)
    except OSError as e:
        return f"cannot create cgroups under {parent}: {e.strerror}"
    try:
        missing = [f for f in required_files if not os.path.exists(os.path.join(probe, f))]
        if missing:
            return f"{', '.join(missing)} missing under {parent}"
        return ""
    finally:
        try:
            os.rmdir(probe)
        except OSError:
            pass


def detect(parent_name: str) -> CgroupLayout:
    """Find a writable cgroup hierarchy for space cgroups named ``parent_name``."""
    mounts = _mountinfo()
    own = _own_cgroups()
    reasons: list[str] = []

    # --- v2 (unified) with the controllers we need
    for root, mp, fstype, _opts in mounts:
        if fstype != "cgroup2":
            continue
        try:
            root_ctrls = set(_read(os.path.join(mp, "cgroup.controllers")).split())
        except OSError:
            continue
        if not set(V2_CONTROLLERS) <= root_ctrls:
            reasons.append(f"cgroup v2 at {mp} lacks {', '.join(sorted(set(V2_CONTROLLERS) - root_ctrls))}")
            continue
        own_dir = _host_dir(root, mp, own.get("", "/"))
        if parent_name.startswith("/"):  # an absolute cgroup path, e.g. a delegated systemd slice
            candidates = [(os.path.dirname(mp + parent_name.rstrip("/")), mp + parent_name.rstrip("/"))]
        else:
            candidates = [(b, os.path.join(b, parent_name)) for b in dict.fromkeys([own_dir, mp])]
        for base, parent in candidates:
            try:
                # enabling controllers for children fails (EBUSY) where processes live, except at
                # the root; run the domain in a delegated cgroup or set an absolute cgroup_parent
                _write(os.path.join(base, "cgroup.subtree_control"), " ".join("+" + c for c in V2_CONTROLLERS))
                os.makedirs(parent, exist_ok=True)
                _write(os.path.join(parent, "cgroup.subtree_control"), " ".join("+" + c for c in V2_CONTROLLERS))
            except OSError as e:
                reasons.append(f"cgroup v2 {base}: {e.strerror}")
                continue
            why = _try_child(parent, ("memory.max", "cpu.max", "pids.max"))
            if why:
                reasons.append(why)
                continue
            swap = os.path.exists(os.path.join(parent, "memory.swap.max"))
            return CgroupLayout(
                version=2,
                parents={"unified": parent},
                available={
                    "memory limit": f"cgroup v2 memory.max{' + memory.swap.max=0' if swap else ''}",
                    "cpu limit": "cgroup v2 cpu.max",
                    "process limit": "cgroup v2 pids.max",
                },
                swap_limited=swap,
            )

    # --- v1, controller by controller
    parents: dict[str, str] = {}
    available: dict[str, str] = {}
    missing: dict[str, str] = {}
    files = {
        "memory": ("memory.limit_in_bytes",),
        "cpu": ("cpu.cfs_quota_us", "cpu.cfs_period_us"),
        "pids": ("pids.max",),
    }
    names = {"memory": "memory limit", "cpu": "cpu limit", "pids": "process limit"}
    swap = False
    for ctrl in V1_CONTROLLERS:
        found = None
        for root, mp, fstype, opts in mounts:
            if fstype == "cgroup" and ctrl in opts.split(","):
                found = (root, mp)
                break
        if not found:
            missing[names[ctrl]] = f"no cgroup v1 '{ctrl}' hierarchy mounted" + (
                f" ({'; '.join(reasons)})" if reasons else ""
            )
            continue
        if parent_name.startswith("/"):
            parent = found[1] + parent_name.rstrip("/")
        else:
            parent = os.path.join(_host_dir(found[0], found[1], own.get(ctrl, "/")), parent_name)
        why = _try_child(parent, files[ctrl])
        if why:
            missing[names[ctrl]] = why
            continue
        parents[ctrl] = parent
        if ctrl == "memory":
            probe_swap = os.path.exists(os.path.join(found[1], "memory.memsw.limit_in_bytes"))
            swap = probe_swap
            available[names[ctrl]] = "cgroup v1 memory" + (" (+memsw: swap included)" if swap else " (swap not accounted)")
        else:
            available[names[ctrl]] = f"cgroup v1 {ctrl}"
    return CgroupLayout(version=1 if parents else 0, parents=parents, available=available, missing=missing,
                        swap_limited=swap)


@dataclass
class Limits:
    memory_bytes: int | None = None
    cpus: float | None = None
    max_processes: int | None = None


class SpaceCgroup:
    """The cgroup(s) of one space: one dir (v2) or one per controller (v1)."""

    def __init__(self, version: int, dirs: dict[str, str]):
        self.version = version
        self.dirs = dict(dirs)

    # ---- persistence
    def to_state(self) -> dict:
        return {"version": self.version, "dirs": self.dirs}

    @classmethod
    def from_state(cls, state: dict | None) -> SpaceCgroup | None:
        if not state or not state.get("dirs"):
            return None
        return cls(int(state.get("version", 1)), state["dirs"])

    # ---- lifecycle
    @classmethod
    def create(cls, layout: CgroupLayout, name: str, limits: Limits) -> SpaceCgroup:
        dirs = layout.space_dirs(name)
        cg = cls(layout.version, dirs)
        try:
            for d in dirs.values():
                os.makedirs(d, exist_ok=True)
            cg._apply(limits, layout.swap_limited)
        except OSError:
            cg.remove()
            raise
        return cg

    def _apply(self, limits: Limits, swap: bool) -> None:
        if self.version == 2:
            d = self.dirs["unified"]
            if limits.memory_bytes:
                _write(os.path.join(d, "memory.max"), str(limits.memory_bytes))
                if swap:
                    _write(os.path.join(d, "memory.swap.max"), "0")
            if limits.cpus:
                _write(os.path.join(d, "cpu.max"), f"{int(limits.cpus * 100000)} 100000")
            if limits.max_processes:
                _write(os.path.join(d, "pids.max"), str(limits.max_processes))
            return
        if limits.memory_bytes and "memory" in self.dirs:
            d = self.dirs["memory"]
            _write(os.path.join(d, "memory.limit_in_bytes"), str(limits.memory_bytes))
            memsw = os.path.join(d, "memory.memsw.limit_in_bytes")
            if swap and os.path.exists(memsw):
                _write(memsw, str(limits.memory_bytes))
            else:
                try:
                    _write(os.path.join(d, "memory.swappiness"), "0")
                except OSError:
                    pass
        if limits.cpus and "cpu" in self.dirs:
            d = self.dirs["cpu"]
            _write(os.path.join(d, "cpu.cfs_period_us"), "100000")
            _write(os.path.join(d, "cpu.cfs_quota_us"), str(int(limits.cpus * 100000)))
        if limits.max_processes and "pids" in self.dirs:
            _write(os.path.join(self.dirs["pids"], "pids.max"), str(limits.max_processes))

    def procs_files(self) -> list[str]:
        return [os.path.join(d, "cgroup.procs") for d in self.dirs.values()]

    def exists(self) -> bool:
        return any(os.path.isdir(d) for d in self.dirs.values())

    def pids(self) -> set[int]:
        res: set[int] = set()
        for f in self.procs_files():
            try:
                res.update(int(x) for x in _read(f).split())
            except OSError:
                pass
        return res

    def signal(self, sig: int) -> None:
        for pid in self.pids():
            try:
                os.kill(pid, sig)
            except OSError:
                pass

    def kill_all(self, timeout: float = 5.0) -> bool:
        """SIGKILL everything in the cgroup until it is empty. True if empty."""
        if self.version == 2:
            kill_file = os.path.join(self.dirs["unified"], "cgroup.kill")
            if os.path.exists(kill_file):
                try:
                    _write(kill_file, "1")
                except OSError:
                    pass
        deadline = time.monotonic() + timeout
        while True:
            pids = self.pids()
            if not pids:
                return True
            if time.monotonic() > deadline:
                return False
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.02)

    def remove(self, timeout: float = 5.0) -> bool:
        """rmdir every dir (after the processes are gone). True when all removed."""
        deadline = time.monotonic() + timeout
        ok = True
        for d in self.dirs.values():
            while os.path.isdir(d):
                try:
                    os.rmdir(d)
                except OSError as e:
                    if e.errno == errno.ENOENT:
                        break
                    if e.errno == errno.EBUSY and time.monotonic() < deadline:
                        time.sleep(0.05)
                        continue
                    ok = False
                    break
        return ok

    def oom_kills(self) -> int:
        """How many processes the kernel OOM-killed in this cgroup (best effort)."""
        if self.version == 2:
            path, key = os.path.join(self.dirs.get("unified", ""), "memory.events"), "oom_kill"
        else:
            path, key = os.path.join(self.dirs.get("memory", ""), "memory.oom_control"), "oom_kill"
        try:
            for line in _read(path).splitlines():
                k, _, v = line.partition(" ")
                if k == key:
                    return int(v)
        except (OSError, ValueError):
            pass
        return 0


def list_children(layout: CgroupLayout) -> set[str]:
    """Names of the space cgroups that currently exist under our parent(s)."""
    names: set[str] = set()
    for p in layout.parents.values():
        try:
            for entry in os.scandir(p):
                if entry.is_dir(follow_symlinks=False) and not entry.name.startswith(".probe-"):
                    names.add(entry.name)
        except OSError:
            pass
    return names


def join_prefix(procs_files: list[str], oom_score_adj: int | None = None) -> list[str]:
    """argv prefix: a shell that moves itself into the cgroups (and, as root, sets
    its ``oom_score_adj``, inherited by everything it starts), then execs the rest."""
    if not procs_files and oom_score_adj is None:
        return []
    script = 'for f in "$@"; do shift; [ "$f" = -- ] && break; echo $$ > "$f" || exit 125; done; '
    if oom_score_adj is not None:
        script += f"echo {int(oom_score_adj)} > /proc/self/oom_score_adj 2>/dev/null; "
    script += 'exec "$@"'
    return ["/bin/sh", "-c", script, "sh", *procs_files, "--"]

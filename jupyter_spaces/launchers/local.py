"""LocalLauncher: each running space is a sandboxed ``jupyter lab`` on this machine.

A running JupyterLab space is::

    /bin/sh (joins the space's cgroups, then execs)
      bwrap ... (mount/pid/ipc/uts namespaces, see ``sandbox.py``)
        setpriv --reuid=<space uid> ... (drops every capability, no_new_privs)
          <image python> -I -c <bootstrap> (jupyter lab + the space agent)

- **Identity**: each space runs as a uid of its own, derived stably from its name
  inside ``uid_range`` (no user account needed; the sandbox gets a generated
  ``/etc/passwd``). Needs root; otherwise the space runs as the domain's uid.
- **Files**: the space's volume (``volumes.py``) is bound read-write at
  ``home_dir`` — ``$HOME`` and the server's root directory. The system, the image's
  Python prefix and the ``jupyter_spaces`` package are read-only; the domain's
  data, the volumes directory, other spaces' volumes and ``/root``, ``/work``,
  ``/home`` of the host are not there at all.
- **Limits** (``cgroups.py``): memory (swap included where accounted), CPU
  quota and a process count from the instance type. The shell at the top moves
  itself into the cgroups before it execs bubblewrap, so the whole tree is
  limited. When the memory limit is hit, the kernel's OOM killer picks within
  the space by size plus ``oom_score_adj``: the server runs at
  ``server_oom_score_adj`` (-500 where the launcher has CAP_SYS_RESOURCE, else 0)
  and every other Python process (kernels, scripts) raises itself to
  ``kernel_oom_score_adj`` (500) through a ``sitecustomize`` on its
  ``PYTHONPATH`` (the server ignores it: ``python -I``). So the kernel that
  allocates is killed and the server survives, even when the server is bigger.
  Non-Python processes (R kernels, shells) compete by size.
- **Secret and agent config**: the per-space secret goes through an inherited
  pipe (``--SpaceAgentApp.secret_fd=N``): the launcher writes it and closes its
  end, the agent reads it to EOF and closes it; it is never in the environment,
  on disk or on the command line. ``spec.agent_config`` (traitlets config, not
  secret) is written to ``jupyter_server_config.json`` in a read-only
  ``JUPYTER_CONFIG_DIR`` inside the sandbox. Settings that protect the server
  (extensions, base_url, port, space name, secret fd) are on the command line,
  which wins over any config file; the server runs with ``python -I`` (no user
  site-packages, no cwd on ``sys.path``), and with a read-only
  ``JUPYTER_DATA_DIR``, so nothing a kernel writes into ``$HOME`` changes how the
  next server starts (user settings and workspaces still live in
  ``$HOME/.jupyter/lab``).
- **Kernels**: those the image's prefixes and the system offer (``environments.py``):
  Python, and R where R and IRkernel are installed under ``/usr``. A kernelspec
  whose program a space cannot run (outside the sandbox, not on its ``PATH``) is
  not offered (``KernelSpecManager.allowed_kernelspecs``), and the log says why.
- **Volume quota** (``volume_mode``): as root an ext4 image, a hard limit. In
  directory mode (no root, or ``volume_mode = "directory"``) the size is a soft
  quota: the server gets ``--SpaceContentsManager.volume_quota_bytes=<size>`` and
  the agent's contents manager refuses saves through Jupyter past it with 507
  (``space/contents.py``); kernels and terminals can still write past it. The
  environment variables ``JUPYTER_SPACES_VOLUME_LIMIT_BYTES`` and
  ``JUPYTER_SPACES_VOLUME_HARD_LIMIT`` (``"1"``/``"0"``) tell programs in the
  space the same; nothing reads them to enforce anything.

Limitations (also reported by :meth:`LocalLauncher.capabilities`):
- The network namespace is shared with the host so the domain proxy reaches the
  server on ``127.0.0.1:<port>``. Code in a space can connect to any loopback
  service: the domain must never trust unsigned loopback requests, and space
  servers only accept requests signed with their own secret.
- Same-origin: spaces are served under the domain's origin; a space's users
  can only add front-end code through the image (the data dir is read-only).
- Without root, bubblewrap (if it can use user namespaces) still hides the
  filesystem, but all spaces share the domain's uid and volumes have a soft
  quota. Without bubblewrap, spaces run unsandboxed (``allow_unsandboxed``).

State (persisted by the domain) looks like::

    {"launcher": "local", "version": 1, "pid": 1234, "pid_start": 5678,
     "port": 41234, "uid": 612345, "home": "/run/jupyter-spaces/mounts/<space>",
     "cgroup": {"version": 1, "dirs": {"memory": "...", "cpu": "...", "pids": "..."}},
     "memory_bytes": 2147483648, "sandbox": "privileged"}

A copy is kept in ``<run_dir>/spaces/<space>/state.json`` (root-only) so
:meth:`cleanup_orphans` can find processes even when cgroups are unavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time

import httpx
from traitlets import Bool, Enum, Float, Integer, List, Tuple, Unicode, default

from .. import signing
from . import cgroups, environments
from .base import (
    EXIT_UNKNOWN,
    Capability,
    Image,
    Launched,
    LaunchError,
    LaunchSpec,
    Launcher,
    Progress,
    VolumeError,
)
from .capabilities import HostProbe, probe
from .environments import Environment
from .sandbox import Sandbox, build_argv, close_fds, open_fds, passwd_text
from .volumes import GiB, Volumes

_SPACE_RE = re.compile(r"^[a-z0-9](-?[a-z0-9]){0,62}$")
OPT = "/opt/jupyter-spaces"  # where launcher-provided files appear inside the sandbox
NOBODY = 65534  # the uid that checks an image: it owns nothing
AGENT_ROUTE = "api/spaces-agent/identity"  # served by jupyter_spaces.space.whoami
# Who the launcher's readiness check says it is: a viewer, the least a role can do.
PROBE_IDENTITY = signing.Identity("jupyter-spaces-launcher", "launcher", "", "", "viewer")

_SITECUSTOMIZE = '''"""jupyter-spaces: Python processes in a space other than the server (kernels,
scripts) make themselves likelier OOM victims than the server; in a venv image
they see the user's packages on the volume, and pip installs there; then they
defer to any other sitecustomize on the path."""
import os as _os
import sys as _sys

try:
    with open("/proc/self/oom_score_adj", "w") as _f:
        _f.write(_os.environ.get("JUPYTER_SPACES_OOM_SCORE_ADJ", "500"))
except (OSError, ValueError):
    pass


def _user_packages_in_a_venv():
    # A venv turns the user site off (and pip refuses --user there), and the image is
    # read-only: what `pip install` gets goes to ~/.local on the volume all the same,
    # ahead of the image's packages, as the user site would be.
    import site

    if _sys.prefix == _sys.base_prefix or site.ENABLE_USER_SITE:
        return
    _os.environ.setdefault("PIP_PREFIX", site.getuserbase())
    first = next((i for i, p in enumerate(_sys.path) if p.startswith(_sys.prefix)), len(_sys.path))
    before = list(_sys.path)
    site.addsitedir(site.getusersitepackages())
    added = [p for p in _sys.path if p not in before]
    _sys.path[:] = before[:first] + added + before[first:]


try:
    _user_packages_in_a_venv()
except Exception:  # never break a kernel start
    pass


def _chain():
    import importlib.machinery
    import importlib.util

    here = _os.path.dirname(_os.path.abspath(__file__))
    path = [p for p in _sys.path if _os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is not None and spec.loader is not None:
        mod = importlib.util.module_from_spec(spec)
        _sys.modules["sitecustomize"] = mod
        spec.loader.exec_module(mod)


try:
    _chain()
except Exception:  # never break a kernel start
    pass
'''

_BOOTSTRAP = "sys.argv[0] = 'jupyter-lab'; from jupyterlab.labapp import main; sys.exit(main())"


def _proc_start_time(pid: int) -> int | None:
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


def _alive(pid: int | None, start: int | None) -> bool:
    if not pid:
        return False
    st = _proc_start_time(pid)
    return st is not None and (start is None or st == start)


def _children(pid: int) -> list[int]:
    res: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                res.extend(int(x) for x in f.read().split())
    except OSError:
        pass
    return res


def _descendants(pid: int) -> list[int]:
    out, stack = [], [pid]
    while stack:
        for c in _children(stack.pop()):
            if c not in out:
                out.append(c)
                stack.append(c)
    return out


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def _kill(pid: int, sig: int) -> None:
    with contextlib.suppress(OSError):
        os.kill(pid, sig)


def _is_within(path: str, ancestor: str) -> bool:
    return _within(os.path.realpath(path), os.path.realpath(ancestor))


def _within(path: str, ancestor: str) -> bool:
    """As paths are written (inside a sandbox, where host symlinks mean nothing)."""
    return path == ancestor or path.startswith(ancestor.rstrip("/") + "/")


def _deep_merge(a: dict, b: dict) -> dict:
    out = copy.deepcopy(a)
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


class LocalLauncher(Launcher):
    """Run each space as a sandboxed, resource-limited process on this machine."""

    volumes_dir = Unicode(
        config=True,
        help="Directory holding the spaces' volumes (<space>.img, or <space>/ without root). "
        "Never visible inside a space.",
    )

    @default("volumes_dir")
    def _default_volumes_dir(self):
        if os.geteuid() == 0:
            return "/var/lib/jupyter-spaces/volumes"
        return os.path.join(os.path.expanduser("~"), ".local", "share", "jupyter-spaces", "volumes")

    run_dir = Unicode(
        config=True,
        help="Directory for runtime files: mount points, per-space state, generated "
        "passwd and server config, server logs. Never visible inside a space.",
    )

    @default("run_dir")
    def _default_run_dir(self):
        if os.geteuid() == 0:
            return "/run/jupyter-spaces"
        return os.path.join(os.environ.get("XDG_RUNTIME_DIR") or "/tmp", f"jupyter-spaces-{os.getuid()}")

    uid_range = Tuple(
        Integer(),
        Integer(),
        default_value=(600000, 699999),
        config=True,
        help="Inclusive range of uids (and gids) for spaces. Each space gets a uid derived "
        "stably from its name (next free one on a collision). Must not overlap real users.",
    )
    port_range = Tuple(
        Integer(),
        Integer(),
        default_value=(40000, 49999),
        config=True,
        help="Inclusive range of 127.0.0.1 ports for space servers.",
    )
    start_timeout = Float(60.0, config=True, help="Seconds a space server may take to answer HTTP.")
    stop_timeout = Float(
        5.0, config=True, help="Seconds between asking a space server to stop (SIGTERM) and killing it."
    )
    bwrap = Unicode("bwrap", config=True, help="bubblewrap executable (name on PATH or path).")
    home_dir = Unicode("/home/jovyan", config=True, help="Path of the volume ($HOME) inside the sandbox.")
    sandbox_user = Unicode("jovyan", config=True, help="User name of the space's uid inside the sandbox.")
    cgroup_parent = Unicode(
        "",
        config=True,
        help="Cgroup holding the spaces' cgroups: a name (created under the launcher's own cgroup) "
        "or an absolute cgroup path such as '/jupyter-spaces.slice/domain' (on cgroup v2 use a "
        "delegated, process-free cgroup). Default: 'jupyter-spaces-<hash of run_dir>' under our "
        "own cgroup, so two domains on one host never touch each other's spaces.",
    )
    protected_paths = List(
        Unicode(),
        config=True,
        help="Paths that must never be visible inside a space (add the domain's data directory). "
        "A start whose image would expose one of them fails. volumes_dir and run_dir always are.",
    )
    allow_unsandboxed = Bool(
        True,
        config=True,
        help="When bubblewrap is unusable, still run spaces (without a filesystem sandbox; "
        "logged and reported by capabilities()). Set False to refuse to start instead.",
    )
    volume_mode = Enum(
        ["auto", "image", "directory"],
        "auto",
        config=True,
        help="How spaces' volumes are made. 'image': a sparse ext4 image per space, loop-mounted "
        "while it runs; its size is a hard limit (needs root, loop devices and e2fsprogs; a start "
        "fails without them). 'directory': a plain directory per space; its size is a soft quota "
        "(saves through Jupyter past it are refused with 507, kernels and terminals can still "
        "write past it); works without root. 'auto': image when the host allows it, else "
        "directory. Changing it does not convert existing volumes.",
    )
    server_oom_score_adj = Integer(
        -500,
        config=True,
        help="oom_score_adj of the space server, inherited by its children. Lowering it needs "
        "CAP_SYS_RESOURCE; without it the server stays at 0 (silently). Python processes started "
        "in the space (kernels, scripts) raise theirs to kernel_oom_score_adj, so when a space hits "
        "its memory limit the kernel is killed and the server survives.",
    )
    kernel_oom_score_adj = Integer(
        500,
        config=True,
        help="oom_score_adj that Python processes in a space (kernels) set for themselves at "
        "start (through a sitecustomize the launcher puts on their PYTHONPATH).",
    )
    extra_args = List(Unicode(), config=True, help="Extra command-line arguments for every space server.")
    image_recheck_seconds = Float(
        10.0, config=True, help="Seconds an image found unusable is reported so before it is checked again."
    )

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._host: HostProbe | None = None
        self._volumes: Volumes | None = None
        # python -> (recheck after, Environment or why it cannot run)
        self._images: dict[str, tuple[float, Environment | LaunchError]] = {}
        self._popens: dict[str, subprocess.Popen] = {}

    # ------------------------------------------------------------------ host
    @property
    def cgroup_name(self) -> str:
        if self.cgroup_parent:
            return self.cgroup_parent
        h = hashlib.sha256(os.path.realpath(self.run_dir).encode()).hexdigest()[:10]
        return f"jupyter-spaces-{h}"

    @property
    def host(self) -> HostProbe:
        if self._host is None:
            self._host = probe(self.bwrap, self.cgroup_name)
            for cap in self.capabilities():
                if not cap.available:
                    # network sharing is by design (the proxy needs loopback); the rest is degradation
                    level = self.log.info if cap.name == "network isolation" else self.log.warning
                    level("jupyter-spaces local launcher: no %s: %s", cap.name, cap.reason)
        return self._host

    @property
    def volumes(self) -> Volumes:
        if self._volumes is None:
            mode = self.volume_mode
            if mode == "auto":
                mode = "image" if self.host.loop_images else "directory"
            elif mode == "image" and not self.host.loop_images:
                raise LaunchError(f"Volume images are not possible on this host: {self.host.loop_reason}.")
            self._volumes = Volumes(self.volumes_dir, os.path.join(self.run_dir, "mounts"), mode, self.log)
        return self._volumes

    def capabilities(self) -> list[Capability]:
        h = self.host
        caps = [
            Capability(
                "sandbox",
                h.sandbox,
                f"bubblewrap ({h.bwrap_mode}): own mount, pid, ipc and uts namespaces; only the "
                "space's volume is writable"
                if h.sandbox
                else f"{h.bwrap_reason}; spaces see the host's filesystem",
            ),
            Capability(
                "own uid",
                h.own_uid,
                f"each space runs as its own uid in {self.uid_range[0]}-{self.uid_range[1]}"
                if h.own_uid
                else "spaces run as the domain's uid (needs root, bubblewrap and setpriv)",
            ),
            *h.hardening(),  # "seccomp filter", "no user namespaces"
        ]
        names = ("memory limit", "cpu limit", "process limit")
        for n in names:
            if n in h.cgroups.available:
                caps.append(Capability(n, True, h.cgroups.available[n]))
            else:
                caps.append(Capability(n, False, h.cgroups.missing.get(n, "no writable cgroup hierarchy")))
        try:
            mode = self.volumes.mode
        except LaunchError as e:
            mode, reason = "", e.message
        else:
            if mode == "image":
                reason = "ext4 image per space, loop-mounted: writes past the size fail with 'no space left'"
            else:
                why = "volume_mode is 'directory'" if self.volume_mode == "directory" else h.loop_reason
                reason = (
                    f"{why}; a space's volume is a directory and its size is only a soft quota: "
                    "saves through Jupyter past it are refused (507), but kernels and terminals "
                    "can write past it"
                )
        caps.append(Capability("hard volume quota", mode == "image", reason))
        caps.append(
            Capability(
                "network isolation",
                False,
                "spaces share the host's network namespace so the domain reaches them on "
                "127.0.0.1; code in a space can reach loopback services",
            )
        )
        return caps

    def app_type_availability(self, app_type: str) -> tuple[bool, str]:
        if app_type == "jupyterlab":
            if not self.host.sandbox and not self.allow_unsandboxed:
                return False, f"Spaces cannot be sandboxed on this host ({self.host.bwrap_reason})."
            return True, ""
        servers = {
            "code-editor": ("Code Editor", ["code-server", "openvscode-server"]),
            "rstudio": ("RStudio", ["rserver", "/usr/lib/rstudio-server/bin/rserver"]),
        }
        if app_type not in servers:
            return False, f"Unknown app type {app_type!r}."
        label, candidates = servers[app_type]
        found = next((p for c in candidates if (p := shutil.which(c))), None)
        if not found:
            return False, f"{label} needs {' or '.join(c for c in candidates if '/' not in c)} on this host; not found."
        return False, f"{label} server found at {found}, but the local launcher does not run {label} spaces yet."

    # ------------------------------------------------------------ helpers
    def _space_dir(self, space: str) -> str:
        return os.path.join(self.run_dir, "spaces", space)

    def _state_file(self, space: str) -> str:
        return os.path.join(self._space_dir(space), "state.json")

    def _log_file(self, space: str) -> str:
        return os.path.join(self._space_dir(space), "server.log")

    def _read_state_file(self, space: str) -> dict:
        try:
            with open(self._state_file(space)) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def _write_state_file(self, space: str, state: dict) -> None:
        path = self._state_file(space)
        with open(path + ".tmp", "w", opener=lambda p, fl: os.open(p, fl, 0o600)) as f:
            json.dump(state, f)
        os.replace(path + ".tmp", path)

    def _known_states(self) -> dict[str, dict]:
        res = {}
        base = os.path.join(self.run_dir, "spaces")
        with contextlib.suppress(OSError):
            for name in os.listdir(base):
                st = self._read_state_file(name)
                if st:
                    res[name] = st
        return res

    @staticmethod
    def _check_name(space: str) -> None:
        if not _SPACE_RE.match(space or ""):
            raise LaunchError(f"Invalid space name {space!r}.")

    def uid_for(self, space: str, taken: set[int] | None = None) -> int:
        """The space's uid: stable hash of the name in uid_range, skipping ``taken``."""
        lo, hi = self.uid_range
        n = hi - lo + 1
        h = int(hashlib.sha256(space.encode()).hexdigest()[:12], 16)
        taken = taken or set()
        for i in range(n):
            uid = lo + (h + i) % n
            if uid not in taken:
                return uid
        raise LaunchError("No free uid for a new space; widen the launcher's uid_range.")

    def _allocate_uid(self, space: str) -> int:
        taken = {int(st["uid"]) for name, st in self._known_states().items() if name != space and st.get("uid")}
        return self.uid_for(space, taken)

    def _pick_port(self, space: str) -> int:
        lo, hi = self.port_range
        used = {st.get("port") for name, st in self._known_states().items() if name != space}
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

    async def check_image(self, python: str) -> Environment:
        """The image's environment, once its Python has imported what a space server
        imports where a space runs it (in a sandbox, as an unprivileged uid); else a
        :class:`LaunchError` saying why. Usable images are remembered; unusable ones are
        asked again after ``image_recheck_seconds`` (someone may be fixing them)."""
        known = self._images.get(python)
        if known is not None and (isinstance(known[1], Environment) or time.monotonic() < known[0]):
            if isinstance(known[1], LaunchError):
                raise known[1]
            return known[1]
        try:
            env = await environments.probe(python)
            binds = self._image_binds(env)
            cp = await self._run_check(env, binds)
            if cp.returncode != 0:
                raise LaunchError(environments.import_failure(env.python, cp.returncode, cp.stdout + cp.stderr))
        except LaunchError as e:
            self._images[python] = (time.monotonic() + self.image_recheck_seconds, e)
            raise
        self._images[python] = (0.0, env)
        return env

    async def image_availability(self, image: Image) -> tuple[bool, str]:
        try:
            await self.check_image(image.python)
        except LaunchError as e:
            return False, e.message
        return True, ""

    async def _run_check(self, env: Environment, binds: list[tuple[str, str]]) -> subprocess.CompletedProcess:
        command = env.command(environments.AGENT_CHECK)
        penv = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": self.home_dir, "LANG": "C.UTF-8"}
        if self.host.sandbox:
            h = self.host
            uid = NOBODY if h.own_uid else None
            sb = Sandbox(hostname="image-check", home=self.home_dir, home_src=None, env=penv, uid=uid, gid=uid,
                         privileged=h.bwrap_mode == "privileged", ro_binds=binds,
                         bwrap=h.bwrap or self.bwrap, setpriv=h.setpriv or "setpriv")  # fmt: skip
            command = build_argv(sb, command)
        try:
            return await asyncio.to_thread(
                subprocess.run, command, capture_output=True, text=True, timeout=self.start_timeout,
                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"} if self.host.sandbox else penv, cwd="/", check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired as e:
            raise LaunchError(
                f"The image's Python {env.python} took over {e.timeout:.0f} s to import "
                f"{', '.join(environments.AGENT_MODULES)}."
            ) from e

    def _image_binds(self, env: Environment) -> list[tuple[str, str]]:
        """The environment's read-only binds, refused when they would show a protected path."""
        binds = env.binds() if self.host.sandbox else []
        for src, dest in binds:
            for secret in [self.volumes_dir, self.run_dir, *self.protected_paths]:
                if _is_within(secret, src) or _is_within(src, secret):
                    raise LaunchError(
                        f"The image's files at {src} overlap {secret}, which must stay invisible to "
                        "spaces; install the image's Python environment elsewhere."
                    )
            for ours in (self.home_dir, f"{OPT}/etc", f"{OPT}/share", f"{OPT}/pylib"):
                if _within(dest, ours) or _within(ours, dest):
                    raise LaunchError(
                        f"The image's files at {dest} overlap {ours}, where a space has its own files; "
                        "install the image's Python environment elsewhere."
                    )
        return binds

    def _sandbox(
        self, space: str, uid: int | None, home_src: str, image_binds: list[tuple[str, str]], env: dict
    ) -> Sandbox:
        h = self.host
        sdir = self._space_dir(space)
        files = []
        eff_uid = uid if uid is not None else os.getuid()
        eff_gid = uid if uid is not None else os.getgid()
        passwd, group = passwd_text(self.sandbox_user, eff_uid, eff_gid, self.home_dir, space)
        for name, text in (("passwd", passwd), ("group", group)):
            p = os.path.join(sdir, name)
            with open(p, "w") as f:
                f.write(text)
            os.chmod(p, 0o644)
            files.append((p, f"/etc/{name}"))
        etc = os.path.join(sdir, "etc")
        share = os.path.join(sdir, "share")
        pylib = os.path.join(sdir, "pylib")
        os.makedirs(pylib, exist_ok=True)
        with open(os.path.join(pylib, "sitecustomize.py"), "w") as f:
            f.write(_SITECUSTOMIZE)
        os.chmod(pylib, 0o755)
        os.chmod(os.path.join(pylib, "sitecustomize.py"), 0o644)
        binds = [*image_binds, (etc, f"{OPT}/etc"), (share, f"{OPT}/share"), (pylib, f"{OPT}/pylib")]
        return Sandbox(
            hostname=space,
            home=self.home_dir,
            home_src=home_src,
            env=env,
            uid=uid,
            gid=uid,
            privileged=h.bwrap_mode == "privileged",
            ro_binds=binds,
            files=files,
            bwrap=h.bwrap or self.bwrap,
            setpriv=h.setpriv or "setpriv",
            seccomp=h.seccomp,
            disable_userns=h.disable_userns,
        )

    def _env(self, spec_env: dict, image: Environment, home: str, space: str) -> dict:
        bins = [os.path.join(p, "bin") for p in image.prefixes]
        path = ":".join(dict.fromkeys([*bins, "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]))
        env = {
            "PATH": path,
            "HOME": home,
            "USER": self.sandbox_user,
            "LOGNAME": self.sandbox_user,
            "SHELL": "/bin/bash",
            "LANG": "C.UTF-8",
            "TERM": "xterm-256color",
            "JUPYTER_CONFIG_DIR": f"{OPT}/etc/jupyter",
            "JUPYTER_DATA_DIR": f"{OPT}/share/jupyter",
            "JUPYTER_RUNTIME_DIR": "/tmp/jupyter-runtime",
            "JUPYTER_SPACES_SPACE": space,
            # kernels and scripts (not the server: it runs with python -I) load our sitecustomize
            "PYTHONPATH": f"{OPT}/pylib",
            "JUPYTER_SPACES_OOM_SCORE_ADJ": str(self.kernel_oom_score_adj),
        }
        env.update({k: str(v) for k, v in (spec_env or {}).items()})
        return env

    def _kernel_config(self, space: str, image: Environment, path: list[str]) -> dict:
        """Hide the kernelspecs whose program a space cannot run (e.g. an R kernel whose R
        is outside the sandbox): JupyterLab's launcher would show them, and they would die
        at start. Read at every start, so a kernel installed since shows at the next."""
        kernels = image.kernelspecs(path, sandboxed=self.host.sandbox)
        hidden = {name: why for name, why in kernels.items() if why}
        if not hidden:
            return {}
        for name, why in sorted(hidden.items()):
            self.log.info("Space %s: kernel %r not offered: %s", space, name, why)
        runnable = sorted({"python3", *(name for name, why in kernels.items() if not why)} - set(hidden))
        return {"KernelSpecManager": {"allowed_kernelspecs": runnable or ["(none)"]}}  # [] would allow all

    def _oom_adj(self) -> int | None:
        return self.server_oom_score_adj if os.geteuid() == 0 else None

    # --------------------------------------------------------------- start
    async def start(self, spec: LaunchSpec, progress: Progress) -> Launched:
        space = spec.space
        self._check_name(space)
        ok, why = self.app_type_availability(spec.app_type)
        if not ok:
            raise LaunchError(why)
        h = self.host
        if not h.sandbox and not self.allow_unsandboxed:
            raise LaunchError(f"Spaces cannot be sandboxed on this host ({h.bwrap_reason}).")
        saved = self._read_state_file(space)
        if _alive(saved.get("pid"), saved.get("pid_start")):
            # a server of this space is still around (e.g. from before a domain crash): replace it
            self.log.warning("Space %s still had a server (pid %s); stopping it first", space, saved["pid"])
            await self.stop(space, saved)
        progress(5, "Checking the image")
        image = await self.check_image(spec.image.python)

        state: dict = {"launcher": "local", "version": 1, "space": space}
        sdir = self._space_dir(space)
        try:
            os.makedirs(sdir, mode=0o700, exist_ok=True)
            for sub in ("etc/jupyter", "share/jupyter"):
                os.makedirs(os.path.join(sdir, sub), exist_ok=True)
            os.chmod(os.path.join(self.run_dir, "spaces"), 0o700)
            uid = self._allocate_uid(space) if h.own_uid else None
            state["uid"] = uid
            state["sandbox"] = h.bwrap_mode or "none"
            self._write_state_file(space, state)

            progress(15, "Attaching the volume")
            if not self.volumes.exists(space):
                self.log.info("Creating missing volume of %s (%s GB)", space, spec.volume_gb)
                await self.volumes.create(space, spec.volume_gb)
            home_src = await self.volumes.attach(space, uid, uid)
            state["home"] = home_src

            progress(30, "Applying the instance type's limits")
            limits = cgroups.Limits(
                memory_bytes=int(spec.instance_type.memory_gb * GiB) or None,
                cpus=spec.instance_type.cpus or None,
                max_processes=spec.instance_type.max_processes or None,
            )
            state["memory_bytes"] = limits.memory_bytes
            state["instance_type"] = spec.instance_type.name
            cg = None
            if h.cgroups.usable:
                cg = await asyncio.to_thread(cgroups.SpaceCgroup.create, h.cgroups, space, limits)
                state["cgroup"] = cg.to_state()
            self._write_state_file(space, state)

            home_in = self.home_dir if h.sandbox else home_src
            env = self._env(spec.env, image, home_in, space)
            vol_limit = spec.volume_gb * GiB
            env["JUPYTER_SPACES_VOLUME_LIMIT_BYTES"] = str(vol_limit)
            env["JUPYTER_SPACES_VOLUME_HARD_LIMIT"] = "1" if self.volumes.mode == "image" else "0"
            config = _deep_merge(
                {
                    "LabApp": {"news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"},
                    # Notebook trust lives on the volume: the Jupyter data dir is read-only.
                    "NotebookNotary": {"data_dir": os.path.join(home_in, ".local", "share", "jupyter")},
                    **self._kernel_config(space, image, env["PATH"].split(":")),
                },
                spec.agent_config or {},
            )
            with open(os.path.join(sdir, "etc", "jupyter", "jupyter_server_config.json"), "w") as f:
                json.dump(config, f, indent=1)
            # jupyter_core would otherwise try to write this marker into the read-only config dir
            # when $HOME has an ~/.ipython (IPython 3 migration) and crash
            with open(os.path.join(sdir, "etc", "jupyter", "migrated"), "w") as f:
                f.write("")
            for root, dirs, files in os.walk(sdir):
                for d in dirs:
                    os.chmod(os.path.join(root, d), 0o755)
                for fn in files:
                    if fn not in ("state.json", "server.log"):
                        os.chmod(os.path.join(root, fn), 0o644)
            os.chmod(sdir, 0o711)

            for attempt in range(3):
                port = self._pick_port(space)
                progress(40, "Starting JupyterLab")
                popen = self._spawn(spec, image, uid, home_src, home_in, env, port, cg)
                state.update(pid=popen.pid, pid_start=_proc_start_time(popen.pid), port=port)
                self._write_state_file(space, state)
                url = f"http://127.0.0.1:{port}"
                rc = await self._wait_ready(spec, popen, url, progress)
                if rc is None:
                    progress(100, "Ready")
                    self.log.info("Space %s running at %s (pid %s, uid %s)", space, url, popen.pid, uid)
                    return Launched(url=url, state=dict(state))
                log_tail = self._log_tail(space)
                if "already in use" in log_tail and attempt < 2:
                    self.log.warning("Port %s taken while %s started; retrying", port, space)
                    await asyncio.to_thread(self._terminate, state, popen)
                    if cg is not None:  # _terminate removed it along with the failed server
                        cg = await asyncio.to_thread(cgroups.SpaceCgroup.create, h.cgroups, space, limits)
                        state["cgroup"] = cg.to_state()
                    continue
                raise LaunchError(self._start_failure(rc, log_tail, state))
            raise LaunchError("The space server could not get a port; try again.")  # pragma: no cover
        except BaseException as e:
            with contextlib.suppress(Exception):
                await self.stop(space, state)
            if isinstance(e, (LaunchError, asyncio.CancelledError, KeyboardInterrupt)):
                raise
            self.log.exception("Starting space %s failed", space)
            raise LaunchError(f"The space could not start: {e}") from e

    def _spawn(self, spec, image, uid, home_src, home_in, env, port, cg):
        space = spec.space
        rfd, wfd = os.pipe()
        try:
            os.write(wfd, spec.secret.encode())
        finally:
            os.close(wfd)
        sandbox_fds: tuple[int, ...] = ()  # the seccomp program, read by bwrap
        try:
            base_url = spec.base_url if spec.base_url.endswith("/") else spec.base_url + "/"
            args = [
                "--no-browser",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={port}",
                "--ServerApp.port_retries=0",
                f"--ServerApp.base_url={base_url}",
                f"--ServerApp.root_dir={home_in}",
                f"--LabApp.user_settings_dir={home_in}/.jupyter/lab/user-settings",
                f"--LabApp.workspaces_dir={home_in}/.jupyter/lab/workspaces",
                "--ServerApp.jpserver_extensions=jupyter_spaces=False",
                # kernels talk over unix sockets in the private /tmp: the network namespace is
                # shared, and a TCP iopub socket would let other spaces subscribe to outputs
                "--KernelManager.transport=ipc",
                "--ServerApp.jpserver_extensions=jupyter_spaces.space=True",
                f"--SpaceAgentApp.space_name={space}",
                f"--SpaceAgentApp.secret_fd={rfd}",
            ]
            if self.volumes.mode == "directory":  # the soft quota, enforced on saves by the agent
                args.append(f"--SpaceContentsManager.volume_quota_bytes={spec.volume_gb * GiB}")
            args += list(self.extra_args)
            command = [*image.command(_BOOTSTRAP), *args]
            prefix = cgroups.join_prefix(cg.procs_files() if cg else [], self._oom_adj())
            if self.host.sandbox:
                sb = self._sandbox(space, uid, home_src, self._image_binds(image), env)
                sandbox_fds = open_fds(sb)
                argv = prefix + build_argv(sb, command)
                popen_env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
            else:
                self.log.warning("Starting space %s WITHOUT a sandbox (%s)", space, self.host.bwrap_reason)
                drop = []
                if uid is not None and self.host.setpriv:
                    drop = [self.host.setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                            "--inh-caps=-all", "--no-new-privs", "--"]  # fmt: skip
                argv = prefix + drop + command
                popen_env = env
                os.makedirs("/tmp/jupyter-runtime", exist_ok=True)
            log = open(self._log_file(space), "wb")  # noqa: SIM115
            try:
                os.chmod(self._log_file(space), 0o600)
                return subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=(rfd, *sandbox_fds),
                    start_new_session=True,
                    env=popen_env,
                    cwd="/",
                )
            finally:
                log.close()
        finally:
            os.close(rfd)
            close_fds(sandbox_fds)

    async def _wait_ready(self, spec: LaunchSpec, popen, url, progress) -> int | None:
        """None once the space's agent answers a signed request as a user's would reach
        it; else the server's exit status. Raises when it answers as something else, or
        not within ``start_timeout``."""
        space = spec.space
        self._popens[space] = popen
        deadline = time.monotonic() + self.start_timeout
        base = spec.base_url if spec.base_url.endswith("/") else spec.base_url + "/"
        path = f"{base}{AGENT_ROUTE}"
        pct = 45
        async with httpx.AsyncClient(timeout=2.0, trust_env=False) as client:
            while True:
                rc = popen.poll()
                if rc is not None:
                    return rc
                headers = signing.sign_request(spec.secret, space, "GET", path, PROBE_IDENTITY)
                try:
                    r = await client.get(url + path, headers=headers)
                except httpx.HTTPError:
                    r = None
                if r is not None:
                    self._check_agent(spec, r)
                    return None
                if time.monotonic() > deadline:
                    raise LaunchError(
                        f"The space server did not answer within {self.start_timeout:.0f} seconds. "
                        f"Last log line: {self._log_tail(space, 1) or '(none)'}"
                    )
                if pct < 95:
                    pct += 1
                    progress(pct, "Waiting for JupyterLab to answer")
                await asyncio.sleep(0.1)

    def _check_agent(self, spec: LaunchSpec, r: httpx.Response) -> None:
        """A space server listens only once its extensions are loaded: its first answer
        is final. Raise unless it is the space's agent, with collaboration if asked for."""
        try:
            seen = r.json() if r.status_code == 200 else {}
        except ValueError:
            seen = {}
        if seen.get("space") != spec.space:
            hint = self._log_line(spec.space, "jupyter_spaces") or "(nothing about jupyter_spaces)"
            raise LaunchError(
                f"The space server runs without its agent (it answered {r.status_code} to the "
                f"launcher's signed request), so it would refuse everyone. Server log: {hint}"
            )
        wanted = ((spec.agent_config or {}).get("ServerApp") or {}).get("jpserver_extensions") or {}
        if wanted.get("jupyter_spaces.collab") and not seen.get("collaboration"):
            hint = self._log_line(spec.space, "jupyter_spaces.collab") or "(nothing about it)"
            raise LaunchError(
                f"The space server runs without its collaboration service (jupyter_spaces.collab). Server log: {hint}"
            )

    def _log_line(self, space: str, needle: str) -> str:
        """The space server log's last line that mentions ``needle`` (an extension that failed)."""
        hits = [ln.strip() for ln in self._log_tail(space, 200).splitlines() if needle in ln]
        return hits[-1] if hits else ""

    def _log_tail(self, space: str, lines: int = 20) -> str:
        try:
            with open(self._log_file(space), "rb") as f:
                f.seek(0, 2)
                f.seek(max(0, f.tell() - 8192))
                text = f.read().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def _start_failure(self, rc: int, log_tail: str, state: dict) -> str:
        last = [ln for ln in log_tail.splitlines() if ln.strip()]
        hint = last[-1].strip() if last else "(no output)"
        reason = self.describe_exit(state.get("space", ""), state, self._normalize(rc))
        return f"{reason} while starting. Last log line: {hint}"

    # -------------------------------------------------------- poll / stop
    @staticmethod
    def _normalize(rc: int) -> int:
        # bwrap reports a child killed by signal N as exit status 128+N
        if 128 < rc < 128 + 65:
            return -(rc - 128)
        return rc

    async def poll(self, space: str, state: dict) -> int | None:
        pid = (state or {}).get("pid")
        if not pid:
            return EXIT_UNKNOWN
        popen = self._popens.get(space)
        if popen is not None and popen.pid == pid:
            rc = popen.poll()
            return None if rc is None else self._normalize(rc)
        if _alive(pid, state.get("pid_start")):
            return None
        return EXIT_UNKNOWN

    def describe_exit(self, space: str, state: dict, status: int) -> str:
        cg = cgroups.SpaceCgroup.from_state((state or {}).get("cgroup"))
        if cg is not None and cg.exists() and cg.oom_kills() > 0 and status != 0:
            mem = (state or {}).get("memory_bytes") or 0
            return (
                f"The space ran out of memory (its instance type allows {mem / GiB:g} GB). "
                "Choose a larger instance type or use less memory."
            )
        return super().describe_exit(space, state, status)

    def _terminate(self, state: dict, popen: subprocess.Popen | None) -> None:
        """Blocking: SIGTERM the server, wait, then SIGKILL every process of the space."""
        pid, start = state.get("pid"), state.get("pid_start")
        cg = cgroups.SpaceCgroup.from_state(state.get("cgroup"))
        alive = _alive(pid, start)

        def everything() -> set[int]:
            procs = set(cg.pids()) if cg else set()
            if pid and _alive(pid, start):
                procs.add(pid)
                procs.update(_descendants(pid))
            return procs

        procs = everything()
        if procs:
            # polite: the server (not the bwrap monitors) shuts its kernels down
            for p in procs:
                if _comm(p) != "bwrap":
                    _kill(p, signal.SIGTERM)
            deadline = time.monotonic() + self.stop_timeout
            while time.monotonic() < deadline:
                if popen is not None:
                    popen.poll()
                if not everything():
                    break
                time.sleep(0.05)
            # forceful: the pid-namespace init first (kills the whole namespace)
            if alive and pid:
                for c in _children(pid):
                    _kill(c, signal.SIGKILL)
            for _ in range(100):
                left = everything()
                if not left:
                    break
                for p in left:
                    _kill(p, signal.SIGKILL)
                if popen is not None:
                    popen.poll()
                time.sleep(0.02)
        if cg:
            cg.kill_all()
        if popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                popen.wait(timeout=5)
        if cg and not cg.remove():
            self.log.warning("Could not remove cgroup of %s: %s", state.get("space"), cg.dirs)

    async def stop(self, space: str, state: dict) -> None:
        self._check_name(space)
        st = dict(state or {})
        saved = self._read_state_file(space)
        for k, v in saved.items():
            st.setdefault(k, v)
        st.setdefault("space", space)
        if not st.get("cgroup") and self.host.cgroups.usable:
            dirs = self.host.cgroups.space_dirs(space)
            if any(os.path.isdir(d) for d in dirs.values()):
                st["cgroup"] = {"version": self.host.cgroups.version, "dirs": dirs}
        popen = self._popens.pop(space, None)
        if popen is not None and st.get("pid") not in (None, popen.pid):
            # an older run of this space that we started: finish it too
            await asyncio.to_thread(self._terminate, {"pid": popen.pid, "space": space}, popen)
            popen = None
        await asyncio.to_thread(self._terminate, st, popen)
        await self.volumes.detach(space)
        sdir = self._space_dir(space)
        if os.path.isdir(sdir):
            for name in os.listdir(sdir):
                if name == "server.log":
                    continue
                p = os.path.join(sdir, name)
                if os.path.isdir(p) and not os.path.islink(p):
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        os.unlink(p)

    async def cleanup_orphans(self, known: dict[str, dict]) -> None:
        known = known or {}
        names: set[str] = set(self._known_states())
        if self.host.cgroups.usable:
            names |= cgroups.list_children(self.host.cgroups)
        with contextlib.suppress(LaunchError):
            names |= set(self.volumes.attached())
        for name in sorted(names):
            if name in known:
                continue
            if "." in name:  # a temporary cgroup of run_in_sandbox
                cg = cgroups.SpaceCgroup(self.host.cgroups.version, self.host.cgroups.space_dirs(name))
                await asyncio.to_thread(cg.kill_all)
                await asyncio.to_thread(cg.remove)
                continue
            if not _SPACE_RE.match(name):
                continue
            self.log.warning("Cleaning up orphaned space %s", name)
            await self.stop(name, {})

    async def discard(self) -> None:
        """Stop every space of this ``run_dir`` and remove the launcher's (then empty)
        cgroup parents: for a ``run_dir`` that is thrown away (tests, benchmarks). A
        domain never calls it: the next start reuses the parents."""
        await self.cleanup_orphans({})
        if self._host is not None:
            for parent in self.host.cgroups.parents.values():
                with contextlib.suppress(OSError):
                    os.rmdir(parent)

    # ------------------------------------------------------------- volumes
    async def create_volume(self, space: str, size_gb: int) -> None:
        self._check_name(space)
        await self.volumes.create(space, size_gb)

    async def resize_volume(self, space: str, size_gb: int) -> None:
        self._check_name(space)
        if _alive(self._read_state_file(space).get("pid"), self._read_state_file(space).get("pid_start")):
            raise VolumeError("The space is running; stop it before resizing its volume.")
        await self.volumes.resize(space, size_gb)

    async def delete_volume(self, space: str) -> None:
        self._check_name(space)
        await self.volumes.delete(space)

    async def volume_used_bytes(self, space: str) -> int:
        self._check_name(space)
        return await self.volumes.used_bytes(space)

    # ------------------------------------------------------ diagnostics
    async def run_in_sandbox(
        self,
        space: str,
        argv: list[str],
        *,
        instance_type=None,
        python: str | None = None,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess:
        """Run ``argv`` in the space's sandbox (same filesystem view, uid and — with
        ``instance_type`` — the same kind of limits, in a temporary cgroup).
        For tests and diagnostics; the volume is attached if needed and detached
        again if it was not attached before."""
        import sys

        self._check_name(space)
        h = self.host
        image = await self.check_image(python or sys.executable)
        sdir = self._space_dir(space)
        os.makedirs(os.path.join(sdir, "etc", "jupyter"), exist_ok=True)
        os.makedirs(os.path.join(sdir, "share", "jupyter"), exist_ok=True)
        os.chmod(sdir, 0o711)
        saved = self._read_state_file(space)
        uid = saved.get("uid") if saved.get("uid") is not None else (self._allocate_uid(space) if h.own_uid else None)
        was_attached = self.volumes.is_mounted(space) or bool(saved.get("home"))
        home_src = await self.volumes.attach(space, uid, uid)
        cg = None
        if instance_type is not None and h.cgroups.usable:
            limits = cgroups.Limits(
                int(instance_type.memory_gb * GiB), instance_type.cpus, instance_type.max_processes
            )
            cg = await asyncio.to_thread(
                cgroups.SpaceCgroup.create, h.cgroups, f"{space}.exec-{secrets.token_hex(4)}", limits
            )
        try:
            env = self._env({}, image, self.home_dir, space)
            prefix = cgroups.join_prefix(cg.procs_files() if cg else [], self._oom_adj())
            sandbox_fds: tuple[int, ...] = ()
            if h.sandbox:
                sb = self._sandbox(space, uid, home_src, self._image_binds(image), env)
                sandbox_fds = open_fds(sb)
                argv = prefix + build_argv(sb, argv)
            else:
                argv = prefix + list(argv)
            try:
                return await asyncio.to_thread(
                    subprocess.run, argv, capture_output=True, text=True, timeout=timeout,
                    env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}, cwd="/", check=False, pass_fds=sandbox_fds,
                )  # fmt: skip
            finally:
                close_fds(sandbox_fds)
        finally:
            if cg:
                await asyncio.to_thread(cg.kill_all)
                await asyncio.to_thread(cg.remove)
            if not was_attached:
                await self.volumes.detach(space)

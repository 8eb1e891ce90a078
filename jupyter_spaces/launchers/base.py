"""The Launcher contract: how the domain gets compute and a volume for a space.

A *launcher* is to jupyter-spaces what a Spawner is to JupyterHub: the domain
decides **what** should run (which space, which instance type, image and app)
and when; the launcher decides **how** and **where** (a sandboxed local
process, a JupyterHub single-user server, a Kubernetes pod ...). The domain picks
the class from its config (``launcher_class``) and never looks inside it.

Vocabulary
----------
space
    The space's name (``^[a-z0-9](-?[a-z0-9]){0,62}$``). It is the only key a
    launcher uses: volumes, processes, cgroups, pods are all named after it.
state
    A JSON-serialisable ``dict`` returned by :meth:`Launcher.start` (inside
    :class:`Launched`). The domain persists it verbatim with the space and hands
    it back to :meth:`Launcher.poll` and :meth:`Launcher.stop` — possibly in a
    *different* domain process after a restart, and to a *new* launcher object.

State rules (what every launcher must guarantee)
------------------------------------------------
1. ``start`` returns only once the space server is usable at ``Launched.url``: its
   agent answers a request signed with the space's secret. Before that it reports
   ``progress(percent, message)`` (percent rising from 0 to 100, messages a user
   understands).
2. If ``start`` raises (:class:`LaunchError` for anything a user can act on),
   it has already cleaned up: no process, cgroup or mount is left behind and
   the volume is intact. The exception's message becomes the space's
   ``failure_reason``.
3. ``state`` must be enough to find the running space again without any
   in-memory knowledge: ``poll(space, state)`` and ``stop(space, state)`` work on
   a state written by a previous domain process (re-adoption).
4. ``poll`` is cheap (the domain calls it every second or two for every running
   space) and returns ``None`` while the space server runs, else an exit status
   (``0`` clean; ``>0`` an exit code; ``<0`` the signal that killed it;
   :data:`EXIT_UNKNOWN` if the launcher no longer knows — e.g. the process was
   not its child). :meth:`describe_exit` turns that into a user-facing reason.
5. ``stop`` is idempotent: calling it on a stopped, half-started or unknown
   space (``state == {}``) is fine. When it returns, no process, cgroup or mount
   of the space remains; the volume (its data) is kept.
6. Volume calls (``create_volume``, ``resize_volume``, ``delete_volume``) are
   only made by the domain while the space is not running. ``resize_volume``
   raises :class:`VolumeTooSmall` (with the bytes in use) when shrinking below
   the data, leaving the volume unchanged. ``delete_volume`` is idempotent.
7. ``cleanup_orphans(known)`` is called once after a domain (re)start with the
   states of every space the domain believes is running; everything else the
   launcher finds of its own (processes, cgroups, mounts) is stopped/removed.
8. ``capabilities()`` and ``app_type_availability()`` never pretend: a missing
   isolation feature is reported as unavailable with the reason, and logged.

A launcher must be safe to call concurrently for *different* spaces; the
domain serialises calls for the *same* space.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from traitlets.config import LoggingConfigurable

__all__ = [
    "EXIT_UNKNOWN",
    "AgentSpec",
    "Capability",
    "Image",
    "InstanceType",
    "LaunchError",
    "LaunchSpec",
    "Launched",
    "Launcher",
    "Progress",
    "VolumeError",
    "VolumeTooSmall",
]

#: ``poll`` result for "not running any more, exit status unknown".
EXIT_UNKNOWN = 255

#: ``progress(percent, message)``
Progress = Callable[[int, str], None]


@dataclass(frozen=True)
class InstanceType:
    """Compute size of a space: real limits the launcher enforces."""

    name: str
    display_name: str
    cpus: float
    memory_gb: float
    max_processes: int


@dataclass(frozen=True)
class Image:
    """A software environment. ``python`` is the python executable of an
    environment that has ``jupyter_spaces`` and ``jupyterlab`` installed (the
    local launcher); other launchers may read it as a container image name."""

    name: str
    display_name: str
    description: str
    python: str


@dataclass(frozen=True)
class AgentSpec:
    """The space agent a space server must load, as the domain names it: the launcher
    puts :meth:`server_args` on the server's command line (which wins over any config
    file) and asks :attr:`identity_route` whether the agent answers (rule 1)."""

    extension: str  # the jupyter_server extension of the agent, e.g. "jupyter_spaces.space"
    settings: dict[str, str]  # "Class.trait" -> value, e.g. {"SpaceAgentApp.space_name": "..."}
    secret_fd_setting: str  # "Class.trait" that takes the fd the agent reads the secret from
    identity_route: str  # under base_url: answers a signed GET with {"space": ..., ...}
    soft_quota_setting: str = ""  # "Class.trait" that takes a volume's soft quota in bytes
    disabled_extensions: tuple[str, ...] = ()  # extensions the server must not load (the domain's)
    #: extension -> key of the identity answer that is true when it runs, checked when asked for
    features: dict[str, str] = field(default_factory=dict)

    def server_args(self, secret_fd: int | None = None, soft_quota_bytes: int | None = None) -> list[str]:
        """Command-line settings that load the agent, give it the secret's fd and, for a
        volume whose size the launcher cannot enforce, the quota the agent enforces on saves."""
        args = [f"--ServerApp.jpserver_extensions={e}=False" for e in self.disabled_extensions]
        args.append(f"--ServerApp.jpserver_extensions={self.extension}=True")
        args += [f"--{k}={v}" for k, v in self.settings.items()]
        if secret_fd is not None:
            args.append(f"--{self.secret_fd_setting}={secret_fd}")
        if soft_quota_bytes is not None and self.soft_quota_setting:
            args.append(f"--{self.soft_quota_setting}={soft_quota_bytes}")
        return args


@dataclass
class LaunchSpec:
    """Everything a launcher needs to start one space."""

    space: str
    app_type: str  # "jupyterlab" | "code-editor" | "rstudio"
    instance_type: InstanceType
    image: Image
    volume_gb: int
    base_url: str  # e.g. "/spaces/<name>/": the space server's base_url
    secret: str  # per-space HMAC secret for the space agent; never put in the environment
    agent_config: dict = field(default_factory=dict)  # extra traitlets config for the server/agent
    env: dict[str, str] = field(default_factory=dict)  # extra (non-secret) environment variables
    agent: AgentSpec | None = None  # the agent the server loads (the domain's lifecycle names it)

    def __repr__(self) -> str:  # keep the secret out of logs and tracebacks
        d = asdict(self)
        d["secret"] = "***"
        return f"LaunchSpec({d!r})"


@dataclass
class Launched:
    """Result of a successful start."""

    url: str  # e.g. "http://127.0.0.1:PORT" — where the domain proxy connects
    state: dict[str, Any]  # JSON-serialisable, persisted by the domain


@dataclass(frozen=True)
class Capability:
    """One isolation/limit feature and whether this launcher has it on this host."""

    name: str  # e.g. "sandbox", "own uid", "memory limit", "hard volume quota"
    available: bool
    reason: str = ""  # how it is provided, or why not

    def to_json(self) -> dict:
        return asdict(self)


class LaunchError(Exception):
    """A start/stop/volume failure with a message a user can act on.

    The message becomes the space's ``failure_reason``: say what went wrong and
    what to do ("... needs 3.2 GB; choose a larger volume"), never a traceback.
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class VolumeError(LaunchError):
    """A volume operation failed."""


class VolumeTooSmall(VolumeError):
    """Shrinking a volume below the data it holds (the volume is unchanged)."""

    def __init__(self, used_bytes: int, requested_gb: int | None = None):
        self.used_bytes = int(used_bytes)
        self.requested_gb = requested_gb
        used = _human_bytes(self.used_bytes)
        if requested_gb is None:
            msg = f"The volume holds {used} of data; it cannot be made that small."
        else:
            msg = (
                f"The volume holds {used} of data, which does not fit in {requested_gb} GB. "
                "Delete files or choose a larger size."
            )
        super().__init__(msg)


def _human_bytes(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"  # pragma: no cover


class Launcher(LoggingConfigurable):
    """Base class of launchers. Subclass it and implement every method.

    Methods are ``async`` except the two host-description ones, which must be
    cheap (probe once, cache). See the module docstring for the state rules.
    """

    async def start(self, spec: LaunchSpec, progress: Progress) -> Launched:
        """Start the space's app server; return once its agent answers (rule 1).

        Mounts/attaches the volume (created by :meth:`create_volume`; a launcher
        may create it if it is missing), applies the instance type's limits,
        has the server load the agent ``spec.agent`` names (its ``server_args``; the
        launcher's parts in ``spaceserver.py`` and ``readiness.py`` do this for a
        JupyterLab server), gives it ``spec.secret`` and ``spec.agent_config``, and
        calls ``progress(percent, message)`` along the way.
        Raises :class:`LaunchError` after cleaning up (rule 2).
        """
        raise NotImplementedError

    @contextlib.asynccontextmanager
    async def undone_on_failure(self, space: str, state: dict) -> AsyncIterator[None]:
        """Rule 2 around a start's work: whatever fails, what was begun is stopped and
        the caller gets a :class:`LaunchError` (unexpected errors are logged first)."""
        try:
            yield
        except BaseException as e:
            with contextlib.suppress(Exception):
                await self.stop(space, state)
            if isinstance(e, (LaunchError, asyncio.CancelledError, KeyboardInterrupt)):
                raise
            self.log.exception("Starting space %s failed", space)
            raise LaunchError(f"The space could not start: {e}") from e

    async def stop(self, space: str, state: dict) -> None:
        """Stop the space: terminate gracefully, then kill; release compute and
        mounts; keep the volume. Idempotent (rule 5)."""
        raise NotImplementedError

    async def poll(self, space: str, state: dict) -> int | None:
        """``None`` while running, else the exit status (rule 4). Must work on a
        state from a previous domain process."""
        raise NotImplementedError

    def describe_exit(self, space: str, state: dict, status: int) -> str:
        """A user-facing sentence for why a space stopped by itself (for
        ``failure_reason``). Launchers override to say e.g. "out of memory"."""
        if status == 0:
            return "The space server exited."
        if status == EXIT_UNKNOWN:
            return "The space server is no longer running."
        if status < 0:
            return f"The space server was killed (signal {-status})."
        return f"The space server exited with status {status}."

    async def create_volume(self, space: str, size_gb: int) -> None:
        """Create an empty volume of ``size_gb`` GB. Idempotent if it exists
        with that size."""
        raise NotImplementedError

    async def resize_volume(self, space: str, size_gb: int) -> None:
        """Grow, or shrink when the data fits (else :class:`VolumeTooSmall`).
        Only called while the space is stopped."""
        raise NotImplementedError

    async def delete_volume(self, space: str) -> None:
        """Delete the volume and its data. Idempotent."""
        raise NotImplementedError

    async def volume_used_bytes(self, space: str) -> int:
        """Bytes of data on the volume (0 if it does not exist). Cheap."""
        raise NotImplementedError

    def capabilities(self) -> list[Capability]:
        """What isolation and limits this launcher really provides on this host."""
        return []

    async def image_availability(self, image: Image) -> tuple[bool, str]:
        """``(available, reason)``: whether spaces can run on ``image`` here, and if not
        what to fix. May be slow the first time (it may try the image); then cheap."""
        return True, ""

    def app_type_availability(self, app_type: str) -> tuple[bool, str]:
        """``(available, reason)`` for an app type on this host."""
        if app_type == "jupyterlab":
            return True, ""
        return False, f"{app_type} is not supported by {type(self).__name__}."

    async def cleanup_orphans(self, known: dict[str, dict]) -> None:
        """After a domain restart: stop/unmount everything of this launcher's
        that is not a space in ``known`` (name -> state) (rule 7)."""
        return None

"""LocalLauncher: each running space is a sandboxed ``jupyter lab`` on this machine.

A running JupyterLab space is::

    /bin/sh (joins the space's cgroups, then execs)
      bwrap ... (mount/pid/ipc/uts namespaces, see ``sandbox.py``)
        setpriv --reuid=<space uid> ... (drops every capability, no_new_privs)
          <image python> -I -m jupyter_spaces.launchers.insandbox.labserver (jupyter lab + the agent)

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
  limited. The server runs at ``server_oom_score_adj`` (-500 where the launcher has
  CAP_SYS_RESOURCE, else 0), kernels at ``kernel_oom_score_adj`` (``spaceserver.py``).
- **Server**: its command line, environment and config files (``spaceserver.py``);
  running only once its agent answers (``readiness.py``); its processes ended and
  found again after a domain restart (``processes.py``, ``adoption.py``).
- **Kernels**: those the image's prefixes and the system offer (``environments.py``).
- **Volume quota** (``volume_mode``): as root an ext4 image, a hard limit. In
  directory mode (no root, or ``volume_mode = "directory"``) the size is a soft
  quota the agent enforces on saves through Jupyter (507); kernels and terminals can
  still write past it. ``JUPYTER_SPACES_VOLUME_LIMIT_BYTES`` and
  ``JUPYTER_SPACES_VOLUME_HARD_LIMIT`` (``"1"``/``"0"``) tell programs in the space.

Limitations (also reported by :meth:`LocalLauncher.capabilities`):
- The network namespace is shared with the host so the domain proxy reaches the
  server on ``127.0.0.1:<port>``. Code in a space can connect to any loopback
  service: the domain must never trust unsigned loopback requests, and space
  servers only accept requests signed with their own secret.
- Without root, bubblewrap (if it can use user namespaces) still hides the
  filesystem, but all spaces share the domain's uid and volumes have a soft
  quota. Without bubblewrap, spaces run unsandboxed (``allow_unsandboxed``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import subprocess
from dataclasses import replace

from .. import apps
from . import (
    allocation,
    appspaces,
    cgroups,
    environments,
    processes,
    readiness,
    spaceserver,
)
from .adoption import SpaceRecords, check_name, orphans
from .base import (
    EXIT_UNKNOWN,
    Capability,
    Launched,
    LaunchError,
    LaunchSpec,
    Progress,
    VolumeError,
)
from .capabilities import HostProbe, local_capabilities, probe
from .environments import Environment
from .localsandbox import LocalSandboxes
from .localsettings import LocalSettings
from .sandbox import build_argv, close_fds, open_fds
from .volumes import GiB, Volumes


class LocalLauncher(LocalSandboxes, LocalSettings):
    """Run each space as a sandboxed, resource-limited process on this machine."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._host: HostProbe | None = None
        self._volumes: Volumes | None = None
        self._popens: dict[str, subprocess.Popen] = {}
        self._images = {}

    @property
    def records(self) -> SpaceRecords:
        return SpaceRecords(self.run_dir)

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
        return local_capabilities(self.host, self.uid_range, self.volume_mode, lambda: self.volumes)

    def app_type_availability(self, app_type: str) -> tuple[bool, str]:
        if not self.host.sandbox and not self.allow_unsandboxed:
            return False, f"Spaces cannot be sandboxed on this host ({self.host.bwrap_reason})."
        if app_type == "jupyterlab":
            return True, ""
        return appspaces.availability(app_type, self.apps_dir)

    # ------------------------------------------------------------ helpers
    def _state_file(self, space: str) -> str:
        return self.records.state_file(space)

    def _read_state_file(self, space: str) -> dict:
        return self.records.read(space)

    def uid_for(self, space: str, taken: set[int] | None = None) -> int:
        """The space's uid: stable hash of the name in uid_range, skipping ``taken``."""
        return allocation.uid_for(space, self.uid_range, taken)

    def _allocate_uid(self, space: str) -> int:
        taken = {int(st["uid"]) for name, st in self.records.known().items() if name != space and st.get("uid")}
        return self.uid_for(space, taken)

    def _pick_port(self, space: str) -> int:
        used = {st.get("port") for name, st in self.records.known().items() if name != space}
        return allocation.free_port(self.port_range, used)

    def _env(self, spec_env: dict, image: Environment, home: str, space: str) -> dict:
        return spaceserver.server_environment(spec_env, image, home, space, self.sandbox_user, self.kernel_oom_score_adj)

    def _oom_adj(self) -> int | None:
        return self.server_oom_score_adj if os.geteuid() == 0 else None

    # --------------------------------------------------------------- start
    async def start(self, spec: LaunchSpec, progress: Progress) -> Launched:
        space = spec.space
        check_name(space)
        if spec.agent is None:
            raise LaunchError("The launch spec names no space agent (LaunchSpec.agent).")
        ok, why = self.app_type_availability(spec.app_type)
        if not ok:
            raise LaunchError(why)
        h = self.host
        if not h.sandbox and not self.allow_unsandboxed:
            raise LaunchError(f"Spaces cannot be sandboxed on this host ({h.bwrap_reason}).")
        saved = self.records.read(space)
        if processes.alive(saved.get("pid"), saved.get("pid_start")):
            # a server of this space is still around (e.g. from before a domain crash): replace it
            self.log.warning("Space %s still had a server (pid %s); stopping it first", space, saved["pid"])
            await self.stop(space, saved)
        progress(5, "Checking the image")
        image = await self.check_image(spec.image.python)
        app = apps.get(spec.app_type)
        program = app.find_program(self.apps_dir) if app.gated else None
        app_binds = await self._app_binds(program) if program else []

        state: dict = {"launcher": "local", "version": 1, "space": space}
        sdir = self.records.space_dir(space)
        log = readiness.ServerLog(self.records.log_file(space))
        async with self.undone_on_failure(space, state):
            os.makedirs(sdir, mode=0o700, exist_ok=True)
            for sub in ("etc/jupyter", "share/jupyter"):
                os.makedirs(os.path.join(sdir, sub), exist_ok=True)
            os.chmod(self.records.base, 0o700)
            uid = self._allocate_uid(space) if h.own_uid else None
            state["uid"] = uid
            state["sandbox"] = h.bwrap_mode or "none"
            self.records.write(space, state)

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
            self.records.write(space, state)

            home_in = self.home_dir if h.sandbox else home_src
            env = self._env(spec.env, image, home_in, space)
            env["JUPYTER_SPACES_VOLUME_LIMIT_BYTES"] = str(spec.volume_gb * GiB)
            env["JUPYTER_SPACES_VOLUME_HARD_LIMIT"] = "1" if self.volumes.mode == "image" else "0"
            kernels = spaceserver.kernel_config(space, image, env["PATH"].split(":"), h.sandbox, self.log)
            spaceserver.write_config_dir(sdir, spaceserver.server_config(spec, home_in, kernels))

            for attempt in range(3):
                port = self._pick_port(space)
                progress(40, f"Starting {app.display_name}")
                popen = self._spawn(spec, image, uid, home_src, home_in, env, port, cg, program, app_binds)
                state.update(pid=popen.pid, pid_start=processes.proc_start_time(popen.pid), port=port)
                self.records.write(space, state)
                url = f"http://127.0.0.1:{port}"
                self._popens[space] = popen
                # the gate answers for its app; JupyterLab's features (collaboration) are not asked of it
                ready_spec = replace(spec, agent_config={}) if program else spec
                rc = await readiness.wait_ready(ready_spec, url, popen.poll, progress, self.start_timeout, log)
                if rc is None:
                    progress(100, "Ready")
                    self.log.info("Space %s running at %s (pid %s, uid %s)", space, url, popen.pid, uid)
                    return Launched(url=url, state=dict(state))
                log_tail = log.tail()
                if "already in use" in log_tail and attempt < 2:
                    self.log.warning("Port %s taken while %s started; retrying", port, space)
                    await asyncio.to_thread(processes.terminate, state, popen, self.stop_timeout, self.log)
                    if cg is not None:  # terminate removed it along with the failed server
                        cg = await asyncio.to_thread(cgroups.SpaceCgroup.create, h.cgroups, space, limits)
                        state["cgroup"] = cg.to_state()
                    continue
                raise LaunchError(self._start_failure(rc, log_tail, state))
            raise LaunchError("The space server could not get a port; try again.")  # pragma: no cover

    async def _app_binds(self, program: str) -> list[tuple[str, str]]:
        """What the sandbox must show of an app besides the image: its files, and the
        Python of the venv it is installed in."""
        if not self.host.sandbox:
            return []
        binds = appspaces.program_binds(program, self.apps_dir)
        if python := appspaces.program_python(program):
            binds += self._image_binds(await environments.probe(python))
        return binds

    def _spawn(self, spec, image, uid, home_src, home_in, env, port, cg, program=None, app_binds=()):
        space = spec.space
        rfd, wfd = os.pipe()
        try:
            os.write(wfd, spec.secret.encode())
        finally:
            os.close(wfd)
        sandbox_fds: tuple[int, ...] = ()  # the seccomp program, read by bwrap
        try:
            # the soft quota, enforced on saves by the agent
            quota = spec.volume_gb * GiB if self.volumes.mode == "directory" else None
            if program:  # the gate, which starts the app (apps.py)
                command = image.module_command(
                    appspaces.GATE_MODULE, appspaces.gate_args(spec, port, home_in, rfd, program)
                )
            else:
                args = [*spaceserver.server_args(spec, port, home_in, rfd, quota), *self.extra_args]
                command = image.module_command(spaceserver.SERVER_MODULE, args)
            prefix = cgroups.join_prefix(cg.procs_files() if cg else [], self._oom_adj())
            if self.host.sandbox:
                sb = self._sandbox(space, uid, home_src, self._image_binds(image) + list(app_binds), env)
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
            log_file = self.records.log_file(space)
            log = open(log_file, "wb")  # noqa: SIM115
            try:
                os.chmod(log_file, 0o600)
                return subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    pass_fds=(rfd, *sandbox_fds), start_new_session=True, env=popen_env, cwd="/",
                )  # fmt: skip
            finally:
                log.close()
        finally:
            os.close(rfd)
            close_fds(sandbox_fds)

    def _start_failure(self, rc: int, log_tail: str, state: dict) -> str:
        last = [ln for ln in log_tail.splitlines() if ln.strip()]
        hint = last[-1].strip() if last else "(no output)"
        reason = self.describe_exit(state.get("space", ""), state, processes.normalize_status(rc))
        return f"{reason} while starting. Last log line: {hint}"

    # -------------------------------------------------------- poll / stop
    async def poll(self, space: str, state: dict) -> int | None:
        pid = (state or {}).get("pid")
        if not pid:
            return EXIT_UNKNOWN
        popen = self._popens.get(space)
        if popen is not None and popen.pid == pid:
            rc = popen.poll()
            return None if rc is None else processes.normalize_status(rc)
        if processes.alive(pid, state.get("pid_start")):
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

    async def stop(self, space: str, state: dict) -> None:
        check_name(space)
        st = self.records.adopted(space, state, self.host.cgroups if self.host.cgroups.usable else None)
        popen = self._popens.pop(space, None)
        if popen is not None and st.get("pid") not in (None, popen.pid):
            # an older run of this space that we started: finish it too
            await asyncio.to_thread(processes.terminate, {"pid": popen.pid, "space": space}, popen, self.stop_timeout, self.log)
            popen = None
        await asyncio.to_thread(processes.terminate, st, popen, self.stop_timeout, self.log)
        await self.volumes.detach(space)
        self.records.clear(space)

    async def cleanup_orphans(self, known: dict[str, dict]) -> None:
        names: set[str] = set(self.records.known())
        if self.host.cgroups.usable:
            names |= cgroups.list_children(self.host.cgroups)
        with contextlib.suppress(LaunchError):
            names |= set(self.volumes.attached())
        spaces, temporary = orphans(known, names)
        for name in temporary:
            cg = cgroups.SpaceCgroup(self.host.cgroups.version, self.host.cgroups.space_dirs(name))
            await asyncio.to_thread(cg.kill_all)
            await asyncio.to_thread(cg.remove)
        for name in spaces:
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
        check_name(space)
        await self.volumes.create(space, size_gb)

    async def resize_volume(self, space: str, size_gb: int) -> None:
        check_name(space)
        saved = self.records.read(space)
        if processes.alive(saved.get("pid"), saved.get("pid_start")):
            raise VolumeError("The space is running; stop it before resizing its volume.")
        await self.volumes.resize(space, size_gb)

    async def delete_volume(self, space: str) -> None:
        check_name(space)
        await self.volumes.delete(space)

    async def volume_used_bytes(self, space: str) -> int:
        check_name(space)
        return await self.volumes.used_bytes(space)

"""The sandboxes the local launcher builds (``sandbox.py`` turns one into argv): one
per space (its generated ``/etc/passwd``, config and ``sitecustomize``, the image's
files read-only), a throwaway one that checks an image where a space would run it, and
one a command runs in for tests and diagnostics (:meth:`LocalSandboxes.run_in_sandbox`).
A mixin of :class:`~jupyter_spaces.launchers.local.LocalLauncher`: it reads the
launcher's settings (:mod:`.localsettings`), ``host`` and ``records``."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time

from . import cgroups, environments, spaceserver
from .adoption import check_name
from .base import Image, LaunchError
from .environments import Environment
from .sandbox import Sandbox, build_argv, close_fds, open_fds, passwd_text
from .spaceserver import OPT
from .volumes import GiB

NOBODY = 65534  # the uid that checks an image: it owns nothing


def _is_within(path: str, ancestor: str) -> bool:
    return _within(os.path.realpath(path), os.path.realpath(ancestor))


def _within(path: str, ancestor: str) -> bool:
    """As paths are written (inside a sandbox, where host symlinks mean nothing)."""
    return path == ancestor or path.startswith(ancestor.rstrip("/") + "/")


class LocalSandboxes:
    #: python -> (recheck after, Environment or why it cannot run)
    _images: dict[str, tuple[float, Environment | LaunchError]]

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
        command = env.module_command(environments.IMAGE_CHECK)
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
        sdir = self.records.space_dir(space)
        files = []
        eff_uid = uid if uid is not None else os.getuid()
        eff_gid = uid if uid is not None else os.getgid()
        passwd, group = passwd_text(self.sandbox_user, eff_uid, eff_gid, self.home_dir, space)
        # /etc/hostname: the UTS name, for tools that read the file (hostnamectl, prompts).
        for name, text in (("passwd", passwd), ("group", group), ("hostname", space + "\n")):
            p = os.path.join(sdir, name)
            with open(p, "w") as f:
                f.write(text)
            os.chmod(p, 0o644)
            files.append((p, f"/etc/{name}"))
        etc, share, pylib = (os.path.join(sdir, d) for d in ("etc", "share", "pylib"))
        spaceserver.install_sitecustomize(pylib)
        binds = [*image_binds, (etc, f"{OPT}/etc"), (share, f"{OPT}/share"), (pylib, f"{OPT}/pylib")]
        return Sandbox(
            hostname=space, home=self.home_dir, home_src=home_src, env=env, uid=uid, gid=uid,
            privileged=h.bwrap_mode == "privileged", ro_binds=binds, files=files,
            bwrap=h.bwrap or self.bwrap, setpriv=h.setpriv or "setpriv",
            seccomp=h.seccomp, disable_userns=h.disable_userns,
        )  # fmt: skip

    async def run_in_sandbox(
        self, space: str, argv: list[str], *, instance_type=None, python: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess:
        """Run ``argv`` in the space's sandbox (same filesystem view, uid and — with
        ``instance_type`` — the same kind of limits, in a temporary cgroup).
        For tests and diagnostics; the volume is attached if needed and detached
        again if it was not attached before."""
        check_name(space)
        h = self.host
        image = await self.check_image(python or sys.executable)
        sdir = self.records.space_dir(space)
        os.makedirs(os.path.join(sdir, "etc", "jupyter"), exist_ok=True)
        os.makedirs(os.path.join(sdir, "share", "jupyter"), exist_ok=True)
        os.chmod(sdir, 0o711)
        saved = self.records.read(space)
        uid = saved.get("uid") if saved.get("uid") is not None else (self._allocate_uid(space) if h.own_uid else None)
        was_attached = self.volumes.is_mounted(space) or bool(saved.get("home"))
        home_src = await self.volumes.attach(space, uid, uid)
        cg = None
        if instance_type is not None and h.cgroups.usable:
            limits = cgroups.Limits(int(instance_type.memory_gb * GiB), instance_type.cpus, instance_type.max_processes)
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

"""Probe the host once for what the local launcher can use.

One job: answer "are we root? does bubblewrap work (privileged or with a user
namespace)? does it load our seccomp filter, and can it forbid new user
namespaces? can we write cgroups? can we loop-mount ext4 images?" with a reason
for every "no", and turn it into the launcher's :class:`~.base.Capability` rows
(:func:`local_capabilities`; the launcher logs the missing ones). Nothing here
changes the host except creating (and removing) probe cgroups under the launcher's
cgroup parent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field

from . import cgroups, seccomp
from .base import Capability, LaunchError


@dataclass
class HostProbe:
    root: bool
    bwrap: str | None
    bwrap_mode: str  # "privileged" | "userns" | "" (unusable)
    bwrap_reason: str
    setpriv: str | None
    cgroups: cgroups.CgroupLayout
    loop_images: bool
    loop_reason: str
    tools: dict[str, str | None] = field(default_factory=dict)
    seccomp: bytes | None = None  # the filter bwrap loads (None: none, see seccomp_reason)
    seccomp_reason: str = ""
    disable_userns: bool = False  # userns mode: bwrap's --disable-userns works here

    @property
    def sandbox(self) -> bool:
        return bool(self.bwrap_mode)

    @property
    def own_uid(self) -> bool:
        return self.root and self.bwrap_mode == "privileged" and bool(self.setpriv)

    @property
    def no_userns(self) -> bool:
        """Code in a space cannot create user namespaces."""
        return self.sandbox and (self.seccomp is not None or self.disable_userns)

    def hardening(self) -> list[Capability]:
        """The "seccomp filter" and "no user namespaces" rows of the launcher's capabilities."""
        if self.seccomp is not None:
            filt = Capability(
                "seccomp filter",
                True,
                "libseccomp filter loaded by bubblewrap: no namespaces, mounts, keyrings, bpf, "
                "ptrace, perf events, userfaultfd, io_uring, kernel modules or kexec",
            )
        else:
            filt = Capability("seccomp filter", False, self.seccomp_reason or "no seccomp filter")
        if self.no_userns:
            how = "the seccomp filter" if self.seccomp is not None else "bubblewrap's --disable-userns"
            userns = Capability("no user namespaces", True, f"code in a space cannot create namespaces ({how})")
        else:
            userns = Capability(
                "no user namespaces",
                False,
                "code in a space can create user namespaces where the kernel allows them "
                "(needs the seccomp filter or bubblewrap >= 0.8 in user-namespace mode)",
            )
        return [filt, userns]


def _try(argv: list[str], pass_fds: tuple[int, ...] = ()) -> tuple[bool, str]:
    try:
        cp = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False, pass_fds=pass_fds)
    except (OSError, subprocess.SubprocessError) as e:
        return False, str(e)
    if cp.returncode == 0:
        return True, ""
    lines = (cp.stderr or cp.stdout).strip().splitlines()
    return False, lines[-1] if lines else f"exit status {cp.returncode}"


def _bwrap_test_args() -> list[str]:
    args = []
    for top in ("usr", "bin", "lib", "lib64"):
        p = "/" + top
        if os.path.islink(p):
            args += ["--symlink", os.readlink(p), p]
        elif os.path.isdir(p):
            args += ["--ro-bind", p, p]
    return args + ["--proc", "/proc", "--dev", "/dev", "--unshare-pid", "--unshare-ipc", "--unshare-uts"]


def probe(bwrap: str = "bwrap", cgroup_parent: str = "jupyter-spaces") -> HostProbe:
    root = os.geteuid() == 0
    bwrap_path = shutil.which(bwrap)
    setpriv = shutil.which("setpriv")
    mode, reason = "", ""
    if not bwrap_path:
        reason = f"bubblewrap ({bwrap}) is not installed (apt-get install bubblewrap)"
    else:
        base = [bwrap_path, *_bwrap_test_args()]
        if root:
            if not setpriv:
                reason = "setpriv (util-linux) is missing, cannot switch to the space's uid"
            else:
                ok, why = _try([*base, "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--",
                                setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                                "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--", "true"])  # fmt: skip
                mode, reason = ("privileged", "") if ok else ("", f"bubblewrap does not work as root: {why}")
        if not mode:
            ok, why = _try([*base[:1], "--unshare-user", *base[1:], "--", "true"])
            if ok:
                mode = "userns"
            elif not reason:
                reason = f"bubblewrap cannot create a user namespace: {why}"
    program, sc_reason, no_userns = None, "", False
    if mode:
        program, sc_reason = _probe_seccomp(bwrap_path, mode, setpriv)
        if mode == "userns":
            no_userns, _ = _try([bwrap_path, "--unshare-user", "--disable-userns", "--assert-userns-disabled",
                                 *_bwrap_test_args(), "--", "true"])  # fmt: skip
    else:
        sc_reason = "no sandbox to load a seccomp filter into"
    tools = {t: shutil.which(t) for t in ("mkfs.ext4", "resize2fs", "e2fsck", "dumpe2fs", "losetup", "mount", "umount")}
    loop, loop_reason = False, ""
    if not root:
        loop_reason = "not running as root"
    elif missing := [t for t, p in tools.items() if not p]:
        loop_reason = f"missing tools: {', '.join(missing)} (apt-get install e2fsprogs util-linux)"
    elif not os.path.exists("/dev/loop-control") and not os.path.exists("/dev/loop0"):
        loop_reason = "no loop devices (/dev/loop-control)"
    else:
        loop = True
    layout = cgroups.detect(cgroup_parent)
    return HostProbe(
        root=root,
        bwrap=bwrap_path,
        bwrap_mode=mode,
        bwrap_reason=reason,
        setpriv=setpriv,
        cgroups=layout,
        loop_images=loop,
        loop_reason=loop_reason,
        tools=tools,
        seccomp=program,
        seccomp_reason=sc_reason,
        disable_userns=no_userns,
    )


def _probe_seccomp(bwrap: str, mode: str, setpriv: str | None) -> tuple[bytes | None, str]:
    """(the filter, "") if bubblewrap loads it here and it refuses a user namespace; else (None, why)."""
    program, why = seccomp.program()
    if program is None:
        return None, why
    fd = seccomp.program_fd(program)
    try:
        # inside the filter a new user namespace must be refused (util-linux's unshare)
        check = ["/bin/sh", "-c", "if unshare --user true 2>/dev/null; then echo 'a user namespace was allowed'; exit 3; fi"]
        args = [bwrap, *_bwrap_test_args(), "--seccomp", str(fd)]
        if mode == "userns":
            args[1:1] = ["--unshare-user"]
        if mode == "privileged" and setpriv:
            args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--", setpriv, "--reuid=65534",
                     "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]  # fmt: skip
        ok, err = _try([*args, "--", *check], pass_fds=(fd,))
    finally:
        os.close(fd)
    if not ok:
        return None, f"bubblewrap could not apply the seccomp filter: {err}"
    return program, ""


def local_capabilities(h: HostProbe, uid_range: tuple[int, int], volume_mode: str, volumes) -> list[Capability]:
    """The local launcher's capability rows on host ``h``: ``volume_mode`` is its setting,
    ``volumes`` a callable returning its :class:`~.volumes.Volumes` (or raising
    :class:`~.base.LaunchError` when that mode is impossible here)."""
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
            f"each space runs as its own uid in {uid_range[0]}-{uid_range[1]}"
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
        mode = volumes().mode
    except LaunchError as e:
        mode, reason = "", e.message
    else:
        if mode == "image":
            reason = "ext4 image per space, loop-mounted: writes past the size fail with 'no space left'"
        else:
            why = "volume_mode is 'directory'" if volume_mode == "directory" else h.loop_reason
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

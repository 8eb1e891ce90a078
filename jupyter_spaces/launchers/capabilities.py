"""Probe the host once for what the local launcher can use.

One job: answer "are we root? does bubblewrap work (privileged or with a user
namespace)? can we write cgroups? can we loop-mount ext4 images?" with a reason
for every "no". The launcher turns this into :class:`~.base.Capability` rows and
warnings; nothing here changes the host except creating (and removing) probe
cgroups under the launcher's cgroup parent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field

from . import cgroups


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

    @property
    def sandbox(self) -> bool:
        return bool(self.bwrap_mode)

    @property
    def own_uid(self) -> bool:
        return self.root and self.bwrap_mode == "privileged" and bool(self.setpriv)


def _try(argv: list[str]) -> tuple[bool, str]:
    try:
        cp = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
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
    )

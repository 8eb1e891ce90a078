"""Build the bubblewrap command line that sandboxes a space.

One job: turn a :class:`Sandbox` description into ``argv``. Used for the space
server and for any command run "inside a space" (tests, diagnostics), so both
see exactly the same filesystem.

What the sandbox looks like from inside
---------------------------------------
- ``/usr`` (and ``/bin``, ``/lib*``, ``/sbin`` as on the host), a minimal
  ``/etc`` (certificates, resolver, locale/time, loader cache; a generated
  ``passwd``/``group`` naming only the space user), the image's Python environment
  (its own directories only, wherever they are: see ``environments.py``)
  and the ``jupyter_spaces`` package: read-only.
- ``$HOME`` (default ``/home/jovyan``): the space's volume, the only writable
  persistent place; it is also the server's root directory.
- private ``/tmp``, ``/dev/shm``, ``/run`` (tmpfs, counted in the space's memory),
  a private ``/proc`` (new pid namespace: only the space's processes), a
  minimal ``/dev``; new IPC and UTS namespaces (hostname = space name).
- nothing else: no ``/root``, ``/home`` of the host, ``/work``, ``/var``,
  ``/srv``, the domain's data directory, the volumes directory or other
  spaces' volumes.

Identity: as root, ``bwrap`` builds the namespaces and then
``setpriv`` switches to the space's own uid/gid, clears supplementary groups,
drops every capability (bounding set too) and sets ``no_new_privs``. Without
root, ``bwrap`` runs unprivileged with a user namespace (the space keeps the
domain's uid — weaker, reported by the launcher).

Hardening (``seccomp.py``): bwrap loads a seccomp filter built with libseccomp
(``--seccomp FD``) just before it runs the command, so every process of the
space runs under it: no new namespaces of any kind (user namespaces above all),
no mounts, keyrings, bpf, ptrace, perf, io_uring, module or kexec calls. In
the unprivileged (user namespace) mode bwrap's ``--disable-userns`` is added
where bwrap has it (0.8+): it needs bwrap's own user namespace, which the
privileged mode does not create, so there the filter alone refuses them. The
program travels on a file descriptor that :func:`open_fds` makes and the
caller hands to the child (``pass_fds``) and closes afterwards.

Limitation: the network namespace is **shared** with the host so that the
server can listen on 127.0.0.1 for the domain proxy. Code in a space can
therefore reach loopback services (the domain, other space servers). The domain
must never trust an unsigned loopback request, and space servers accept only
requests signed with their own secret.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from . import seccomp

#: /etc entries copied read-only into the sandbox (when they exist)
ETC_ENTRIES = (
    "hosts", "resolv.conf", "nsswitch.conf", "host.conf", "gai.conf", "services", "protocols",
    "ssl", "ca-certificates", "ca-certificates.conf", "pki", "crypto-policies",
    "localtime", "timezone", "zoneinfo", "locale.alias", "locale.conf", "default/locale",
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "mime.types",
    "os-release", "debian_version", "fonts", "R", "matplotlibrc", "inputrc", "bash.bashrc", "profile",
    "terminfo", "magic", "magic.mime", "shells", "environment",
)  # fmt: skip

SYSTEM_TOP = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32")


@dataclass
class Sandbox:
    """Description of one sandboxed command."""

    hostname: str
    home: str  # path inside the sandbox ($HOME and cwd)
    home_src: str | None  # host path bound read-write at ``home`` (None: empty tmpfs)
    env: dict[str, str]
    uid: int | None = None  # switch to this uid/gid (needs root); None: keep ours
    gid: int | None = None
    privileged: bool = True  # running as root (setpriv inside) vs unprivileged userns
    ro_binds: list[tuple[str, str]] = field(default_factory=list)  # extra (src, dest)
    files: list[tuple[str, str]] = field(default_factory=list)  # host file -> dest, read-only
    bwrap: str = "bwrap"
    setpriv: str = "setpriv"
    share_net: bool = True
    seccomp: bytes | None = None  # compiled BPF program for ``--seccomp`` (None: no filter)
    disable_userns: bool = False  # userns mode only: bwrap's --disable-userns (bwrap >= 0.8)
    seccomp_fd: int | None = field(default=None, repr=False)  # set by open_fds()


def open_fds(sb: Sandbox) -> tuple[int, ...]:
    """Open the descriptors ``build_argv(sb, ...)`` refers to (the seccomp program).

    Call before :func:`build_argv`; pass the result to the child (``pass_fds``) and
    close it with :func:`close_fds` once the child is started. One set per launch.
    """
    if sb.seccomp is None:
        sb.seccomp_fd = None
        return ()
    sb.seccomp_fd = seccomp.program_fd(sb.seccomp)
    return (sb.seccomp_fd,)


def close_fds(fds: tuple[int, ...]) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def system_binds() -> list[str]:
    """bwrap args that reproduce the host's /usr, /bin, /lib* ... read-only."""
    args: list[str] = []
    for top in SYSTEM_TOP:
        p = "/" + top
        if os.path.islink(p):
            args += ["--symlink", os.readlink(p), p]
        elif os.path.isdir(p):
            args += ["--ro-bind", p, p]
    return args


def etc_binds(generated: set[str]) -> list[str]:
    args = ["--dir", "/etc"]
    for name in ETC_ENTRIES:
        if name in generated:
            continue
        p = os.path.join("/etc", name)
        if os.path.lexists(p):
            args += ["--ro-bind-try", p, p]
    return args


def _under_system(path: str) -> bool:
    return any(path == "/" + t or path.startswith("/" + t + "/") for t in SYSTEM_TOP)


def build_argv(sb: Sandbox, command: list[str]) -> list[str]:
    """The full argv: ``bwrap ... -- [setpriv ...] command``."""
    a: list[str] = [sb.bwrap]
    if not sb.privileged:
        a += ["--unshare-user"]
    a += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if not sb.share_net:
        a += ["--unshare-net"]
    if not sb.privileged and sb.disable_userns:
        a += ["--disable-userns", "--assert-userns-disabled"]
    if sb.seccomp is not None:
        if sb.seccomp_fd is None:
            raise ValueError("open_fds(sandbox) must be called before build_argv when a seccomp filter is set")
        a += ["--seccomp", str(sb.seccomp_fd)]
    a += ["--hostname", sb.hostname]
    a += system_binds()
    generated = {os.path.relpath(dest, "/etc") for _src, dest in sb.files if dest.startswith("/etc/")}
    a += etc_binds(generated)
    for src, dest in sb.files:
        a += ["--ro-bind", src, dest]
    # the private mounts first, so that an image under /tmp or /home is bound over them
    a += ["--proc", "/proc", "--dev", "/dev"]
    a += ["--perms", "1777", "--tmpfs", "/tmp", "--perms", "1777", "--tmpfs", "/dev/shm"]
    a += ["--perms", "1777", "--tmpfs", "/var/tmp", "--perms", "0755", "--tmpfs", "/run"]
    a += ["--dir", "/home"]
    seen: set[str] = set()
    made: set[str] = {"/", "/etc", "/tmp", "/var/tmp", "/run", "/home"}
    for src, dest in sb.ro_binds:
        if dest in seen or (src == dest and _under_system(dest)):
            continue
        seen.add(dest)
        # parents that bwrap would otherwise create as 0700: make them traversable
        parents = []
        d = os.path.dirname(dest)
        while d not in made and not _under_system(d):
            parents.append(d)
            made.add(d)
            d = os.path.dirname(d)
        for d in reversed(parents):
            a += ["--perms", "0755", "--dir", d]
        a += ["--ro-bind", src, dest]
    if sb.home_src:
        a += ["--bind", sb.home_src, sb.home]
    else:
        a += ["--perms", "0777", "--tmpfs", sb.home]
    a += ["--chdir", sb.home, "--clearenv"]
    for k, v in sb.env.items():
        a += ["--setenv", k, v]
    if sb.privileged and sb.uid is not None:
        gid = sb.uid if sb.gid is None else sb.gid
        a += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--", sb.setpriv,
              f"--reuid={sb.uid}", f"--regid={gid}", "--clear-groups",
              "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]  # fmt: skip
    else:
        a += ["--"]
    return a + list(command)


def passwd_text(user: str, uid: int, gid: int, home: str, gecos: str = "") -> tuple[str, str]:
    """(/etc/passwd, /etc/group) contents naming only root, nobody and the space user."""
    passwd = (
        "root:x:0:0:root:/root:/usr/sbin/nologin\n"
        f"{user}:x:{uid}:{gid}:{gecos}:{home}:/bin/bash\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    )
    group = f"root:x:0:\n{user}:x:{gid}:\nnogroup:x:65534:\n"
    return passwd, group

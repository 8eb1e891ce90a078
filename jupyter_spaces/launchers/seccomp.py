"""The seccomp filter every sandboxed space runs under.

One job: build, with libseccomp, the BPF program that bubblewrap loads
(``bwrap --seccomp FD``) just before it executes the space's command. The
program is inherited by every process of the space (server, kernels,
terminals, their children) and cannot be removed from inside.

The filter is a deny list on top of the sandbox (own uid, no capabilities,
``no_new_privs``): the system calls below are of no use to a notebook, and
each one exposes kernel code that has had privilege-escalation bugs. They fail
with ``EPERM`` (``clone3`` with ``ENOSYS``) instead of killing the caller, so
programs that probe for a feature fall back as they do on a kernel without it.

=========================================  ==========================================
denied                                     why
=========================================  ==========================================
``unshare``, ``clone`` with a namespace    no new namespaces, above all no user
flag (``CLONE_NEWUSER``, ``NEWNS``,        namespace: inside one, code is "root" and
``NEWNET``, ``NEWPID``, ``NEWIPC``,        reaches the kernel's namespaced-root code
``NEWUTS``, ``NEWCGROUP``, ``NEWTIME``);   (netfilter, mounts of many filesystems...)
``setns``
``clone3`` (``ENOSYS``)                    its flags are in memory, which seccomp
                                           cannot read; glibc (threads, posix_spawn)
                                           falls back to ``clone`` on ENOSYS, where
                                           the flags are checked
``mount``, ``umount2``, ``pivot_root``,    the sandbox's filesystem is fixed by
``chroot``, the new mount API              bubblewrap; nothing inside rearranges it
(``open_tree``, ``move_mount``,
``fsopen``, ``fsconfig``, ``fsmount``,
``fspick``, ``mount_setattr``)
``keyctl``, ``add_key``, ``request_key``   the kernel keyring is not namespaced
``bpf``                                    eBPF verifier bugs are a classic escape
``ptrace``, ``process_vm_readv``,          reading or steering other processes: the
``process_vm_writev``, ``kcmp``,           space server holds the space's signing
``pidfd_getfd``, ``process_madvise``       secret and runs as the same uid as the
                                           kernels (and the host has no Yama);
                                           ``pdb`` needs none of them (gdb, strace
                                           and py-spy do not work in a space)
``perf_event_open``                        kernel side channels and a history of bugs
``userfaultfd``                            the usual tool to win kernel races
``io_uring_setup``, ``_enter``,            a large, fast-moving kernel interface with
``_register``                              many escalation bugs (disabled by Docker's
                                           default profile, ChromeOS, Android);
                                           libuv and others fall back to threads
``personality`` with flags above           disabling ASLR (``ADDR_NO_RANDOMIZE``),
``PER_LINUX32 | UNAME26``                  ``READ_IMPLIES_EXEC``, ``MMAP_PAGE_ZERO``
                                           (the query ``personality(0xffffffff)``
                                           is refused too)
``init_module``, ``finit_module``,         kernel code: root-only anyway, denied so a
``delete_module``, ``kexec_load``,         future mistake in the privilege drop does
``kexec_file_load``, ``acct``,             not open them
``swapon``, ``swapoff``, ``reboot``,
``syslog``, ``quotactl``,
``quotactl_fd``, ``lookup_dcookie``,
``open_by_handle_at``, ``iopl``,
``ioperm``, ``uselib``, ``vhangup``,
``nfsservctl``, ``_sysctl``
=========================================  ==========================================

System calls of another ABI than the host's (i386 through ``int 0x80``, x32 on
x86_64) kill the process: a filter for one ABI says nothing about another's
numbers.

The library: libseccomp through its Python bindings — the official ``seccomp``
module where the system provides it for this interpreter, else ``pyseccomp``
(a dependency of this package: the same API over ctypes and the system's
``libseccomp.so.2``). No BPF is written here by hand. Where neither works (not
Linux, no libseccomp), :func:`program` returns ``None`` with the reason, and
the launcher runs spaces without the filter, says so in its log and in its
capabilities (``GET app-types``).
"""

from __future__ import annotations

import errno
import functools
import os
import sys

#: namespace flags of clone(2)/unshare(2) (linux/sched.h)
CLONE_NEWTIME = 0x00000080  # unshare only: in clone(2) the low byte is the exit signal
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NS_FLAGS = (CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET)

#: personality(2) values a program may still set: PER_LINUX, PER_LINUX32, UNAME26 and their union
PERSONALITY_MAX = 0x0020008

#: denied outright with EPERM
DENIED = (
    "setns",
    # mounts: the old and the new API
    "mount", "umount", "umount2", "pivot_root", "chroot",
    "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    # keyrings
    "keyctl", "add_key", "request_key",
    "bpf",
    # other processes
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "process_madvise",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    # root-only: belt and braces
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
    "acct", "swapon", "swapoff", "reboot", "syslog", "quotactl", "quotactl_fd",
    "lookup_dcookie", "open_by_handle_at", "iopl", "ioperm", "uselib", "vhangup",
    "nfsservctl", "_sysctl",
)  # fmt: skip


def _bindings():
    """The libseccomp Python module: official bindings if importable, else pyseccomp."""
    try:
        import seccomp  # type: ignore[import-not-found]  # libseccomp's own (e.g. Debian's python3-seccomp)

        return seccomp
    except ImportError:
        pass
    import pyseccomp  # raises RuntimeError when libseccomp.so.2 is missing

    return pyseccomp


def build_filter(sc):
    """The filter (a libseccomp ``SyscallFilter``) for the native architecture."""
    f = sc.SyscallFilter(sc.ALLOW)
    f.set_attr(sc.Attr.ACT_BADARCH, sc.KILL_PROCESS)
    eperm = sc.ERRNO(errno.EPERM)

    def deny(action, name, *args):
        try:
            nr = sc.resolve_syscall(sc.Arch.NATIVE, name)
        except (ValueError, OSError):
            return
        if isinstance(nr, int) and nr < 0 and nr > -100:
            # unknown to this libseccomp, or not a system call on this architecture
            # (libseccomp's pseudo-syscall numbers are far below -100)
            return
        f.add_rule(action, name, *args)

    for name in DENIED:
        deny(eperm, name)
    # s390 passes clone's flags second; every other architecture first
    s390 = sc.system_arch() in (sc.Arch.S390, sc.Arch.S390X)
    clone_flags_arg = 1 if s390 else 0
    for flag in CLONE_NS_FLAGS:
        deny(eperm, "clone", sc.Arg(clone_flags_arg, sc.MASKED_EQ, flag, flag))
    for flag in (*CLONE_NS_FLAGS, CLONE_NEWTIME):
        deny(eperm, "unshare", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    deny(sc.ERRNO(errno.ENOSYS), "clone3")
    deny(eperm, "personality", sc.Arg(0, sc.GT, PERSONALITY_MAX))
    return f


@functools.lru_cache(maxsize=1)
def _compiled() -> tuple[bytes | None, str]:
    if not sys.platform.startswith("linux"):
        return None, f"seccomp exists only on Linux (this is {sys.platform})"
    try:
        sc = _bindings()
    except (ImportError, RuntimeError, OSError) as e:
        return None, (
            f"libseccomp's Python bindings are unusable ({e}); install libseccomp2 and the "
            "pyseccomp package"
        )
    try:
        f = build_filter(sc)
        fd = os.memfd_create("jupyter-spaces-seccomp", os.MFD_CLOEXEC)
        try:
            f.export_bpf(_Fd(fd))
            size = os.lseek(fd, 0, os.SEEK_END)
            data = os.pread(fd, size, 0)
        finally:
            os.close(fd)
    except (OSError, ValueError, AttributeError) as e:
        return None, f"libseccomp could not build the filter: {e}"
    if not data or len(data) % 8:
        return None, f"libseccomp exported an unexpected program ({len(data)} bytes)"
    return data, ""


class _Fd:
    """What ``export_bpf`` wants: an object with ``fileno()``."""

    def __init__(self, fd: int):
        self._fd = fd

    def fileno(self) -> int:
        return self._fd


def program() -> tuple[bytes | None, str]:
    """(compiled BPF program for ``bwrap --seccomp``, "") or (None, why not)."""
    return _compiled()


def program_fd(data: bytes) -> int:
    """A new file descriptor, positioned at 0, holding ``data`` (bwrap reads it to EOF).

    Each launch gets its own: bwrap reads from the current offset, so two launches
    must never share one. Not inheritable; hand it to the child with ``pass_fds``.
    """
    fd = os.memfd_create("jupyter-spaces-seccomp", os.MFD_CLOEXEC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd

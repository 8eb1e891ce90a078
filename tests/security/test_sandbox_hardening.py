"""Finding 8 of issue 12: code in a space cannot create namespaces nor reach the
kernel interfaces a notebook never needs (seccomp filter loaded by bubblewrap),
while normal work (pip install into the volume, threads, multiprocessing with
fork and spawn, subprocess) still works.

Everything runs in a real space: a space server started by the local launcher
(bubblewrap, own uid, cgroup limits, loop-mounted volume), and the code runs
in a kernel started through the server's signed REST API.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import os
import sys
import textwrap
import zipfile

import pytest

from jupyter_spaces.domain.agent import space_agent
from jupyter_spaces.launchers.base import Image, InstanceType, LaunchSpec

pytestmark = pytest.mark.slow
from tests.domain.kernels import run_code_signed

SMALL = InstanceType("small", "Small", cpus=1, memory_gb=1, max_processes=256)


@pytest.fixture
def launcher(tmp_path):
    from jupyter_spaces.launchers.local import LocalLauncher

    (tmp_path / "volumes").mkdir()
    (tmp_path / "run").mkdir()
    launcher = LocalLauncher(volumes_dir=str(tmp_path / "volumes"), run_dir=str(tmp_path / "run"))
    h = launcher.host
    if not (h.root and h.sandbox):
        pytest.skip(f"needs root and bubblewrap ({h.bwrap_reason or 'not root'})")
    yield launcher
    asyncio.run(launcher.discard())


def _spec(space: str, python: str) -> LaunchSpec:
    """A space on ``python``: the project installed in a venv (tests/conftest.py's installed_python)."""
    return LaunchSpec(
        space=space,
        app_type="jupyterlab",
        instance_type=SMALL,
        image=Image("default", "Default", "the project installed in a venv", python),
        volume_gb=1,
        base_url=f"/spaces/{space}/",
        secret=os.urandom(24).hex(),
        agent_config={},
        env={},
        agent=space_agent(space),
    )


def _server_pids(state: dict) -> list[int]:
    from jupyter_spaces.launchers.processes import descendants

    return list(descendants(state["pid"]))


def _seccomp_mode(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Seccomp:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


# What the kernel tries. Each probe prints one JSON line {name: errno name or "ok"}.
PROBES = textwrap.dedent(
    r'''
    import ctypes, errno, json, os, signal, subprocess, sys, time
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    NR = {  # x86_64 / aarch64 (asm-generic) numbers
        "x86_64": dict(clone=56, clone3=435, unshare=272, setns=308, mount=165, keyctl=250, add_key=248,
                       bpf=321, ptrace=101, process_vm_readv=310, perf_event_open=298, init_module=175,
                       finit_module=313, userfaultfd=323, io_uring_setup=425, personality=135,
                       kexec_load=246, fsopen=430, open_tree=428, pivot_root=155),
        "aarch64": dict(clone=220, clone3=435, unshare=97, setns=268, mount=40, keyctl=219, add_key=217,
                        bpf=280, ptrace=117, process_vm_readv=270, perf_event_open=241, init_module=105,
                        finit_module=273, userfaultfd=282, io_uring_setup=425, personality=92,
                        kexec_load=104, fsopen=430, open_tree=428, pivot_root=41),
    }[os.uname().machine]
    CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET, SIGCHLD = 0x20000, 0x10000000, 0x40000000, 17
    res = {}

    def call(name, *args):
        args = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
        r = libc.syscall(NR[name], *args)
        if r == -1:
            return errno.errorcode[ctypes.get_errno()]
        return "ok"

    def in_child(name, *args):
        """clone/unshare in a forked child, so a success does not change this kernel."""
        pid = os.fork()
        if pid == 0:
            r = libc.syscall(NR[name], *[ctypes.c_long(a) for a in args])
            if r == 0 and name == "clone":
                os._exit(0)  # the clone's child
            code = 100 if r > 0 or r == 0 else ctypes.get_errno()
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        return "ok" if code == 100 else errno.errorcode.get(code, str(code))

    res["unshare -Ur"] = subprocess.run(["unshare", "-Ur", "id", "-u"], capture_output=True, text=True).stderr.strip() or "ok"
    res["unshare(CLONE_NEWUSER)"] = in_child("unshare", CLONE_NEWUSER)
    res["unshare(CLONE_NEWNS)"] = in_child("unshare", CLONE_NEWNS)
    res["unshare(CLONE_NEWUSER|CLONE_NEWNET)"] = in_child("unshare", CLONE_NEWUSER | CLONE_NEWNET)
    res["clone(CLONE_NEWUSER)"] = in_child("clone", CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0)
    res["clone(CLONE_NEWUSER|CLONE_NEWNS)"] = in_child("clone", CLONE_NEWUSER | CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0)
    res["clone(CLONE_NEWUSER|CLONE_NEWNET)"] = in_child("clone", CLONE_NEWUSER | CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0)
    res["clone3"] = call("clone3", 0, 0)
    fd = os.open("/proc/self/ns/uts", os.O_RDONLY)
    res["setns"] = call("setns", fd, 0)
    os.close(fd)
    os.makedirs("/tmp/mnt", exist_ok=True)
    res["mount"] = call("mount", ctypes.c_char_p(b"none"), ctypes.c_char_p(b"/tmp/mnt"), ctypes.c_char_p(b"tmpfs"), 0, 0)
    res["fsopen"] = call("fsopen", ctypes.c_char_p(b"tmpfs"), 0)
    res["open_tree"] = call("open_tree", -100, ctypes.c_char_p(b"/tmp"), 1)  # OPEN_TREE_CLONE
    res["pivot_root"] = call("pivot_root", ctypes.c_char_p(b"/tmp"), ctypes.c_char_p(b"/tmp/mnt"))
    res["keyctl"] = call("keyctl", 0, -3, 1)  # KEYCTL_GET_KEYRING_ID, session keyring, create
    res["add_key"] = call("add_key", ctypes.c_char_p(b"user"), ctypes.c_char_p(b"k"), ctypes.c_char_p(b"v"), 1, -3)
    attr = (ctypes.c_uint32 * 32)(1, 4, 4, 1)  # BPF_MAP_TYPE_HASH, key 4, value 4, 1 entry
    res["bpf"] = call("bpf", 0, ctypes.byref(attr), ctypes.sizeof(attr))
    # ptrace and process_vm_readv of a process that is not our child: the server (our parent)
    res["ptrace(server)"] = call("ptrace", 16, os.getppid(), 0, 0)  # PTRACE_ATTACH
    if res["ptrace(server)"] == "ok":  # without the filter: let the server go on
        time.sleep(0.2)
        call("ptrace", 17, os.getppid(), 0, 0)  # PTRACE_DETACH
    buf = ctypes.create_string_buffer(8)
    class iovec(ctypes.Structure):
        _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
    local = iovec(ctypes.cast(buf, ctypes.c_void_p), 8)
    remote = iovec(ctypes.cast(buf, ctypes.c_void_p), 8)
    res["process_vm_readv(server)"] = call("process_vm_readv", os.getppid(), ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
    pattr = (ctypes.c_uint8 * 128)()
    ctypes.memmove(pattr, (ctypes.c_uint32 * 2)(1, 128), 8)  # PERF_TYPE_SOFTWARE, size; config 0 = cpu clock
    pattr[40] = 0x60  # exclude_kernel | exclude_hv: what perf_event_paranoid=2 lets a user count
    res["perf_event_open"] = call("perf_event_open", ctypes.byref(pattr), 0, -1, -1, 0)
    res["init_module"] = call("init_module", 0, 0, ctypes.c_char_p(b""))
    res["finit_module"] = call("finit_module", -1, ctypes.c_char_p(b""), 0)
    res["kexec_load"] = call("kexec_load", 0, 0, 0, 0)
    res["userfaultfd"] = call("userfaultfd", 0)
    params = (ctypes.c_uint8 * 120)()
    res["io_uring_setup"] = call("io_uring_setup", 1, ctypes.byref(params))
    res["personality(ADDR_NO_RANDOMIZE)"] = call("personality", 0x0040000)
    res["personality(PER_LINUX)"] = call("personality", 0)
    res["seccomp"] = [l.split()[1] for l in open("/proc/self/status") if l.startswith("Seccomp:")][0]
    print(json.dumps(res))
    '''
)

# Normal work. Prints one JSON line.
WORK = textwrap.dedent(
    r'''
    import concurrent.futures, json, multiprocessing, os, subprocess, sys, threading
    res = {}

    def square(x):
        return x * x

    # threads
    seen = []
    ts = [threading.Thread(target=seen.append, args=(i,)) for i in range(8)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        res["threads"] = sorted(seen) == list(range(8)) and list(ex.map(square, range(5))) == [0, 1, 4, 9, 16]
    # multiprocessing: fork and spawn (spawn re-imports this module's functions by name: use a builtin)
    with multiprocessing.get_context("fork").Pool(2) as p:
        res["fork"] = p.map(square, range(6)) == [0, 1, 4, 9, 16, 25]
    with multiprocessing.get_context("spawn").Pool(2) as p:
        res["spawn"] = p.map(abs, [-1, -2, 3]) == [1, 2, 3]
    # subprocess (posix_spawn / vfork) and a shell pipeline
    res["subprocess"] = subprocess.run("echo hello | tr a-z A-Z", shell=True, capture_output=True, text=True).stdout.strip()
    # pip install (as `%pip install` runs it) of a local wheel into the volume, then import
    # it in a new interpreter
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--no-deps",
                          "--disable-pip-version-check", os.path.expanduser("~/WHEEL")],
                         capture_output=True, text=True)
    res["pip"] = pip.returncode
    res["pip_err"] = pip.stderr[-2000:] if pip.returncode else ""
    imp = subprocess.run([sys.executable, "-c", "import tinypkg, os; print(tinypkg.ANSWER, os.path.dirname(tinypkg.__file__))"],
                         capture_output=True, text=True, cwd="/tmp")
    res["import"] = (imp.stdout + imp.stderr).strip()
    print(json.dumps(res))
    '''
)


def _tiny_wheel() -> tuple[str, bytes]:
    """A minimal pure-Python wheel, made here (no network, no build backend)."""
    name = "tinypkg-0.1-py3-none-any.whl"
    files = {
        "tinypkg/__init__.py": b"ANSWER = 42\n",
        "tinypkg-0.1.dist-info/METADATA": b"Metadata-Version: 2.1\nName: tinypkg\nVersion: 0.1\n",
        "tinypkg-0.1.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append("tinypkg-0.1.dist-info/RECORD,,")
    files["tinypkg-0.1.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for path, data in files.items():
            z.writestr(path, data)
    return name, buf.getvalue()


EXPECTED_EPERM = [
    "unshare(CLONE_NEWUSER)", "unshare(CLONE_NEWNS)", "unshare(CLONE_NEWUSER|CLONE_NEWNET)",
    "clone(CLONE_NEWUSER)", "clone(CLONE_NEWUSER|CLONE_NEWNS)", "clone(CLONE_NEWUSER|CLONE_NEWNET)",
    "setns", "mount", "fsopen", "open_tree", "pivot_root", "keyctl", "add_key", "bpf",
    "ptrace(server)", "process_vm_readv(server)", "perf_event_open", "init_module", "finit_module",
    "kexec_load", "userfaultfd", "io_uring_setup", "personality(ADDR_NO_RANDOMIZE)",
]  # fmt: skip


async def test_a_kernel_is_refused_namespaces_and_kernel_interfaces_but_works(launcher, installed_python):
    caps = {c.name: c for c in launcher.capabilities()}
    assert caps["seccomp filter"].available, caps["seccomp filter"].reason
    assert caps["no user namespaces"].available, caps["no user namespaces"].reason
    space = "hardened"
    spec = _spec(space, installed_python)
    await launcher.create_volume(space, 1)
    uid = launcher.uid_for(space)
    home = await launcher.volumes.attach(space, uid, uid)
    wheel_name, wheel = _tiny_wheel()
    with open(os.path.join(home, wheel_name), "wb") as f:
        f.write(wheel)
    os.chown(os.path.join(home, wheel_name), uid, uid)
    await launcher.volumes.detach(space)
    launched = await launcher.start(spec, lambda *a: None)
    state = launched.state
    try:
        # every process of the space (bwrap's own init aside) runs under the filter
        pids = [p for p in _server_pids(state) if not _comm(p) == "bwrap"]
        assert pids and all(_seccomp_mode(p) == 2 for p in pids), {p: (_comm(p), _seccomp_mode(p)) for p in pids}

        out = await run_code_signed(launched.url, space, spec.secret, PROBES)
        res = json.loads(out.strip().splitlines()[-1])
        assert res["seccomp"] == "2", res
        assert "Operation not permitted" in res["unshare -Ur"], res
        wrong = {k: res[k] for k in EXPECTED_EPERM if res[k] != "EPERM"}
        assert not wrong, f"not refused with EPERM: {wrong} (all: {res})"
        assert res["clone3"] == "ENOSYS", res  # so that libc falls back to clone, where flags are checked
        assert res["personality(PER_LINUX)"] == "ok", res

        out = await run_code_signed(launched.url, space, spec.secret, WORK.replace("WHEEL", wheel_name), timeout=180)
        work = json.loads(out.strip().splitlines()[-1])
        assert work["threads"] and work["fork"] and work["spawn"], work
        assert work["subprocess"] == "HELLO", work
        # the image is a venv (how users install), whose user site is off: the launcher's
        # sitecustomize points pip at ~/.local on the volume and puts it on sys.path
        assert work["pip"] == 0, work["pip_err"]
        assert work["import"].startswith("42 /home/jovyan/.local/lib/python"), work
    finally:
        await launcher.stop(space, state)
    # the package landed on the space's volume
    home = await launcher.volumes.attach(space, uid, uid)
    try:
        site = os.path.join(home, ".local", "lib", f"python{sys.version_info[0]}.{sys.version_info[1]}", "site-packages")
        assert os.path.exists(os.path.join(site, "tinypkg", "__init__.py"))
    finally:
        await launcher.volumes.detach(space)


async def test_commands_run_in_the_sandbox_get_the_same_filter(launcher):
    """run_in_sandbox (diagnostics, tests) builds the same sandbox: the filter is there too."""
    await launcher.create_volume("diag", 1)
    r = await launcher.run_in_sandbox(
        "diag", ["/bin/sh", "-c", "grep Seccomp: /proc/self/status; unshare -Ur true; echo rc=$?"]
    )
    assert "Seccomp:\t2" in r.stdout, (r.stdout, r.stderr)
    assert "rc=1" in r.stdout and "Operation not permitted" in r.stderr, (r.stdout, r.stderr)


def test_without_libseccomp_the_launcher_says_so(monkeypatch, tmp_path):
    """Where the filter cannot be built, spaces still start, and capabilities() says why."""
    from jupyter_spaces.launchers import capabilities, seccomp
    from jupyter_spaces.launchers.local import LocalLauncher

    monkeypatch.setattr(seccomp, "program", lambda: (None, "libseccomp is missing (test)"))
    launcher = LocalLauncher(volumes_dir=str(tmp_path / "v"), run_dir=str(tmp_path / "r"))
    h = capabilities.probe(launcher.bwrap, launcher.cgroup_name)
    launcher._host = h
    caps = {c.name: c for c in launcher.capabilities()}
    assert caps["seccomp filter"].available is False
    if h.sandbox:
        assert "libseccomp is missing (test)" in caps["seccomp filter"].reason
    if h.bwrap_mode != "userns":
        assert caps["no user namespaces"].available is False and caps["no user namespaces"].reason
    from jupyter_spaces.launchers.sandbox import Sandbox, build_argv, open_fds

    sb = Sandbox("x", "/home/jovyan", None, {}, seccomp=h.seccomp, disable_userns=h.disable_userns)
    assert open_fds(sb) == ()
    assert "--seccomp" not in build_argv(sb, ["true"])


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""

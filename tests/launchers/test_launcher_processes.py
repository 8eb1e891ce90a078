"""Space servers as real processes: start, answer HTTP, die, stop, re-adopt, orphans."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time

import httpx
import pytest

from jupyter_spaces.launchers.base import EXIT_UNKNOWN, LaunchError
from jupyter_spaces.launchers.processes import descendants
from jupyter_spaces.launchers.volumes import mounted_at
from tests.domain.kernels import run_code_signed


def server_pid(state: dict) -> int:
    """Host pid of the jupyter server inside the sandbox."""
    for pid in descendants(state["pid"]):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if any(a.startswith(b"--ServerApp.port=") for a in argv) and b"bwrap" not in argv[0]:
            if not argv[0].endswith(b"setpriv") and not argv[0].endswith(b"sh"):
                return pid
    raise AssertionError("no server process found")


def assert_gone(launcher, space: str, state: dict) -> None:
    assert not os.path.exists(f"/proc/{state['pid']}") or _zombie(state["pid"])
    cg = state.get("cgroup") or {}
    for d in (cg.get("dirs") or {}).values():
        assert not os.path.exists(d), f"cgroup {d} left behind"
    assert not mounted_at(launcher.volumes.mountpoint(space)), "volume still mounted"
    assert not os.path.exists(launcher._state_file(space))


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


async def _answers(url: str, path: str) -> int:
    async with httpx.AsyncClient(trust_env=False, timeout=5) as c:
        return (await c.get(url + path)).status_code


async def test_start_answers_http_and_stop_leaves_nothing(require_root_sandbox, spec):
    launcher = require_root_sandbox
    s = spec("web")
    await launcher.create_volume("web", 1)
    # what code in a space could leave in $HOME to weaken the next server start
    uid = launcher.uid_for("web")
    home = await launcher.volumes.attach("web", uid, uid)
    os.makedirs(os.path.join(home, ".ipython", "profile_default"))
    os.makedirs(os.path.join(home, ".jupyter"))
    with open(os.path.join(home, ".jupyter", "jupyter_server_config.json"), "w") as f:
        json.dump({"ServerApp": {"jpserver_extensions": {"jupyter_spaces.space": False}}}, f)
    with open(os.path.join(home, "jupyter_spaces.py"), "w") as f:
        f.write("raise SystemExit('shadowed')\n")
    await launcher.volumes.detach("web")
    steps = []
    launched = await launcher.start(s, lambda pct, msg: steps.append((pct, msg)))
    state = launched.state
    try:
        assert json.loads(json.dumps(state)) == state, "state must be JSON-serialisable"
        assert launched.url.startswith("http://127.0.0.1:")
        pcts = [p for p, _ in steps]
        assert pcts == sorted(pcts) and pcts[-1] == 100 and all(m for _, m in steps)
        # the server answers, and the space agent refuses the unsigned request
        assert await _answers(launched.url, "/spaces/web/api/status") == 403
        assert await launcher.poll("web", state) is None
        # the secret is nowhere a kernel could look: environment, command line
        pid = server_pid(state)
        for name in ("environ", "cmdline"):
            with open(f"/proc/{pid}/{name}", "rb") as f:
                assert s.secret.encode() not in f.read()
        with open(f"/proc/{pid}/status") as f:
            uid_line = next(line for line in f if line.startswith("Uid:"))
        assert int(uid_line.split()[1]) == state["uid"] != 0
        # the instance type's limits are on the space's cgroup
        dirs = (state.get("cgroup") or {}).get("dirs", {})
        if not dirs:
            pass  # host without cgroups: capabilities() says so (tested elsewhere)
        elif state["cgroup"]["version"] == 1:
            with open(os.path.join(dirs["memory"], "memory.limit_in_bytes")) as f:
                assert int(f.read()) == 2**30
            with open(os.path.join(dirs["cpu"], "cpu.cfs_quota_us")) as f:
                assert int(f.read()) == 100000
            with open(os.path.join(dirs["pids"], "pids.max")) as f:
                assert int(f.read()) == 256
            with open(os.path.join(dirs["memory"], "cgroup.procs")) as f:
                assert pid in {int(x) for x in f.read().split()}
        else:
            with open(os.path.join(dirs["unified"], "memory.max")) as f:
                assert int(f.read()) == 2**30
            with open(os.path.join(dirs["unified"], "cgroup.procs")) as f:
                assert pid in {int(x) for x in f.read().split()}
        # the volume is mounted and owned by the space while it runs
        assert mounted_at(launcher.volumes.mountpoint("web"))
        # a kernel runs as the space's uid, over unix sockets, as the preferred OOM victim
        out = await run_code_signed(
            launched.url, "web", s.secret,
            "import os; print(os.getuid(), open('/proc/self/oom_score_adj').read().strip(), "
            "os.path.exists('/work'), os.getcwd())",
        )  # fmt: skip
        assert out.split() == [str(state["uid"]), "500", "False", "/home/jovyan"]
    finally:
        await launcher.stop("web", state)
    assert_gone(launcher, "web", state)
    assert await launcher.poll("web", state) is not None
    await launcher.stop("web", state)  # idempotent
    await launcher.stop("web", {})


async def test_poll_notices_kill_9(require_root_sandbox, spec):
    launcher = require_root_sandbox
    launched = await launcher.start(spec("crash"), lambda *a: None)
    state = launched.state
    try:
        os.kill(server_pid(state), signal.SIGKILL)
        # Polled until it says so (a generous deadline; how soon the domain asks is the
        # lifecycle's poll interval, tested in test_lifecycle.py).
        deadline = time.monotonic() + 30
        while (status := await launcher.poll("crash", state)) is None and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert status is not None, "poll did not notice the dead server"
        assert status == -9
        assert "signal 9" in launcher.describe_exit("crash", state, status)
    finally:
        await launcher.stop("crash", state)
    assert_gone(launcher, "crash", state)


async def test_readopt_and_cleanup_orphans(require_root_sandbox, make_launcher, spec):
    first = require_root_sandbox
    a, b = await asyncio.gather(
        first.start(spec("keep"), lambda *x: None),
        first.start(spec("orphan"), lambda *x: None),
    )
    assert a.url != b.url and a.state["uid"] != b.state["uid"]
    second = make_launcher()  # a "restarted domain": no in-memory knowledge
    try:
        assert await second.poll("keep", a.state) is None
        assert await second.poll("orphan", b.state) is None
        await second.cleanup_orphans({"keep": a.state})
        assert_gone(second, "orphan", b.state)
        assert await second.poll("orphan", b.state) == EXIT_UNKNOWN
        # the known space kept running and still answers
        assert await second.poll("keep", a.state) is None
        assert await _answers(a.url, "/spaces/keep/api/status") == 403
        await second.stop("keep", a.state)
        assert_gone(second, "keep", a.state)
        assert await first.poll("keep", a.state) is not None
        assert await first.poll("orphan", b.state) is not None
    finally:
        await second.stop("keep", a.state)
        await second.stop("orphan", b.state)


async def test_start_failure_is_actionable_and_clean(launcher, spec, image, tmp_path):
    bad = spec("broken")
    bad.image = type(image)("none", "None", "no python", str(tmp_path / "no-such-python"))
    with pytest.raises(LaunchError) as exc:
        await launcher.start(bad, lambda *a: None)
    assert "Python" in exc.value.message
    with pytest.raises(LaunchError):
        await launcher.start(spec("Bad_Name"), lambda *a: None)
    bad = spec("rstudio")
    bad.app_type = "rstudio"  # in no registry: listed, never startable
    with pytest.raises(LaunchError) as exc:
        await launcher.start(bad, lambda *a: None)
    assert "RStudio" in exc.value.message


async def test_a_port_taken_during_start_is_retried_in_a_fresh_cgroup(require_root_sandbox, launcher_dirs, spec):
    """Another process may bind the chosen port before the server does: start retries."""
    import socket

    from jupyter_spaces.launchers.local import LocalLauncher

    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    taken = squatter.getsockname()[1]

    class Contested(LocalLauncher):
        picks = 0

        def _pick_port(self, space):
            self.picks += 1
            return taken if self.picks == 1 else super()._pick_port(space)

    vol, run = launcher_dirs
    launcher = Contested(volumes_dir=vol, run_dir=run)
    try:
        launched = await launcher.start(spec("contested"), lambda p, m: None)
        assert launcher.picks == 2 and launched.state["port"] != taken
        assert await launcher.poll("contested", launched.state) is None
        await launcher.stop("contested", launched.state)
    finally:
        squatter.close()
        await launcher.cleanup_orphans({})


async def test_discard_stops_everything_and_removes_the_cgroup_parents(require_root_sandbox, spec):
    launcher = require_root_sandbox
    launched = await launcher.start(spec("gone"), lambda *x: None)
    parents = list(launcher.host.cgroups.parents.values())
    if not parents:
        pytest.skip("no usable cgroups here")
    assert all(os.path.isdir(p) for p in parents)
    await launcher.discard()
    assert_gone(launcher, "gone", launched.state)
    assert not any(os.path.exists(p) for p in parents)

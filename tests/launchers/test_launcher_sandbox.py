"""The sandbox: what a space can see, and the instance type's limits."""

from __future__ import annotations

import os
import secrets
import textwrap

import pytest

from jupyter_spaces import apps
from jupyter_spaces.launchers.base import InstanceType

def test_capabilities_never_pretend(launcher):
    caps = {c.name: c for c in launcher.capabilities()}
    for name in ("sandbox", "own uid", "memory limit", "cpu limit", "process limit", "hard volume quota"):
        assert name in caps and caps[name].reason
    assert caps["sandbox"].available == launcher.host.sandbox
    assert caps["network isolation"].available is False
    assert launcher.app_type_availability("jupyterlab") == (True, "")
    ok, why = launcher.app_type_availability("rstudio")
    assert not ok and "registries" in why
    for app in ("code-editor", "mlflow"):  # available where scripts/install-apps.sh installed them
        ok, why = launcher.app_type_availability(app)
        installed = apps.get(app).find_program(launcher.apps_dir) is not None
        assert (ok, why) == (True, "") if installed else (not ok and "install-apps.sh" in why)


async def test_sandbox_hides_host_and_other_spaces(require_root_sandbox, tmp_path):
    launcher = require_root_sandbox
    marker = f"marker-{secrets.token_hex(6)}"
    await launcher.create_volume("alpha", 1)
    await launcher.create_volume("beta", 1)
    # beta's volume is mounted (as if beta were running), with a marker file
    beta_home = await launcher.volumes.attach("beta", launcher.uid_for("beta"), launcher.uid_for("beta"))
    with open(os.path.join(beta_home, marker + "-beta"), "w") as f:
        f.write("beta's secret")
    # markers in places a space must not see
    root_marker = os.path.join(os.path.expanduser("~root"), f".{marker}-root")
    planted = [
        os.path.join(launcher.volumes_dir, marker + "-volumes"),
        os.path.join(launcher.run_dir, marker + "-run"),
        str(tmp_path / (marker + "-tmp")),
        root_marker,
    ]
    for p in planted:
        with open(p, "w") as f:
            f.write("x")
    try:
        script = textwrap.dedent(
            f"""
            set -u
            echo "uid=$(id -u)"
            echo marker > ~/{marker}-alpha
            find / -xdev -name '{marker}*' 2>/dev/null
            find / -name '{marker}*' -not -path '/proc/*' 2>/dev/null
            for p in /work /root/.bashrc {launcher.volumes_dir} {launcher.run_dir} /var/lib /srv; do
                [ -e "$p" ] && echo "VISIBLE $p"
            done
            touch /usr/should-not-write 2>/dev/null && echo "WROTE /usr"
            touch /etc/should-not-write 2>/dev/null && echo "WROTE /etc"
            echo "procs=$(ls /proc | grep -c '^[0-9]')"
            true
            """
        )
        r = await launcher.run_in_sandbox("alpha", ["/bin/sh", "-c", script])
        assert r.returncode == 0, r.stderr
        out = r.stdout
        assert f"uid={launcher.uid_for('alpha')}" in out
        found = [ln for ln in out.splitlines() if marker in ln]
        # only alpha's own file, seen at its home
        assert found and all(ln == f"/home/jovyan/{marker}-alpha" for ln in found), out
        assert "VISIBLE" not in out and "WROTE" not in out, out
        procs = int(out.split("procs=")[1].split()[0])
        assert procs < 10, "the sandbox must have its own pid namespace"
        # alpha's file landed on alpha's volume, owned by alpha's uid
        home = await launcher.volumes.attach("alpha", launcher.uid_for("alpha"), launcher.uid_for("alpha"))
        st = os.stat(os.path.join(home, f"{marker}-alpha"))
        assert st.st_uid == launcher.uid_for("alpha")
    finally:
        for p in planted:
            os.unlink(p)
        await launcher.volumes.detach("alpha")
        await launcher.volumes.detach("beta")


async def test_a_space_has_its_hostname(require_root_sandbox):
    """The UTS name is the space's, and /etc/hostname says it too (tools read the file)."""
    launcher = require_root_sandbox
    await launcher.create_volume("named", 1)
    r = await launcher.run_in_sandbox("named", ["/bin/sh", "-c", "hostname; cat /etc/hostname"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["named", "named"], r.stdout


async def test_memory_limit_kills_what_allocates_past_it(require_root_sandbox, require_cgroups):
    launcher = require_root_sandbox
    await launcher.create_volume("mem", 1)
    tiny = InstanceType("tiny", "Tiny", cpus=1, memory_gb=0.25, max_processes=64)
    ok = await launcher.run_in_sandbox(
        "mem", ["python3", "-c", "b = bytearray(100 * 2**20); print('ok', len(b))"], instance_type=tiny
    )
    assert ok.returncode == 0 and "ok" in ok.stdout, ok.stderr
    boom = await launcher.run_in_sandbox(
        "mem", ["python3", "-c", "b = bytearray(600 * 2**20); print('survived')"], instance_type=tiny
    )
    assert "survived" not in boom.stdout
    assert boom.returncode in (137, -9), (boom.returncode, boom.stderr)


async def test_pids_limit_stops_fork_bombs(require_root_sandbox, require_cgroups):
    launcher = require_root_sandbox
    await launcher.create_volume("pids", 1)
    few = InstanceType("few", "Few", cpus=1, memory_gb=1, max_processes=20)
    bomb = textwrap.dedent(
        """
        import os, time
        ok = failed = 0
        for _ in range(100):
            try:
                pid = os.fork()
            except OSError:
                failed += 1
                continue
            if pid == 0:
                time.sleep(3)
                os._exit(0)
            ok += 1
        print(ok, failed)
        """
    )
    r = await launcher.run_in_sandbox("pids", ["python3", "-c", bomb], instance_type=few)
    assert r.returncode == 0, r.stderr
    ok, failed = map(int, r.stdout.split())
    assert ok < 20 and failed > 80, r.stdout


SERVER_AND_KERNEL = textwrap.dedent(
    """
    import subprocess, sys
    hold = bytearray(140 * 2**20)  # the "server": the biggest process, started with -I like the real one
    kernel = subprocess.run(
        [sys.executable, "-c", "b = bytearray(200 * 2**20); print('kernel survived')"]
    )
    print("kernel", kernel.returncode)
    print("server alive", len(hold) // 2**20)
    """
)


@pytest.mark.parametrize("protected", [True, False], ids=["server-protected", "no-protection"])
async def test_memory_limit_kills_the_kernel_not_the_server(make_launcher, protected):
    """At the limit the OOM killer takes the kernel even when the server is bigger."""
    kw = {} if protected else {"server_oom_score_adj": 0, "kernel_oom_score_adj": 0}
    launcher = make_launcher(**kw)
    if not (launcher.host.root and launcher.host.sandbox):
        pytest.skip("needs root and bubblewrap")
    if not launcher.host.cgroups.usable:
        pytest.skip("no writable cgroups on this host")
    await launcher.create_volume("oom", 1)
    tiny = InstanceType("tiny", "Tiny", cpus=1, memory_gb=0.25, max_processes=64)
    r = await launcher.run_in_sandbox("oom", ["python3", "-I", "-c", SERVER_AND_KERNEL], instance_type=tiny)
    if protected:
        assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
        assert "kernel -9" in r.stdout and "server alive 140" in r.stdout, r.stdout
    else:  # shows what the oom_score_adj arrangement buys: the biggest process dies
        assert "server alive" not in r.stdout

"""Start-to-ready of a JupyterLab space vs a bare `jupyter lab`, side by side in one run.

Ours: ``LocalLauncher.start`` of a space (bubblewrap sandbox, own uid, cgroup limits,
loop-mounted ext4 volume, the space agent and the collaboration service), until the
server answers HTTP. Anchor: ``python -m jupyter lab`` in a temporary directory, until it
answers HTTP. Runs alternate so machine load hits both alike. Prints figures; no asserts.

    python bench/bench_start.py [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from jupyter_spaces.domain.agent import space_agent  # noqa: E402
from jupyter_spaces.domain.catalog import DEFAULT_INSTANCE_TYPES  # noqa: E402
from jupyter_spaces.launchers.base import Image, InstanceType, LaunchSpec  # noqa: E402
from jupyter_spaces.launchers.local import LocalLauncher  # noqa: E402
from jupyter_spaces.signing import generate_secret  # noqa: E402

AGENT_CONFIG = {"ServerApp": {"jpserver_extensions": {"jupyter_spaces.collab": True}}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1)
    except urllib.error.HTTPError:
        return True  # any HTTP answer: it listens
    except (urllib.error.URLError, OSError):
        return False
    return True


def bare_lab(workdir: str) -> float:
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}",
         "--ServerApp.token=bench", f"--ServerApp.root_dir={workdir}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir,
    )
    try:
        while not answers(f"http://127.0.0.1:{port}/api/status"):
            if proc.poll() is not None:
                raise RuntimeError("jupyter lab exited")
            time.sleep(0.05)
        return time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(30)


async def timed_start(launcher, name: str, instance_type: InstanceType) -> float:
    """Seconds from ``launcher.start`` of a JupyterLab space until it serves (the volume
    is made first, as at creation); the space is stopped and its volume deleted after.
    ``bench_slurm_start.py`` times its launcher with it too."""
    spec = LaunchSpec(
        space=name, app_type="jupyterlab", instance_type=instance_type,
        image=Image("default", "Default", "", sys.executable), volume_gb=1,
        base_url=f"/spaces/{name}/", secret=generate_secret(), agent_config=AGENT_CONFIG, agent=space_agent(name),
    )
    await launcher.create_volume(name, 1)  # made at creation time, not part of a start
    t0 = time.perf_counter()
    launched = await launcher.start(spec, lambda p, m: None)
    elapsed = time.perf_counter() - t0
    await launcher.stop(name, launched.state)
    await launcher.delete_volume(name)
    return elapsed


async def space_start(launcher: LocalLauncher, n: int) -> float:
    return await timed_start(launcher, f"bench-start-{n}", InstanceType(**DEFAULT_INSTANCE_TYPES[0]))


def print_medians(anchor_label: str, anchor: list[float], ours_label: str, ours: list[float], ratio: str) -> None:
    """The start benches' table: median, min and max of each side, then their ratio."""
    a, o = statistics.median(anchor), statistics.median(ours)
    print(f"{'':34}{'median s':>10}{'min s':>10}{'max s':>10}")
    print(f"{anchor_label:34}{a:10.2f}{min(anchor):10.2f}{max(anchor):10.2f}")
    print(f"{ours_label:34}{o:10.2f}{min(ours):10.2f}{max(ours):10.2f}")
    print(f"{ratio}: {o / a:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_START_RUNS", "3")))
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="bench-start-")
    launcher = LocalLauncher(volumes_dir=os.path.join(root, "volumes"), run_dir=os.path.join(root, "run"))
    caps = ", ".join(f"{c.name}: {'yes' if c.available else 'no'}" for c in launcher.capabilities())
    print(f"start-to-ready, {args.runs} runs each, alternating ({caps})")
    ours, anchor = [], []
    try:
        for n in range(args.runs):
            workdir = os.path.join(root, f"bare-{n}")
            os.makedirs(workdir)
            anchor.append(bare_lab(workdir))
            ours.append(asyncio.run(space_start(launcher, n)))
    finally:
        asyncio.run(launcher.cleanup_orphans({}))
        shutil.rmtree(root, ignore_errors=True)
    print_medians("bare jupyter lab (anchor)", anchor, "jupyter-spaces JupyterLab space", ours,
                  "ratio space/bare (median; target: within 1.2x)")


if __name__ == "__main__":
    main()

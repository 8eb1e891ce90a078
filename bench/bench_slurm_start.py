"""Start-to-ready of a space on Slurm vs a local space, side by side in one run.

Slurm: ``SlurmLauncher.start`` on the two-node test cluster (``tests/slurm/cluster.py``,
brought up here and taken down after): sbatch, scheduling, the job's local launcher on
its node (image check, sandbox, volume, limits), the relay, and the domain's signed check.
Anchor: ``LocalLauncher.start`` of the same space on this machine. Runs alternate so
machine load hits both alike. Prints figures; no asserts. Needs root and Slurm installed
(scripts/install-test-deps.sh).

    python bench/bench_slurm_start.py [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from jupyter_spaces.launchers.base import InstanceType  # noqa: E402
from jupyter_spaces.launchers.local import LocalLauncher  # noqa: E402
from jupyter_spaces.launchers.slurm import SlurmLauncher  # noqa: E402
from bench_start import print_medians, timed_start  # noqa: E402  (the same timing and table for both launchers)
from tests.slurm.cluster import SlurmCluster  # noqa: E402

SMALL = InstanceType("small", "Small", 1, 1, 256)  # fits a test node (1 CPU, 2 GB)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_START_RUNS", "3")))
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-slurm-"))
    root.chmod(0o755)  # munged wants its socket's directories searchable by all
    cluster = SlurmCluster.two_nodes(root / "cluster")
    (root / "cluster").mkdir()
    cluster.start()
    local = LocalLauncher(volumes_dir=str(root / "local-volumes"), run_dir=str(root / "local-run"))
    slurm = SlurmLauncher(
        slurm_conf=str(cluster.conf), partition=cluster.partition, volumes_dir=str(root / "volumes"),
        run_dir=str(root / "run"), node_run_dir=str(root / "nodes"), listen_ip="127.0.0.1",
        job_name_prefix="bench-",
    )  # fmt: skip
    print(f"start-to-ready, {args.runs} runs each, alternating (Slurm 2 nodes x 1 CPU, this host)")
    ours, anchor = [], []
    try:
        for n in range(args.runs):
            anchor.append(asyncio.run(timed_start(local, f"bench-local-{n}", SMALL)))
            ours.append(asyncio.run(timed_start(slurm, f"bench-slurm-{n}", SMALL)))
    finally:
        asyncio.run(local.discard())
        asyncio.run(slurm.cleanup_orphans({}))
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
    print_medians("local space (anchor)", anchor, "Slurm space", ours, "ratio Slurm/local (median)")


if __name__ == "__main__":
    main()

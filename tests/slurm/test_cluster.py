"""The test cluster itself: jobs run on both nodes, --mem is enforced, and a stop leaves nothing."""

from __future__ import annotations

import shutil

from .cluster import SlurmCluster
from .conftest import make_root, require_slurm


def _sbatch(cluster: SlurmCluster, *args: str) -> str:
    out = cluster.run("sbatch", "--parsable", f"--output={cluster.root}/job-%j.out", *args).stdout
    return out.strip().split(";")[0]


def test_two_jobs_run_at_once_one_on_each_node(slurm_cluster):
    ids = [_sbatch(slurm_cluster, "--cpus-per-task=1", "--mem=100M", "--wrap", "sleep 30") for _ in range(2)]
    try:
        jobs = [slurm_cluster.wait_job(i, {"RUNNING"}) for i in ids]
        assert sorted(j["nodes"] for j in jobs) == ["n1", "n2"]
    finally:
        slurm_cluster.run("scancel", *ids)
    for i in ids:
        assert slurm_cluster.wait_job(i, {"CANCELLED"})["job_state"] == "CANCELLED"


def test_a_job_past_its_mem_ends_out_of_memory(slurm_cluster):
    grow = "python3 -c 'b = bytearray(400 * 2**20); print(len(b))'"
    job = _sbatch(slurm_cluster, "--mem=100M", "--wrap", grow)
    j = slurm_cluster.wait_job(job, {"COMPLETED", "FAILED", "OUT_OF_MEMORY"})
    assert j["job_state"] == "OUT_OF_MEMORY"
    # the same program within its --mem completes
    job = _sbatch(slurm_cluster, "--mem=600M", "--wrap", grow)
    assert slurm_cluster.wait_job(job, {"COMPLETED", "FAILED", "OUT_OF_MEMORY"})["job_state"] == "COMPLETED"


def test_stop_leaves_nothing_running():
    require_slurm()
    root = make_root()
    try:
        cluster = SlurmCluster.two_nodes(root, names=("s1", "s2")).start()
        job = _sbatch(cluster, "--mem=50M", "--wrap", "sleep 300")
        cluster.wait_job(job, {"RUNNING"})
        assert cluster.leftovers()  # the daemons and the job's step
        cluster.stop()
        assert cluster.leftovers() == []
    finally:
        shutil.rmtree(root, ignore_errors=True)

"""Spaces on the real two-node Slurm cluster, through a domain server as users reach them:
one job per space on whatever node Slurm picks, pending with Slurm's reason on a full
cluster, a job cancelled outside the domain noticed, stop, restart, re-adoption."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx
import pytest

from jupyter_spaces.domain.lifecycle import Lifecycle
from tests.domain.kernels import run_code
from tests.domain.test_lifecycle import create, wait_for_status
from tests.domainconfig import domain_server_config

pytestmark = pytest.mark.slow

# One CPU each: two spaces fill the two one-CPU nodes.
SMALL = {"name": "small", "display_name": "Small (1 CPU, 1 GB)", "cpus": 1, "memory_gb": 1, "max_processes": 256}


@pytest.fixture
def prefix():
    return f"js-{uuid.uuid4().hex[:6]}-"


@pytest.fixture
def jp_server_config(tmp_path, installed_python, slurm_cluster, prefix):
    """A domain whose spaces are Slurm jobs of the session's cluster; the nodes run the
    project installed from its wheel (as a node would), the volumes are one directory of
    this host (as NFS would be)."""
    return domain_server_config(
        tmp_path / "domain",
        python=installed_python,
        domain={
            "launcher_class": "jupyter_spaces.launchers.slurm.SlurmLauncher",
            "instance_types": [SMALL],
            "poll_interval": 0.5,
            "idle_check_interval": 3600,
        },
        SlurmLauncher={
            "slurm_conf": str(slurm_cluster.conf),
            "partition": slurm_cluster.partition,
            "node_python": installed_python,
            "node_run_dir": str(tmp_path / "nodes"),
            "listen_ip": "127.0.0.1",
            "job_name_prefix": prefix,
            "stop_timeout": 30,
        },
    )


def our_jobs(cluster, prefix) -> dict[str, dict]:
    """Space name -> its latest job, from ``squeue --json``."""
    jobs = {}
    for j in sorted(cluster.jobs(), key=lambda j: j["job_id"]):
        if j["name"].startswith(prefix):
            jobs[j["name"][len(prefix):]] = j
    return jobs


async def running(client, name):
    space = await wait_for_status(client, name, {"running", "failed"})
    assert space["status"] == "running", space["failure_reason"]
    return space


async def start(client, name):
    r = await client.api("POST", f"spaces/{name}/start", who="owner")
    assert r.status == 202, r.text


async def serves_its_owner(client, port, name, text):
    r = await client.request("PUT", f"spaces/{name}/api/contents/notes.txt", who="owner",
                             body={"type": "file", "format": "text", "content": text})  # fmt: skip
    assert r.status == 201, r.text
    out = await run_code(client, port, name, "owner", "import socket; print(6 * 7)")
    assert out["stdout"].strip() == "42" and out["error"] is None, out


async def progress_messages(client, port, name, until: str, timeout: float = 60) -> list[str]:
    """The start's progress messages from the events stream, until one contains ``until``."""
    url = f"http://127.0.0.1:{port}{client.base_url}spaces/api/spaces/{name}/events"
    seen = []
    async with httpx.AsyncClient(timeout=timeout) as http:
        headers = {"Authorization": f"token {client.tokens['owner']}"}
        async with http.stream("GET", url, headers=headers) as r:
            event = None
            async for line in r.aiter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "progress":
                    seen.append(json.loads(line[6:])["message"])
                    if until in seen[-1]:
                        return seen
    pytest.fail(f"no progress message with {until!r}: {seen}")


async def test_spaces_land_on_both_nodes_and_a_third_waits_for_resources(
    client, world, lifecycle, slurm_cluster, prefix, jp_http_port
):
    for name in ("alpha", "beta", "gamma"):
        await create(client, name)
    await start(client, "alpha")
    await start(client, "beta")
    for name in ("alpha", "beta"):
        space = await wait_for_status(client, name, {"running", "failed"})
        assert space["status"] == "running", space["failure_reason"]
    jobs = our_jobs(slurm_cluster, prefix)
    assert {jobs["alpha"]["job_state"], jobs["beta"]["job_state"]} == {"RUNNING"}
    assert sorted([jobs["alpha"]["nodes"], jobs["beta"]["nodes"]]) == ["n1", "n2"]
    for name in ("alpha", "beta"):
        await serves_its_owner(client, jp_http_port, name, f"{name} was here\n")

    # The cluster is full: the third space's job waits, and the user is told why.
    watch = asyncio.ensure_future(progress_messages(client, jp_http_port, "gamma", "waiting for resources"))
    await asyncio.sleep(0.5)  # the stream is open
    await start(client, "gamma")
    messages = await asyncio.wait_for(watch, 60)
    assert "Pending: waiting for resources" in messages
    assert (await client.api("GET", "spaces/gamma", who="owner")).json()["status"] == "starting"
    assert our_jobs(slurm_cluster, prefix)["gamma"]["job_state"] == "PENDING"
    # Stopping one frees its node: the waiting space starts there.
    freed = jobs["alpha"]["nodes"]
    await client.api("POST", "spaces/alpha/stop", who="owner")
    await wait_for_status(client, "alpha", {"stopped"})
    space = await wait_for_status(client, "gamma", {"running", "failed"})
    assert space["status"] == "running", space["failure_reason"]
    assert our_jobs(slurm_cluster, prefix)["gamma"]["nodes"] == freed
    await serves_its_owner(client, jp_http_port, "gamma", "gamma\n")


async def test_stop_ends_the_job_and_the_volume_follows_to_the_other_node(
    client, world, lifecycle, slurm_cluster, prefix
):
    await create(client, "roam")
    await start(client, "roam")
    await running(client, "roam")
    first = our_jobs(slurm_cluster, prefix)["roam"]
    r = await client.request("PUT", "spaces/roam/api/contents/notes.txt", who="owner",
                             body={"type": "file", "format": "text", "content": "kept\n"})  # fmt: skip
    assert r.status == 201, r.text
    await client.api("POST", "spaces/roam/stop", who="owner")
    await wait_for_status(client, "roam", {"stopped"})
    # stop returned once the job had ended: it holds no node any more
    assert slurm_cluster.job(first["job_id"])["job_state"] == "CANCELLED"
    # (an idle node Slurm's backfill has set aside for a pending job reads "planned")
    held = {node: state for node, state in slurm_cluster.node_states().items() if state not in ("idle", "planned")}
    assert not held, (held, [(j["job_id"], j["name"], j["job_state"]) for j in slurm_cluster.jobs()])
    # The next job runs on the other node (a job of someone else holds the first), and
    # finds the file on the shared volume.
    blocker = slurm_cluster.run("sbatch", "--parsable", f"--nodelist={first['nodes']}", "--cpus-per-task=1",
                                "--mem=50M", f"--output={slurm_cluster.root}/blocker-%j.out", "--wrap", "sleep 600")  # fmt: skip
    blocker_id = blocker.stdout.strip()
    try:
        slurm_cluster.wait_job(blocker_id, {"RUNNING"})
        await start(client, "roam")
        await running(client, "roam")
        second = our_jobs(slurm_cluster, prefix)["roam"]
        assert second["job_id"] != first["job_id"] and second["nodes"] != first["nodes"]
        r = await client.request("GET", "spaces/roam/api/contents/notes.txt", who="owner")
        assert r.status == 200 and r.json()["content"] == "kept\n"
    finally:
        slurm_cluster.run("scancel", blocker_id)


async def test_a_job_cancelled_outside_the_domain_leaves_running_with_the_reason(
    client, world, lifecycle, slurm_cluster, prefix
):
    await create(client, "fragile")
    await start(client, "fragile")
    await running(client, "fragile")
    job = our_jobs(slurm_cluster, prefix)["fragile"]
    cancelled = time.monotonic()
    slurm_cluster.run("scancel", str(job["job_id"]))
    space = await wait_for_status(client, "fragile", {"failed", "stopped"}, timeout=20)
    assert time.monotonic() - cancelled < 10
    assert "cancelled outside the domain" in space["failure_reason"], space
    assert str(job["job_id"]) in space["failure_reason"]
    # It starts again as a new job.
    await start(client, "fragile")
    await running(client, "fragile")
    assert our_jobs(slurm_cluster, prefix)["fragile"]["job_id"] != job["job_id"]


async def test_a_domain_restart_adopts_running_jobs_and_cancels_strays(
    client, world, lifecycle, domain, service, slurm_cluster, prefix
):
    await create(client, "kept")
    await start(client, "kept")
    await running(client, "kept")
    kept = our_jobs(slurm_cluster, prefix)["kept"]
    # A job of this domain's prefix that no space claims (e.g. submitted before a crash).
    stray = slurm_cluster.run("sbatch", "--parsable", f"--job-name={prefix}stray", "--mem=50M",
                              f"--output={slurm_cluster.root}/stray-%j.out", "--wrap", "sleep 600").stdout.strip()  # fmt: skip
    await lifecycle.stop()
    # A new domain process: a fresh launcher object with the same config, on the same store.
    launcher = type(lifecycle.launcher)(config=lifecycle.launcher.config, log=lifecycle.launcher.log)
    again = Lifecycle(service, launcher, domain.run, base_url=lifecycle.base_url)
    await again.adopt()
    assert set(again._running) == {"kept"}
    assert (await client.api("GET", "spaces/kept", who="owner")).json()["status"] == "running"
    assert slurm_cluster.job(kept["job_id"])["job_state"] == "RUNNING"
    assert slurm_cluster.job(stray)["job_state"] == "CANCELLED"
    r = await client.request("GET", "spaces/kept/api/contents", who="owner")
    assert r.status == 200, r.text
    lifecycle._running = dict(again._running)  # let the fixture stop what runs


async def test_a_kernel_past_the_instance_types_memory_dies_and_the_server_keeps_serving(
    client, world, lifecycle, slurm_cluster, prefix, jp_http_port
):
    await create(client, "greedy")
    await start(client, "greedy")
    await running(client, "greedy")
    job = our_jobs(slurm_cluster, prefix)["greedy"]
    mem = job["memory_per_node"]  # MB; a number in Slurm 22.05, {"number": ...} in later ones
    assert (mem["number"] if isinstance(mem, dict) else mem) == 1024  # --mem from the instance type (1 GB)
    out = await run_code(client, jp_http_port, "greedy", "owner", "b = bytearray(1536 * 2**20)\nprint('survived')")
    assert "survived" not in out["stdout"], out
    r = await client.request("GET", "spaces/greedy/api/contents", who="owner")
    assert r.status == 200, r.text
    assert (await client.api("GET", "spaces/greedy", who="owner")).json()["status"] == "running"
    assert slurm_cluster.job(job["job_id"])["job_state"] == "RUNNING"


async def test_a_slurm_space_keeps_the_access_rules_and_its_sandbox(client, world, lifecycle, jp_http_port):
    private = world.private["owner"]
    for name in ("team-proj", private):
        await start(client, name)
    for name in ("team-proj", private):
        await running(client, name)
    r = await client.request("PUT", f"spaces/{private}/api/contents/diary.txt", who="owner",
                             body={"type": "file", "format": "text", "content": "mine\n"})  # fmt: skip
    assert r.status == 201, r.text
    # A private space's files are nobody else's, an admin's neither: the same 404 as no space at all.
    assert (await client.request("GET", "spaces/no-such-space/api/contents/diary.txt", who="admin")).status == 404
    assert (await client.request("GET", f"spaces/{private}/api/contents/diary.txt", who="admin")).status == 404
    # A viewer reads a shared space but writes nothing.
    assert (await client.request("GET", "spaces/team-proj/api/contents", who="viewer")).status == 200
    r = await client.request("PUT", "spaces/team-proj/api/contents/x.txt", who="viewer",
                             body={"type": "file", "format": "text", "content": "no\n"})  # fmt: skip
    assert r.status == 403, r.text
    # Inside the shared space, on its node: its own uid, and no other space's volume, no job files.
    launcher = lifecycle.launcher
    code = (f"import os\nprint(os.getuid(), os.path.exists({launcher.volumes_dir!r}), "
            f"os.path.exists({launcher.shared_dir!r}), os.path.exists({launcher.volumes.image_path(private)!r}))")  # fmt: skip
    out = await run_code(client, jp_http_port, "team-proj", "editor", code)
    uid, *seen = out["stdout"].split()
    assert int(uid) >= 600000 and seen == ["False", "False", "False"], out

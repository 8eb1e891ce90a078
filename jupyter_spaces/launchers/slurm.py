"""SlurmLauncher: each running space is one Slurm job, on whatever node Slurm picks.

A start writes what to run into the space's directory of ``shared_dir`` (root-only,
on storage the domain and every node see) and submits one job with ``sbatch``: the
instance type becomes ``--cpus-per-task`` and ``--mem`` (and the partition and
``--gres`` configured for it). The job (``slurmjob.py``) runs the space with the local
launcher on its node: the same sandbox, uid, limits and volume (from the shared
``volumes_dir``) as a local space. While Slurm keeps the job ``PENDING`` its reason
("waiting for resources") is the start's progress; once the job says where it listens
(``endpoint.json``, in a directory only root writes, for the job id the domain
submitted) and the space's agent answers a request signed with the space's secret, the
space runs.

``poll`` reads one ``squeue`` shared by every space; a job that ended without the
domain (``scancel``, a failed node, its time limit, out of memory) is reported with
Slurm's reason. ``stop`` is ``scancel`` and waits until the job has ended. After a
domain restart, jobs are found again by their id (in the state) and jobs of this
domain's ``job_name_prefix`` that no space claims are cancelled.

State (persisted by the domain)::

    {"launcher": "slurm", "version": 1, "job_id": "42", "node": "n1",
     "host": "10.0.0.5", "port": 41234}
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import shutil
import sys
import time
from dataclasses import asdict

import httpx
from traitlets import Dict, Enum, Float, Unicode, default

from .. import signing
from .adoption import check_name
from .base import (
    EXIT_UNKNOWN,
    Capability,
    Launched,
    Launcher,
    LaunchError,
    LaunchSpec,
    Progress,
    VolumeError,
)
from .readiness import PROBE_IDENTITY, ServerLog, agent_path, check_agent
from .slurmcli import END_REASONS, Slurm, pending_reason
from .volumes import Volumes


class SlurmLauncher(Launcher):
    """Run each space as one Slurm job on a node of an existing cluster."""

    slurm_bin_dir = Unicode("", config=True, help="Directory of sbatch, squeue, scancel and scontrol ('' = on PATH).")
    slurm_conf = Unicode(
        "", config=True, help="slurm.conf of the cluster (SLURM_CONF for Slurm's commands); '' = Slurm's default."
    )
    partition = Unicode("", config=True, help="Partition of every space's job ('' = the cluster's default).")
    partitions = Dict(
        per_key_traits=Unicode(),
        config=True,
        help="Partition per instance type name (e.g. {'gpu-large': 'gpu'}); others use `partition`.",
    )
    gres = Dict(
        per_key_traits=Unicode(),
        config=True,
        help="--gres per instance type name (e.g. {'gpu-large': 'gpu:1'}) for instance types with GPUs.",
    )
    time_limit = Unicode("", config=True, help="--time of every space's job ('' = the partition's default).")
    sbatch_args = Dict(config=True, help="Extra sbatch options, e.g. {'account': 'research', 'qos': 'normal'}.")
    job_name_prefix = Unicode(
        "jupyter-space-",
        config=True,
        help="Jobs are named <prefix><space>. Jobs of this prefix that no space claims are cancelled after "
        "a domain (re)start: two domains on one cluster need different prefixes.",
    )
    shared_dir = Unicode(
        config=True,
        help="Directory on storage the domain and every node see (NFS, a cluster filesystem), readable and "
        "writable by root only: what each job runs, the secret handed to it (deleted once read), where it "
        "listens, and its log.",
    )

    @default("shared_dir")
    def _default_shared_dir(self):
        return os.path.join(self.run_dir, "slurm")

    volumes_dir = Unicode(
        config=True,
        help="Directory of the spaces' volumes, on storage every node sees; mounted by a space's job on its "
        "node, never by two jobs at once.",
    )

    @default("volumes_dir")
    def _default_volumes_dir(self):
        return "/var/lib/jupyter-spaces/volumes"

    run_dir = Unicode(
        "/run/jupyter-spaces-slurm",
        config=True,
        help="Directory for the domain's own runtime files (default home of shared_dir).",
    )
    node_run_dir = Unicode(
        "/run/jupyter-spaces-slurm",
        config=True,
        help="Directory on each node for a job's runtime files (mount point, passwd, server log); "
        "one directory per job inside it, removed when the job ends.",
    )
    node_python = Unicode(
        sys.executable,
        config=True,
        help="Python with jupyter_spaces installed, at this path on every node (the job runs it as root).",
    )
    listen_ip = Unicode(
        "0.0.0.0",
        config=True,
        help="Address a job listens on for the domain on its node (it relays to the space server on the "
        "node's loopback; the domain connects to the node's NodeAddr). The space only answers requests "
        "the domain signed.",
    )
    volume_mode = Enum(
        ["image", "directory"],
        "image",
        config=True,
        help="How volumes are made (see LocalLauncher.volume_mode): 'image', an ext4 image per space, a hard "
        "size limit (root and loop devices on the domain and every node); 'directory', a soft quota.",
    )
    local_config = Dict(
        config=True,
        help="Config of the LocalLauncher that runs the space on its node: uid_range, home_dir, bwrap, "
        "extra_args, allow_unsandboxed (False unless set here), ...",
    )
    start_timeout = Float(
        120.0, config=True, help="Seconds from the job running until its space must answer (image check included)."
    )
    pending_timeout = Float(
        600.0, config=True, help="Seconds a start may wait for Slurm to run the job before it fails."
    )
    completing_grace = Float(
        10.0,
        config=True,
        help="Seconds poll waits for a COMPLETING job's final state (why it ended) before it reports "
        "the space gone without it.",
    )
    stop_timeout = Float(60.0, config=True, help="Seconds a stop waits for Slurm to end the job after scancel.")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.slurm = Slurm(self.slurm_bin_dir, self.slurm_conf)
        self._volumes: Volumes | None = None
        self._ended: dict[str, tuple[str, str]] = {}  # job id -> (Slurm state, reason) when poll saw it end
        self._completing: dict[str, float] = {}  # job id -> when poll first saw it COMPLETING

    # ------------------------------------------------------------ helpers
    @property
    def volumes(self) -> Volumes:
        if self._volumes is None:
            self._volumes = Volumes(self.volumes_dir, os.path.join(self.run_dir, "mounts"), self.volume_mode, self.log)
        return self._volumes

    def job_name(self, space: str) -> str:
        return f"{self.job_name_prefix}{space}"

    def _dir(self, space: str) -> str:
        return os.path.join(self.shared_dir, space)

    def _read(self, space: str, name: str) -> dict:
        try:
            with open(os.path.join(self._dir(space), name)) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def _clear(self, space: str, *names: str) -> None:
        for n in names:
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(self._dir(space), n))

    async def _jobs_of(self, space: str, fresh: bool = False) -> list:
        jobs = await self.slurm.jobs(self.job_name(space), fresh=fresh)
        return [j for j in jobs.values() if j.name == self.job_name(space) and not j.ended]

    # ------------------------------------------------------------ host
    def capabilities(self) -> list[Capability]:
        node = "on the job's node, as the local launcher there (a node that cannot fails the start with the reason)"
        return [
            Capability("sandbox", True, f"bubblewrap {node}"),
            Capability("own uid", True, f"each space runs as its own uid {node}"),
            Capability("memory limit", True, "the job's --mem (Slurm's cgroup) and the space's own cgroup"),
            Capability("cpu limit", True, "the job's --cpus-per-task (Slurm) and the space's own cgroup"),
            Capability("process limit", True, f"the space's own cgroup {node}"),
            Capability(
                "hard volume quota",
                self.volume_mode == "image",
                "ext4 image per space on the shared volumes directory, loop-mounted by the job"
                if self.volume_mode == "image"
                else "volume_mode is 'directory': a soft quota (saves through Jupyter past it are refused)",
            ),
            Capability(
                "network isolation",
                False,
                "the space shares its node's network; its job relays the domain's connections to it",
            ),
        ]

    # --------------------------------------------------------------- start
    def _sbatch_args(self, spec: LaunchSpec, job_dir: str) -> list[str]:
        it = spec.instance_type
        args = [
            f"--job-name={self.job_name(spec.space)}",
            "--nodes=1",
            "--ntasks=1",
            f"--cpus-per-task={max(1, math.ceil(it.cpus or 1))}",
            f"--mem={max(1, math.ceil((it.memory_gb or 1) * 1024))}M",
            f"--output={job_dir}/job-%j.log",
            "--chdir=/",
            "--export=NONE",
            "--no-requeue",
        ]
        partition = self.partitions.get(it.name) or self.partition
        if partition:
            args.append(f"--partition={partition}")
        if self.gres.get(it.name):
            args.append(f"--gres={self.gres[it.name]}")
        if self.time_limit:
            args.append(f"--time={self.time_limit}")
        args += [f"--{k}={v}" for k, v in self.sbatch_args.items()]
        return args

    def _write_job(self, spec: LaunchSpec, job_dir: str) -> None:
        os.makedirs(self.shared_dir, mode=0o700, exist_ok=True)
        os.chmod(self.shared_dir, 0o700)
        os.makedirs(job_dir, mode=0o700, exist_ok=True)
        self._clear(spec.space, "endpoint.json", "exit.json", "secret")
        d = asdict(spec)
        d.pop("secret")
        local = {
            "allow_unsandboxed": False,
            **self.local_config,
            "volumes_dir": self.volumes_dir,
            "volume_mode": self.volume_mode,
            "protected_paths": [self.shared_dir, *self.local_config.get("protected_paths", [])],
        }
        job = {"spec": d, "local": local, "listen_ip": self.listen_ip, "node_run_dir": self.node_run_dir}
        with open(os.path.join(job_dir, "job.json"), "w", opener=lambda p, fl: os.open(p, fl, 0o600)) as f:
            json.dump(job, f)
        with open(os.path.join(job_dir, "secret"), "w", opener=lambda p, fl: os.open(p, fl, 0o600)) as f:
            f.write(spec.secret)

    async def start(self, spec: LaunchSpec, progress: Progress) -> Launched:
        space = spec.space
        check_name(space)
        ok, why = self.app_type_availability(spec.app_type)
        if not ok:
            raise LaunchError(why)
        # one job per space: a job of this space still around (a domain crash) is ended first
        await self._cancel_space_jobs(space)
        progress(5, "Preparing the volume")
        if not self.volumes.exists(space):
            await self.volumes.create(space, spec.volume_gb)
        job_dir = self._dir(space)
        state: dict = {"launcher": "slurm", "version": 1}
        async with self.undone_on_failure(space, state):
            self._write_job(spec, job_dir)
            script = f"#!/bin/sh\nexec {self.node_python} -I -m jupyter_spaces.launchers.slurmjob {job_dir}\n"
            job_id = await self.slurm.submit(script, self._sbatch_args(spec, job_dir))
            state["job_id"] = job_id
            self.log.info("Space %s: Slurm job %s submitted", space, job_id)
            progress(10, "Submitted to Slurm")
            endpoint = await self._wait_running(space, job_id, progress)
            state["node"] = endpoint["node"]
            state["host"] = await self.slurm.node_address(endpoint["node"])
            state["port"] = int(endpoint["port"])
            url = f"http://{state['host']}:{state['port']}"
            await self._check_agent(spec, url, job_id)
            progress(100, "Ready")
            self.log.info("Space %s running at %s (job %s on %s)", space, url, job_id, state["node"])
            return Launched(url=url, state=state)

    async def _wait_running(self, space: str, job_id: str, progress: Progress) -> dict:
        """The job's endpoint once it runs and its space answers; progress says why it waits."""
        pending_until = time.monotonic() + self.pending_timeout
        ready_until = None
        said = ""
        pct = 40
        while True:
            jobs = await self.slurm.jobs(self.job_name(space), fresh=True)
            job = jobs.get(job_id)
            endpoint = self._read(space, "endpoint.json")
            if endpoint.get("job_id") == job_id and job is not None and job.state == "RUNNING":
                return endpoint
            if job is None or job.ended:
                raise LaunchError(self._start_failure(space, job_id, job.state if job else "", job.reason if job else ""))
            if job.state == "PENDING":
                msg = f"Pending: {pending_reason(job.reason)}"
                if msg != said:
                    progress(15, msg)
                    said = msg
                if time.monotonic() > pending_until:
                    raise LaunchError(
                        f"Slurm did not run the space's job within {self.pending_timeout:.0f} seconds "
                        f"({pending_reason(job.reason)}). Try again later or choose a smaller instance type."
                    )
            else:
                if ready_until is None:
                    ready_until = time.monotonic() + self.start_timeout
                    progress(30, f"Running on {job.node}: starting JupyterLab")
                elif pct < 95:
                    pct += 1
                    progress(pct, f"Running on {job.node}: starting JupyterLab")
                if time.monotonic() > ready_until:
                    raise LaunchError(
                        f"The space's job runs on {job.node} but its server did not answer within "
                        f"{self.start_timeout:.0f} seconds. {self._log_hint(space, job_id)}"
                    )
            await asyncio.sleep(0.2)

    def _start_failure(self, space: str, job_id: str, slurm_state: str, reason: str) -> str:
        ended = self._read(space, "exit.json")
        if ended.get("job_id") == job_id and ended.get("reason"):
            return ended["reason"]
        what = END_REASONS.get(slurm_state, f"The space's Slurm job ended ({slurm_state or 'unknown'}).")
        return f"{what} {self._log_hint(space, job_id)}".strip()

    def _log_hint(self, space: str, job_id: str) -> str:
        try:
            with open(os.path.join(self._dir(space), f"job-{job_id}.log"), errors="replace") as f:
                lines = [ln.strip() for ln in f.read()[-4000:].splitlines() if ln.strip()]
        except OSError:
            return ""
        return f"Last line of the job's log: {lines[-1]}" if lines else ""

    async def _check_agent(self, spec: LaunchSpec, url: str, job_id: str) -> None:
        """The space's agent answers a signed request at ``url`` as this space: else the
        endpoint is not the space's, and the start fails."""
        path = agent_path(spec)
        headers = signing.sign_request(spec.secret, spec.space, "GET", path, PROBE_IDENTITY)
        try:
            async with httpx.AsyncClient(timeout=10.0, trust_env=False) as client:
                r = await client.get(url + path, headers=headers)
        except httpx.HTTPError as e:
            raise LaunchError(f"The space's job said it listens at {url}, but it does not answer there ({e}).") from e
        check_agent(spec, r, ServerLog(os.path.join(self._dir(spec.space), f"job-{job_id}.log")))

    # -------------------------------------------------------- poll / stop
    async def poll(self, space: str, state: dict) -> int | None:
        job_id = (state or {}).get("job_id")
        if not job_id:
            return EXIT_UNKNOWN
        job = (await self.slurm.jobs(self.job_name(space))).get(job_id)
        if job is None:
            self._ended[job_id] = ("", "Slurm no longer knows the space's job.")
            return EXIT_UNKNOWN
        if job.state == "COMPLETING":
            # its processes are being ended; the final state (CANCELLED, TIMEOUT, ...) says why
            since = self._completing.setdefault(job_id, time.monotonic())
            if time.monotonic() - since < self.completing_grace:
                return None
        elif not job.ended:
            return None
        self._completing.pop(job_id, None)
        self._ended[job_id] = (job.state, job.reason)
        if job.state == "COMPLETED":
            ended = self._read(space, "exit.json")
            return int(ended.get("status") or 0) if ended.get("job_id") == job_id else 0
        return -15 if job.state == "CANCELLED" else 1

    def describe_exit(self, space: str, state: dict, status: int) -> str:
        job_id = (state or {}).get("job_id", "")
        ended = self._read(space, "exit.json")
        if ended.get("job_id") == job_id and ended.get("reason"):
            return ended["reason"]  # the local launcher's words on the node (e.g. out of memory)
        slurm_state, reason = self._ended.get(job_id, ("", ""))
        if slurm_state in END_REASONS:
            node = f" on {state['node']}" if state.get("node") else ""
            why = f" (Slurm: {reason})" if reason and reason != "None" else ""
            return f"{END_REASONS[slurm_state]} Job {job_id}{node}{why}."
        if reason and reason != "None":
            return reason
        return super().describe_exit(space, state, status)

    async def _cancel_space_jobs(self, space: str, also: tuple[str, ...] = ()) -> None:
        ids = {j.id for j in await self._jobs_of(space, fresh=True)} | {i for i in also if i}
        if not ids:
            return
        await self.slurm.cancel(*sorted(ids))
        if not await self.slurm.wait_ended(self.job_name(space), ids, self.stop_timeout):
            raise LaunchError(f"Slurm did not end job(s) {', '.join(sorted(ids))} of space {space} in time.")

    async def stop(self, space: str, state: dict) -> None:
        check_name(space)
        await self._cancel_space_jobs(space, ((state or {}).get("job_id", ""),))
        self._clear(space, "secret", "endpoint.json")

    async def cleanup_orphans(self, known: dict[str, dict]) -> None:
        claimed = {str(st.get("job_id")) for st in (known or {}).values() if st}
        jobs = await self.slurm.jobs(self.job_name_prefix, fresh=True)
        orphans = {i for i, j in jobs.items() if not j.ended and i not in claimed}
        if orphans:
            self.log.warning("Cancelling Slurm jobs no space claims: %s", ", ".join(sorted(orphans)))
            await self.slurm.cancel(*sorted(orphans))
            await self.slurm.wait_ended(self.job_name_prefix, orphans, self.stop_timeout)

    # ------------------------------------------------------------- volumes
    async def _refuse_while_running(self, space: str) -> None:
        if await self._jobs_of(space, fresh=True):
            raise VolumeError("The space is running; stop it before changing its volume.")

    async def create_volume(self, space: str, size_gb: int) -> None:
        check_name(space)
        await self.volumes.create(space, size_gb)

    async def resize_volume(self, space: str, size_gb: int) -> None:
        check_name(space)
        await self._refuse_while_running(space)
        await self.volumes.resize(space, size_gb)

    async def delete_volume(self, space: str) -> None:
        check_name(space)
        await self._refuse_while_running(space)
        await self.volumes.delete(space)
        shutil.rmtree(self._dir(space), ignore_errors=True)

    async def volume_used_bytes(self, space: str) -> int:
        check_name(space)
        return await self.volumes.used_bytes(space)

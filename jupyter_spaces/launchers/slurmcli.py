"""Slurm's commands as the Slurm launcher uses them: submit, list, cancel, describe.

Only the documented command-line tools (``sbatch``, ``squeue``, ``scancel``,
``scontrol``) of the submit host are used, so the launcher works with any Slurm the
host is a client of; ``SLURM_CONF`` (when configured) picks the cluster.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import time
from dataclasses import dataclass

from .base import LaunchError

#: States after which a job never runs again.
ENDED = {"COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "OUT_OF_MEMORY",
         "BOOT_FAIL", "DEADLINE", "REVOKED", "SPECIAL_EXIT"}  # fmt: skip
#: States of a job that still holds (or waits for) a node.
ACTIVE = {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING",
          "SIGNALING", "STAGE_OUT", "STOPPED", "RESV_DEL_HOLD", "REQUEUE_HOLD", "REQUEUE_FED"}  # fmt: skip

# Slurm's pending reasons (squeue %r) in words a user of a space understands.
PENDING_REASONS = {
    "Resources": "waiting for resources",
    "Priority": "waiting behind other jobs",
    "None": "waiting to be scheduled",
    "ReqNodeNotAvail": "waiting for a node that is not available",
    "PartitionDown": "the partition is down",
    "PartitionInactive": "the partition is inactive",
    "PartitionNodeLimit": "the instance type does not fit the partition's nodes",
    "PartitionConfig": "the instance type does not fit the partition",
    "BadConstraints": "no node can ever fit the instance type",
    "JobHeldAdmin": "held by an administrator",
    "JobHeldUser": "held",
    "BeginTime": "waiting for its start time",
    "Dependency": "waiting for another job",
}

# Why a job ended, for a space's failure_reason.
END_REASONS = {
    "COMPLETED": "The space server exited.",
    "CANCELLED": "The space's Slurm job was cancelled outside the domain.",
    "FAILED": "The space's Slurm job failed.",
    "TIMEOUT": "The space's Slurm job reached its time limit.",
    "NODE_FAIL": "The node the space ran on failed.",
    "PREEMPTED": "The space's Slurm job was preempted by another job.",
    "OUT_OF_MEMORY": "The space ran out of memory (its Slurm job hit --mem). Choose a larger instance type.",
    "BOOT_FAIL": "The node the space was to run on failed to boot.",
    "DEADLINE": "The space's Slurm job reached its deadline.",
}


def pending_reason(reason: str) -> str:
    return PENDING_REASONS.get(reason, reason or "waiting to be scheduled")


@dataclass(frozen=True)
class Job:
    id: str
    name: str
    state: str  # PENDING, RUNNING, COMPLETED, CANCELLED, ...
    reason: str  # Slurm's reason code (pending reason, or why it ended)
    node: str  # the node it runs on (empty while pending)

    @property
    def ended(self) -> bool:
        return self.state in ENDED


_FORMAT = "%i|%j|%T|%r|%N"


class Slurm:
    """The commands of one cluster. ``bin_dir`` '' means Slurm's commands on PATH."""

    def __init__(self, bin_dir: str = "", slurm_conf: str = "", list_ttl: float = 0.5):
        self.bin_dir = bin_dir
        self.slurm_conf = slurm_conf
        self.list_ttl = list_ttl
        self._listed: tuple[float, dict[str, Job]] | None = None
        self._listing: asyncio.Lock | None = None

    def _cmd(self, name: str) -> str:
        return os.path.join(self.bin_dir, name) if self.bin_dir else name

    def env(self) -> dict[str, str]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        if self.slurm_conf:
            env["SLURM_CONF"] = self.slurm_conf
        return env

    async def run(self, name: str, *args: str, stdin: str | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
        argv = [self._cmd(name), *args]
        try:
            return await asyncio.to_thread(
                subprocess.run, argv, input=stdin, capture_output=True, text=True, env=self.env(),
                timeout=timeout, check=False, cwd="/",
            )  # fmt: skip
        except FileNotFoundError as e:
            raise LaunchError(f"Slurm's {name} is not installed on the domain's host ({argv[0]}).") from e
        except subprocess.TimeoutExpired as e:
            raise LaunchError(f"Slurm's {name} did not answer within {timeout:.0f} seconds.") from e

    # ---------------------------------------------------------------- jobs
    async def submit(self, script: str, args: list[str]) -> str:
        """The id of the job ``sbatch`` made of ``script`` (read from stdin)."""
        cp = await self.run("sbatch", "--parsable", *args, stdin=script)
        if cp.returncode != 0:
            msg = (cp.stderr or cp.stdout).strip().splitlines()
            raise LaunchError(f"Slurm refused the space's job: {msg[-1] if msg else cp.returncode}")
        job_id = cp.stdout.strip().split(";")[0]
        if not job_id.isdigit():
            raise LaunchError(f"sbatch answered {cp.stdout.strip()!r} instead of a job id.")
        return job_id

    async def jobs(self, prefix: str, fresh: bool = False) -> dict[str, Job]:
        """Jobs named ``prefix...`` that Slurm still knows (active, or ended within its
        MinJobAge), by id. One ``squeue`` serves every caller for ``list_ttl`` seconds:
        the domain polls every running space every second or two."""
        if self._listing is None:
            self._listing = asyncio.Lock()
        async with self._listing:
            now = time.monotonic()
            if not fresh and self._listed is not None and now - self._listed[0] < self.list_ttl:
                jobs = self._listed[1]
            else:
                cp = await self.run("squeue", "--noheader", "--states=all", f"--format={_FORMAT}")
                if cp.returncode != 0:
                    raise LaunchError(f"squeue failed: {(cp.stderr or cp.stdout).strip()}")
                jobs = {}
                for line in cp.stdout.splitlines():
                    parts = line.strip().split("|")
                    if len(parts) == 5:
                        job = Job(*parts)
                        jobs[job.id] = job
                self._listed = (time.monotonic(), jobs)
        return {i: j for i, j in jobs.items() if j.name.startswith(prefix)}

    async def cancel(self, *job_ids: str) -> None:
        if job_ids:
            await self.run("scancel", *job_ids)
            self._listed = None

    async def wait_ended(self, prefix: str, job_ids: set[str], timeout: float) -> bool:
        """True once none of ``job_ids`` is active any more (ended, or forgotten by Slurm)."""
        deadline = time.monotonic() + timeout
        while True:
            jobs = await self.jobs(prefix, fresh=True)
            if not any(i in jobs and not jobs[i].ended for i in job_ids):
                return True
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.2)

    async def node_address(self, node: str) -> str:
        """Where the domain reaches ``node``: its NodeAddr in Slurm's config."""
        cp = await self.run("scontrol", "--oneliner", "show", "node", node)
        m = re.search(r"\bNodeAddr=(\S+)", cp.stdout)
        if cp.returncode != 0 or not m:
            raise LaunchError(f"Slurm does not know the address of node {node!r}.")
        return m.group(1)

    async def exit_code(self, job_id: str) -> tuple[int, int] | None:
        """``(exit code, signal)`` of an ended job, if Slurm still has it."""
        cp = await self.run("scontrol", "--oneliner", "show", "job", job_id)
        m = re.search(r"\bExitCode=(\d+):(\d+)", cp.stdout)
        return (int(m.group(1)), int(m.group(2))) if cp.returncode == 0 and m else None

"""What a space's Slurm job runs on its node: ``python -m jupyter_spaces.launchers.slurmjob DIR``.

The job runs as root on whatever node Slurm picked and starts the space there with the
:class:`~jupyter_spaces.launchers.local.LocalLauncher`: the same sandbox, uid, limits
and volume as a local space (the volume from the shared volumes directory). Inside Slurm's
job cgroup (``--mem``, CPUs) the local launcher's own cgroup for the space applies the
instance type again, so a kernel that allocates past it is the one the OOM killer picks
and the server keeps serving.

``DIR`` is the space's directory in the launcher's shared directory (root-only, on
storage the domain and every node see)::

    job.json       what to start (the LaunchSpec without its secret, the local launcher's config)
    secret         the space's secret; read and deleted by the job at its start
    volume.lock    held (flock) while the job runs: a volume is never used by two jobs
    endpoint.json  written once the space's agent answered: {"job_id", "node", "port"}
    exit.json      written when the job ends: {"job_id", "status", "reason"}

The space server listens on the node's loopback as a local one does; the job relays
``listen_ip:<port>`` to it, so the domain reaches it from another host. The domain trusts
``endpoint.json`` because only root writes that directory, and checks that its job id is
the job it submitted; the host comes from Slurm (the node's ``NodeAddr``), not the job.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import shutil
import signal
import socket
import sys

from traitlets.config import Config

from .base import AgentSpec, Image, InstanceType, LaunchError, LaunchSpec
from .local import LocalLauncher

log = logging.getLogger("jupyter_spaces.slurmjob")


def write_json(path: str, data: dict) -> None:
    """Atomically, readable by root only."""
    with open(path + ".tmp", "w", opener=lambda p, fl: os.open(p, fl, 0o600)) as f:
        json.dump(data, f)
    os.replace(path + ".tmp", path)


def spec_from_json(d: dict, secret: str) -> LaunchSpec:
    d = dict(d)
    d["instance_type"] = InstanceType(**d["instance_type"])
    d["image"] = Image(**d["image"])
    if d.get("agent"):
        a = d["agent"]
        d["agent"] = AgentSpec(**{**a, "disabled_extensions": tuple(a.get("disabled_extensions") or ())})
    return LaunchSpec(**{**d, "secret": secret})


def read_secret(path: str) -> str:
    with open(path) as f:
        secret = f.read().strip()
    os.unlink(path)  # a later reader learns nothing
    return secret


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        pass


async def relay(listen_ip: str, target_port: int) -> asyncio.Server:
    """A TCP relay from ``listen_ip:<free port>`` to the space server on 127.0.0.1
    (HTTP and websockets alike: it only moves bytes)."""

    async def handle(reader, writer):
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            writer.close()
            return
        try:
            await asyncio.gather(_pipe(reader, up_w), _pipe(up_r, writer))
        finally:
            for w in (writer, up_w):
                with contextlib.suppress(Exception):
                    w.close()

    return await asyncio.start_server(handle, host=listen_ip, port=0, reuse_address=True)


def exit_code(status: int | None) -> int:
    if status is None:
        return 0
    return 128 - status if status < 0 else min(status, 255)


async def serve(job_dir: str, job: dict, secret: str, job_id: str, node: str) -> int:
    """Start the space, say where it listens, keep it until it ends or Slurm stops the job."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    launcher = LocalLauncher(config=Config({"LocalLauncher": job["local"]}), log=log)
    spec = spec_from_json(job["spec"], secret)
    space = spec.space
    exit_file = os.path.join(job_dir, "exit.json")

    def progress(pct: int, msg: str) -> None:
        print(f"[{pct:3d}%] {msg}", flush=True)

    try:
        launched = await launcher.start(spec, progress)
    except LaunchError as e:
        write_json(exit_file, {"job_id": job_id, "status": 1, "reason": e.message})
        print(f"The space could not start: {e.message}", flush=True)
        await launcher.discard()
        return 1
    status: int | None = None
    reason = ""
    server = None
    try:
        port = int(launched.url.rsplit(":", 1)[1])
        server = await relay(job["listen_ip"], port)
        listen_port = server.sockets[0].getsockname()[1]
        write_json(os.path.join(job_dir, "endpoint.json"), {"job_id": job_id, "node": node, "port": listen_port})
        print(f"Space {space} serves on {node}:{listen_port}", flush=True)
        while not stop.is_set():
            status = await launcher.poll(space, launched.state)
            if status is not None:
                reason = launcher.describe_exit(space, launched.state, status)
                break
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
    finally:
        if server is not None:
            server.close()
        await launcher.stop(space, launched.state)
        await launcher.discard()
        write_json(exit_file, {"job_id": job_id, "status": status, "reason": reason})
    return exit_code(status)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    job_dir = argv[0]
    job_id = os.environ.get("SLURM_JOB_ID", "")
    node = os.environ.get("SLURMD_NODENAME") or socket.gethostname()
    # a job submitted with --export=NONE has an empty environment
    os.environ.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    with open(os.path.join(job_dir, "job.json")) as f:
        job = json.load(f)
    try:
        secret = read_secret(os.path.join(job_dir, "secret"))
    except OSError:
        write_json(os.path.join(job_dir, "exit.json"),
                   {"job_id": job_id, "status": 1, "reason": "The space's job found no secret (a second run?)."})  # fmt: skip
        return 1
    lock = open(os.path.join(job_dir, "volume.lock"), "a")  # noqa: SIM115 (held until exit)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        write_json(os.path.join(job_dir, "exit.json"),
                   {"job_id": job_id, "status": 1, "reason": "The space's volume is in use by another job."})  # fmt: skip
        return 1
    # the node's own runtime files (mounts, passwd, server log), one directory per job
    run_dir = os.path.join(job["node_run_dir"], f"job-{job_id or os.getpid()}")
    job["local"]["run_dir"] = run_dir
    try:
        return asyncio.run(serve(job_dir, job, secret, job_id, node))
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
        lock.close()


if __name__ == "__main__":
    sys.exit(main())

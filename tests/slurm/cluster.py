"""A real two-node Slurm cluster in a temporary directory, for the Slurm launcher's tests.

``munged`` (as the munge user, with its own key and socket), ``slurmctld -D`` and one
``slurmd -D -N <node>`` per node run in the foreground as children of the test process,
each with its output in ``<root>/log/``. Both nodes are this host (``NodeAddr=127.0.0.1``,
a port each); Slurm's cgroups enforce each job's ``--mem`` as on a real cluster. Nothing
is installed as a service and nothing outside ``root`` is written, except the cgroups
Slurm makes for its jobs (removed with them).
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SBIN = "/usr/sbin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def slurm_installed() -> str:
    """'' if Slurm and munge are installed here, else what is missing."""
    missing = [c for c in ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "scontrol")
               if shutil.which(c, path=f"{SBIN}:/usr/bin") is None]  # fmt: skip
    return ", ".join(missing)


@dataclass
class Node:
    name: str
    port: int
    cpus: int
    memory_mb: int


@dataclass
class SlurmCluster:
    """Write the config, start the daemons, wait until every node is idle; ``stop`` ends them."""

    root: Path
    nodes: list[Node] = field(default_factory=list)
    partition: str = "spaces"
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    @classmethod
    def two_nodes(cls, root: Path, cpus: int = 1, memory_mb: int = 2048, names=("n1", "n2")) -> SlurmCluster:
        # Node names also name Slurm's cgroups (slurm_<node>): two clusters at once need different ones.
        return cls(Path(root), [Node(n, free_port(), cpus, memory_mb) for n in names])

    # ------------------------------------------------------------ paths
    @property
    def conf(self) -> Path:
        return self.root / "etc" / "slurm.conf"

    @property
    def munge_socket(self) -> Path:
        return self.root / "munge" / "munge.socket"

    @property
    def env(self) -> dict[str, str]:
        """Environment for Slurm's commands: this cluster's config."""
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def log(self, name: str) -> str:
        try:
            return (self.root / "log" / f"{name}.log").read_text(errors="replace")
        except OSError:
            return ""

    # ------------------------------------------------------------ config
    def _write_config(self) -> None:
        host = socket.gethostname().split(".")[0]
        for d in ("etc", "state", "spool", "log", "run"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        r = self.root
        lines = [
            f"ClusterName=spaces{os.getpid()}",
            f"SlurmctldHost={host}(127.0.0.1)",
            f"SlurmctldPort={free_port()}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={self.munge_socket}",
            f"StateSaveLocation={r}/state",
            f"SlurmdSpoolDir={r}/spool/%n",
            f"SlurmctldPidFile={r}/run/slurmctld.pid",
            f"SlurmdPidFile={r}/run/slurmd-%n.pid",
            f"SlurmctldLogFile={r}/log/slurmctld.log",
            f"SlurmdLogFile={r}/log/slurmd-%n.log",
            "SlurmctldDebug=info",
            "SlurmdDebug=info",
            f"PlugStackConfig={r}/etc/plugstack.conf",
            "ProctrackType=proctrack/cgroup",
            "TaskPlugin=task/cgroup,task/affinity",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            "SchedulerType=sched/backfill",
            # schedule a submitted or freed job at once, not at the next periodic pass
            "SchedulerParameters=sched_min_interval=0",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            "MpiDefault=none",
            "ReturnToService=2",
            "SlurmdParameters=config_overrides",
            "KillWait=5",
            "InactiveLimit=0",
            "MinJobAge=600",
            "MessageTimeout=10",
        ]
        for n in self.nodes:
            lines.append(
                f"NodeName={n.name} NodeHostname={host} NodeAddr=127.0.0.1 Port={n.port} CPUs={n.cpus} "
                f"Boards=1 SocketsPerBoard=1 CoresPerSocket={n.cpus} ThreadsPerCore=1 "
                f"RealMemory={n.memory_mb} State=UNKNOWN"
            )
        names = ",".join(n.name for n in self.nodes)
        lines.append(f"PartitionName={self.partition} Nodes={names} Default=YES MaxTime=INFINITE State=UP")
        self.conf.write_text("\n".join(lines) + "\n")
        (r / "etc" / "plugstack.conf").write_text("")
        # cgroup.conf is read from beside slurm.conf
        (r / "etc" / "cgroup.conf").write_text(
            "CgroupPlugin=cgroup/v1\nConstrainRAMSpace=yes\nConstrainSwapSpace=yes\nAllowedSwapSpace=0\n"
        )

    # ------------------------------------------------------------ daemons
    def _spawn(self, name: str, argv: list[str], **kw) -> None:
        # --pdeathsig: a test run that is killed (no fixture teardown) takes its daemons along
        if argv[0] != "setpriv":
            argv = ["setpriv", "--pdeathsig=TERM", "--", *argv]
        with open(self.root / "log" / f"{name}.out", "wb") as out:
            self.procs[name] = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env={**self.env, **kw.pop("env", {})}, start_new_session=True, **kw,
            )  # fmt: skip

    def _start_munge(self) -> None:
        mdir = self.root / "munge"
        mdir.mkdir(exist_ok=True)
        munge = pwd.getpwnam("munge")
        key = mdir / "munge.key"
        subprocess.run([f"{SBIN}/mungekey", "--create", f"--keyfile={key}"], check=True, capture_output=True)
        for p in (mdir, key):
            os.chown(p, munge.pw_uid, munge.pw_gid)
        os.chmod(key, 0o400)
        # munged wants its socket's directory searchable by all and writable by none but itself
        os.chmod(mdir, 0o711)
        self._spawn(
            "munged",
            ["setpriv", f"--reuid={munge.pw_uid}", f"--regid={munge.pw_gid}", "--init-groups",
             "--pdeathsig=TERM", "--",
             f"{SBIN}/munged", "--foreground", f"--key-file={key}", f"--socket={self.munge_socket}",
             f"--pid-file={mdir}/munged.pid", f"--log-file={mdir}/munged.log", f"--seed-file={mdir}/munged.seed"],
        )  # fmt: skip
        self._wait(lambda: self.munge_socket.exists(), "munged", 10)

    def cgroup_dirs(self) -> list[Path]:
        """The cgroups Slurm makes for this cluster's nodes (cgroup v1: slurm_<node> in each controller)."""
        return [d for n in self.nodes for d in Path("/sys/fs/cgroup").glob(f"*/slurm_{n.name}")]

    def _remove_cgroups(self) -> list[str]:
        """Remove the nodes' cgroups, deepest first; those that cannot go (processes) are returned.
        A job's cgroups left by an earlier run (killed) would make Slurm fail this run's jobs."""
        left = []
        for top in self.cgroup_dirs():
            for d in sorted(top.rglob("*"), key=lambda p: len(p.parts), reverse=True) + [top]:
                if d.is_dir():
                    try:
                        d.rmdir()
                    except OSError:
                        left.append(str(d))
        return left

    def start(self, timeout: float = 30) -> SlurmCluster:
        os.chmod(self.root, 0o755)
        self._remove_cgroups()
        self._write_config()
        try:
            self._start_munge()
            self._spawn("slurmctld", [f"{SBIN}/slurmctld", "-D", "-i", "-f", str(self.conf)])
            for n in self.nodes:
                (self.root / "spool" / n.name).mkdir(exist_ok=True)
                self._spawn(f"slurmd-{n.name}", [f"{SBIN}/slurmd", "-D", "-N", n.name, "-f", str(self.conf)])
            self._wait(self._all_idle, "the nodes to be idle", timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait(self, ready, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            for name, p in self.procs.items():
                if p.poll() is not None:
                    raise RuntimeError(f"{name} exited ({p.returncode}) while waiting for {what}:\n{self._logs()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}:\n{self._logs()}")
            time.sleep(0.1)

    def _logs(self) -> str:
        out = []
        for f in sorted((self.root / "log").glob("*")):
            out.append(f"--- {f.name}\n" + "\n".join(f.read_text(errors="replace").splitlines()[-15:]))
        return "\n".join(out)

    def _all_idle(self) -> bool:
        states = self.node_states()
        return len(states) == len(self.nodes) and all(s == "idle" for s in states.values())

    def stop(self) -> None:
        """Cancel every job, stop the daemons (slurmd first), and check nothing is left."""
        if "slurmctld" in self.procs and self.procs["slurmctld"].poll() is None:
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                self.run("scancel", "--full", "--partition", self.partition)
                self._wait_no_jobs(15)
        order = [n for n in self.procs if n.startswith("slurmd-")] + ["slurmctld", "munged"]
        for name in order:
            p = self.procs.get(name)
            if p is None:
                continue
            if p.poll() is None:
                p.terminate()
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, 9)
                p.wait(timeout=5)
        self.cgroups_left = self._remove_cgroups()

    def _wait_no_jobs(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not [j for j in self.jobs() if j["job_state"] not in FINISHED]:
                return
            time.sleep(0.2)

    def leftovers(self) -> list[str]:
        """Processes of this cluster still running (daemons, job steps): none after ``stop``."""
        left = [f"{n} (pid {p.pid})" for n, p in self.procs.items() if p.poll() is None]
        left += [f"cgroup {d}" for d in getattr(self, "cgroups_left", [])]
        marker = str(self.root).encode()
        mine = _ancestors()
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) in mine:
                continue
            with contextlib.suppress(OSError):
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
                if marker in cmd or (b"slurmstepd" in cmd and self._is_ours(int(pid))):
                    text = cmd.replace(b"\0", b" ").decode(errors="replace")[:120]
                    left.append(f"{pid}: {text}")
        return left

    def _is_ours(self, pid: int) -> bool:
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            return False
        return f"SLURM_CONF={self.conf}".encode() in env

    # ------------------------------------------------------------ commands
    def run(self, *argv: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(list(argv), capture_output=True, text=True, env=self.env, check=check, timeout=timeout)

    def node_states(self) -> dict[str, str]:
        out = self.run("sinfo", "--noheader", "--Node", "--format=%N %T", check=False).stdout
        return dict(line.split() for line in out.splitlines() if len(line.split()) == 2)

    def jobs(self) -> list[dict]:
        """``squeue --json``'s jobs (pending, running, and ended ones for MinJobAge)."""
        out = self.run("squeue", "--json", "--states=all").stdout
        return json.loads(out)["jobs"]

    def job(self, job_id: int | str) -> dict | None:
        return next((j for j in self.jobs() if str(j["job_id"]) == str(job_id)), None)

    def wait_job(self, job_id, states: set[str], timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            j = self.job(job_id)
            if j is not None and j["job_state"] in states:
                return j
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} not in {states} after {timeout}s: {j and j['job_state']}")
            time.sleep(0.1)


def _ancestors() -> set[int]:
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


FINISHED = {"COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE"}

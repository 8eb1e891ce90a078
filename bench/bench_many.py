"""Many spaces at once: one domain, ``--spaces`` running shared spaces, ``--users`` people.

    python bench/bench_many.py [--spaces 20] [--users 100] [--seconds 30]

A real domain server (``python -m jupyter_spaces.cli``, SQLite, the local launcher) starts
every space itself (sandbox, own uid, cgroup limits, volume, the space agent). Then, in
one client process, each simulated user keeps one collaborative room open in their
team's space and, for ``--seconds``, loops over what the home and a space ask of the
domain: the spaces listing, a contents listing through the proxy, and an edit in their
room (its round trip: the time until the user's own client sees the server's echo of
it in another user's client of the same room). Printed per request type: count,
p50 and p99 (ms); the domain server's CPU over the run (% of one core).

Memory: every process of an idle running space (its cgroup's processes, resident
sets summed) against a bare ``jupyter lab`` started on the same machine in the same
run, idle too (its process tree). Target ratio <= 1.1. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import bench_proxy  # noqa: E402  (a domain, its spaces started and stopped)
from bench_proxy import free_port, pct, start_domain, wait_http  # noqa: E402

from jupyter_spaces.domain.catalog import DEFAULT_IMAGES, DEFAULT_INSTANCE_TYPES, Catalog  # noqa: E402
from jupyter_spaces.domain.schemas import MemberPut, SpaceCreate, UserCreate  # noqa: E402
from jupyter_spaces.domain.service import SYSTEM, DomainService  # noqa: E402
from jupyter_spaces.domain.store import Store, sqlite_url  # noqa: E402
from tests.collab.client import CollabClient  # noqa: E402

NOTEBOOK = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
    {"cell_type": "code", "id": "c1", "source": "", "metadata": {}, "outputs": [], "execution_count": None},
]}


def fill(data: Path, spaces: int, users: int) -> tuple[str, list[tuple[str, str, str]]]:
    """An admin, ``users`` users spread over ``spaces`` shared spaces (editors there).
    Returns the admin's token and (user, token, space) per user."""
    store = Store(sqlite_url(data / "spaces.sqlite"))
    store.migrate()
    service = DomainService(store, Catalog(DEFAULT_INSTANCE_TYPES, DEFAULT_IMAGES))
    admin = service.create_user(SYSTEM, UserCreate(name="admin", display_name="Admin", admin=True))["token"]
    names = [f"team{i:02d}" for i in range(spaces)]
    for name in names:
        service.create_space(SYSTEM, SpaceCreate(name=name, sharing="shared", app_type="jupyterlab", volume_gb=1),
                             owner="admin")
    people = []
    for u in range(users):
        user = f"user{u:03d}"
        token = service.create_user(SYSTEM, UserCreate(name=user, display_name=f"User {u}"))["token"]
        space = names[u % spaces]
        service.put_member(SYSTEM, space, user, MemberPut(role="editor"))
        people.append((user, token, space))
    store.close()
    return admin, people


def tree_rss(pids: set[int]) -> int:
    """Resident bytes of ``pids`` summed (processes gone meanwhile count nothing)."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = {pid}, [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.add(c)
            todo.append(c)
    return out


def space_pids(data: Path, space: str) -> set[int]:
    """The processes of a running space: those in its cgroup (from the launcher's state)."""
    state = json.loads((data / "run" / "spaces" / space / "state.json").read_text())
    pids: set[int] = set()
    for d in (state.get("cgroup") or {}).get("dirs", {}).values():
        try:
            pids |= {int(p) for p in Path(d, "cgroup.procs").read_text().split()}
        except OSError:
            pass
    return pids or descendants(state["pid"])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bare_lab(work: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(work / "cfg"), "JUPYTER_DATA_DIR": str(work / "data"),
           "JUPYTER_RUNTIME_DIR": str(work / "rt")}
    log = open(work / "lab.log", "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
         f"--port={port}", "--IdentityProvider.token=bench", f"--ServerApp.root_dir={work}"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=work,
    )
    wait_http(port, "/api/status", proc, work / "lab.log")
    return proc, port


class Recorder:
    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}

    async def timed(self, kind: str, coro):
        t0 = time.perf_counter()
        try:
            result = await coro
        except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError) as e:
            self.errors[kind] = self.errors.get(kind, 0) + 1
            if self.errors[kind] == 1:
                print(f"  first {kind} error: {type(e).__name__}: {e}", flush=True)
            return None
        self.times.setdefault(kind, []).append(time.perf_counter() - t0)
        return result


async def get(session: aiohttp.ClientSession, url: str, token: str) -> None:
    async with session.get(url, headers={"Authorization": f"token {token}"}) as r:
        await r.read()
        if r.status != 200:
            raise aiohttp.ClientResponseError(r.request_info, (), status=r.status, message=url)


async def start_spaces(base: str, admin: str, names: list[str]) -> float:
    t0 = time.perf_counter()
    bench_proxy.start_spaces(base, admin, names)
    auth = {"Authorization": f"token {admin}"}
    async with aiohttp.ClientSession() as s:
        for name in names:  # each team's notebook
            body = json.dumps({"type": "notebook", "format": "json", "content": NOTEBOOK})
            async with s.put(f"{base}spaces/{name}/api/contents/team.ipynb", data=body, headers=auth) as r:
                assert r.status in (200, 201), (name, r.status, await r.text())
    return time.perf_counter() - t0


async def users_run(base: str, people, seconds: float, rec: Recorder) -> None:
    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn) as session:
        # Everybody opens their team's room first (as a tab left open all day).
        clients = []
        for _user, token, space in people:
            c = await rec.timed("room open", CollabClient(f"{base}spaces/{space}/", "team.ipynb", token=token).open(
                timeout=120))
            clients.append(c)
        peers: dict[str, list[CollabClient]] = {}
        for c, (_user, _token, space) in zip(clients, people):
            if c is not None:
                peers.setdefault(space, []).append(c)
        end = time.perf_counter() + seconds

        async def person(i: int) -> None:
            _user, token, space = people[i]
            me = clients[i]
            rng = random.Random(i)
            await asyncio.sleep(rng.random() * 2)
            while time.perf_counter() < end:
                await rec.timed("home listing", get(session, f"{base}spaces/api/spaces", token))
                await rec.timed("contents, proxied", get(session, f"{base}spaces/{space}/api/contents", token))
                others = [p for p in peers.get(space, []) if p is not me]
                if me is not None and others:
                    await rec.timed("room edit round trip", edit(me, others[0], i))
                await asyncio.sleep(1 + rng.random())

        await asyncio.gather(*(person(i) for i in range(len(people))))
        for c in clients:
            if c is not None:
                await c.disconnect()


async def edit(me: CollabClient, other: CollabClient, i: int) -> None:
    """An edit by ``me``, until ``other`` (another user in the room) has it."""
    text = me.model._ycells[0]["source"]
    mark = f"<{i}:{time.perf_counter_ns()}>"
    text += mark
    deadline = time.perf_counter() + 30
    while mark not in str(other.model._ycells[0]["source"]):
        if time.perf_counter() > deadline:
            raise asyncio.TimeoutError("edit not seen")
        await asyncio.sleep(0.001)


async def main_async(args) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-many-") as tmp:
        tmp = Path(tmp)
        lab_dir = tmp / "lab"
        lab_dir.mkdir()
        lab, _ = bare_lab(lab_dir)
        data = tmp / "domain"
        data.mkdir()
        admin, people = fill(data, args.spaces, args.users)
        names = sorted({p[2] for p in people})
        proc, port = start_domain(data)
        base = f"http://127.0.0.1:{port}/"
        try:
            took = await start_spaces(base, admin, names)
            print(f"{args.spaces} spaces started in {took:.1f} s", flush=True)
            await asyncio.sleep(5)  # idle: the first-request work is done, nothing runs
            lab_rss = tree_rss(descendants(lab.pid))
            space_rss = [tree_rss(space_pids(data, n)) for n in names]
            rec = Recorder()
            cpu0, t0 = cpu_seconds(proc.pid), time.perf_counter()
            await users_run(base, people, args.seconds, rec)
            cpu = (cpu_seconds(proc.pid) - cpu0) / (time.perf_counter() - t0)
        except Exception:
            print((data / "domain.log").read_text(errors="replace")[-4000:])
            raise
        finally:
            bench_proxy.stop_spaces(base, admin, names)
            proc.terminate()
            proc.wait(60)
            lab.terminate()
            lab.wait(30)
    print()
    print(f"{args.spaces} running spaces, {args.users} users, {args.seconds:g} s; domain CPU {cpu * 100:.0f}% of one core")
    print(f"{'request':28} {'count':>7} {'errors':>7} {'p50 ms':>9} {'p99 ms':>9}")
    for kind, times in rec.times.items():
        print(f"{kind:28} {len(times):7d} {rec.errors.get(kind, 0):7d} {pct(times, 0.5) * 1000:9.1f} "
              f"{pct(times, 0.99) * 1000:9.1f}")
    mean = statistics.mean(space_rss)
    print(f"\nmemory of an idle running space (all its processes), mean of {len(space_rss)}: {mean / 2**20:.1f} MiB "
          f"(min {min(space_rss) / 2**20:.1f}, max {max(space_rss) / 2**20:.1f})")
    print(f"a bare jupyter lab, idle: {lab_rss / 2**20:.1f} MiB; ratio space / bare lab: {mean / lab_rss:.2f} "
          "(target <= 1.1)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spaces", type=int, default=20)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=30)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()

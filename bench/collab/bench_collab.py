"""Benchmark: our collaboration service vs jupyter-collaboration, same client harness.

    python bench/collab/bench_collab.py

Four sides, one run, one machine, the same pycrdt websocket clients
(``tests/collab/client.py``) for all:

- **proxy**: ours on the path users take: a real domain server starts a shared space
  (sandbox, own uid, cgroup limits, volume, the space agent) and the clients reach it
  through the domain proxy with an API token. The figures that matter.
- **ours**: our collaboration service on a bare Jupyter server, direct.
- **anchor**: jupyter-collaboration on a bare Jupyter server (``bench/.venv-anchor``,
  created on first run with ``pip install jupyter-collaboration jupyterlab``), direct;
- **anchor-chp**: the same server behind configurable-http-proxy, JupyterHub's proxy
  (what a JupyterHub user gets today).

Sizes come from the environment:

    BENCH_COLLAB_MB=20 BENCH_COLLAB_CELLS=2000   big notebook for cold/warm open
    BENCH_COLLAB_OPENS=5                          copies of it opened (median reported)
    BENCH_COLLAB_CLIENTS=1,10,50                  receivers for propagation
    BENCH_COLLAB_EDITS=300                        edits per propagation run (after 20 uncounted)
    BENCH_COLLAB_READER_PROCS=<cpus>              processes the receivers are spread over
    BENCH_COLLAB_TYPERS=50 BENCH_COLLAB_CHARS=20  clients typing at once
    BENCH_COLLAB_ROOMS=5 BENCH_COLLAB_ROOM_MB=1   rooms opened for memory per room
    BENCH_COLLAB_ONLY=proxy,ours,anchor,anchor-chp  the sides to run (default all)

First run on the 2-core shared dev machine (defaults, 85 s total; the client harness
runs all clients in one Python process, so with 10-50 clients it dominates):

    figure                                      ours    anchor  anchor/ours
    cold open 20 MB / 2000 cells (s)           3.206     3.602   1.12
    warm open (s)                              0.740     0.574   0.78
    propagation p50 / p99, 1 client (ms)   0.89/13.1 13.2/27.6   14.8 / 2.1
    propagation p50 / p99, 10 clients (ms) 9.4/43.5   7.0/40.1   0.75 / 0.92
    propagation p50 / p99, 50 clients (ms) 19.6/58.2 19.4/142.8  0.99 / 2.45
    50 clients x 20 chars converge (s)        15.41     14.68    0.95
    memory per open room (1 MB nb)            noisy (RSS delta after the 20 MB room)

After the fast open (fastload.py, documents built in a thread, the snapshot served to
opening clients, allocator tuning; issue #4), same machine, busy (load ~3.5), one run:

    figure                                      ours    anchor  anchor/ours
    cold open 20 MB / 2000 cells (s)           0.736     1.883   2.56
    warm open (s)                              0.164     0.270   1.65
    propagation p50 / p99, 1 client (ms)   0.48/5.5   6.7/23.3
    propagation p50 / p99, 10 clients (ms)  1.1/5.0   5.2/26.5
    propagation p50 / p99, 50 clients (ms)  4.4/10.0 16.3/47.9
    50 clients x 20 chars converge (s)        2.99     10.40     3.48
    memory per open room, 1 MB nb (MB)        2.26      4.66     2.06  (2.25x / 4.6x the JSON)

(the code before, in the same conditions: cold 1.27-1.78 s, warm 0.25-0.27 s, 50-client
p99 37-42 ms, 1.9 MB per 1 MB room; its 20 MB room took 5.3x the JSON, ours 1.7x.)
Memory is measured in a server of its own (fresh process, one small room opened first).

The figures above were taken with a heavier harness (tornado's websocket client, ~150 us
of client CPU per received message, and all readers in one process, so the 50th reader
of an edit waited ~7 ms for the 49 before it). The client is now on aiohttp (~35 us)
and the readers are spread over one process per CPU; both servers are measured with it.
"""

from __future__ import annotations

import asyncio
import gc
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE.parent))

import bench_proxy  # noqa: E402  (its domain, store and configurable-http-proxy helpers)
from tests.collab.client import CollabClient, wait_until  # noqa: E402

VENV = REPO / "bench" / ".venv-anchor"
TOKEN = "bench-token"
ENV = os.environ.get
MB = float(ENV("BENCH_COLLAB_MB", "20"))
CELLS = int(ENV("BENCH_COLLAB_CELLS", "2000"))
OPENS = int(ENV("BENCH_COLLAB_OPENS", "5"))
CLIENTS = [int(x) for x in ENV("BENCH_COLLAB_CLIENTS", "1,10,50").split(",")]
EDITS = int(ENV("BENCH_COLLAB_EDITS", "300"))
WARMUP = 20  # first edits of a document, not counted: one-time costs (journal file, merge digest)
TYPERS = int(ENV("BENCH_COLLAB_TYPERS", "50"))
CHARS = int(ENV("BENCH_COLLAB_CHARS", "20"))
ROOMS = int(ENV("BENCH_COLLAB_ROOMS", "5"))
ROOM_MB = float(ENV("BENCH_COLLAB_ROOM_MB", "1"))
READER_PROCS = int(ENV("BENCH_COLLAB_READER_PROCS", str(os.cpu_count() or 1)))


def ensure_anchor() -> Path:
    py = VENV / "bin" / "python"
    if not py.exists():
        print("creating", VENV, "(jupyter-collaboration + jupyterlab) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(py), "-m", "pip", "install", "-q", "jupyter-collaboration", "jupyterlab"], check=True
        )
    return py


def notebook(n_cells: int, mb: float) -> dict:
    per = max(1, int(mb * 1_000_000 / max(n_cells, 1)) - 200)
    line = "x" * 99 + "\n"
    text = (line * (per // 100 + 1))[:per]
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": 1,
                "id": uuid.uuid4().hex[:8],
                "metadata": {},
                "outputs": [{"output_type": "stream", "name": "stdout", "text": text}],
                "source": f"print({i})\n",
            }
            for i in range(n_cells)
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A bare Jupyter server with one collaboration service (ours or the anchor's)."""

    def __init__(self, name: str, python: str, root: Path, work: Path, base_url: str = "/") -> None:
        self.name, self.python, self.root, self.work = name, python, root, work
        self.port = free_port()
        self.base_url = base_url
        self.url = f"http://127.0.0.1:{self.port}{base_url}"

    def start(self) -> None:
        exts = {"jupyterlab": False, "jupyter_lsp": False, "notebook_shim": False, "jupyter_server_terminals": False}
        if self.name == "ours":
            exts["jupyter_spaces.collab"] = True
        else:
            exts |= {"jupyter_server_ydoc": True, "jupyter_server_fileid": True, "jupyter_collaboration": True}
        cfg = {
            "ServerApp": {
                "port": self.port, "ip": "127.0.0.1", "open_browser": False, "allow_root": True,
                "root_dir": str(self.root), "jpserver_extensions": exts, "base_url": self.base_url,
            },
            "IdentityProvider": {"token": TOKEN},
            "CollabService": {"store_path": str(self.work / "store")},
            "YDocExtension": {"db_path": str(self.work / "ystore.db")},
        }
        for d in ("cfg", "data", "rt"):
            (self.work / d).mkdir(exist_ok=True)
        cfg_file = self.work / "config.json"
        cfg_file.write_text(json.dumps(cfg))
        env = dict(os.environ, PYTHONPATH=str(REPO), JUPYTER_PLATFORM_DIRS="1",
                   JUPYTER_CONFIG_DIR=str(self.work / "cfg"), JUPYTER_DATA_DIR=str(self.work / "data"),
                   JUPYTER_RUNTIME_DIR=str(self.work / "rt"))
        self.logf = open(self.work / "server.log", "w")
        self.proc = subprocess.Popen([self.python, "-m", "jupyter_server", f"--config={cfg_file}"],
                                     env=env, stdout=self.logf, stderr=subprocess.STDOUT, cwd=str(self.root))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.work / "server.log").read_text())
            try:
                req = urllib.request.Request(self.url + "api/status", headers={"Authorization": f"token {TOKEN}"})
                urllib.request.urlopen(req, timeout=2).read()
                return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(self.name)

    def rss(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.logf.close()


class Target:
    """Where the clients connect, one way of reaching a collaboration service:
    ``url`` (the server's base URL as the clients see it), ``token`` (an API token
    there) and ``write(path, text)`` (puts a notebook where that server reads it)."""

    def __init__(self, name: str, url: str, token: str, write) -> None:
        self.name, self.url, self.token, self.write = name, url, token, write


def client(srv: Target, path: str) -> CollabClient:
    return CollabClient(srv.url, path, token=srv.token)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def _reader_process(url: str, token: str, path: str, count: int, edits: int, conn) -> None:
    asyncio.run(_readers(url, token, path, count, edits, conn))


async def _readers(url: str, token: str, path: str, count: int, edits: int, conn) -> None:
    """``count`` reading clients in this process: for edit k, each reader's time
    (``perf_counter``, the system's monotonic clock) when its document holds it."""
    readers = [await CollabClient(url, path, token=token).open() for _ in range(count)]
    base = len(readers[0].model._ycells[0]["source"])
    times = [[0.0] * count for _ in range(edits)]
    missing = [count] * edits
    seen = [0] * count

    def on_update(i: int, text) -> Any:
        def arrived(_update: bytes) -> None:
            # edits are told apart by the text's length, not by counting updates
            # (the server's own updates, e.g. the saved flag, reach readers too)
            now, n = time.perf_counter(), min(len(text) - base, edits)
            while seen[i] < n:
                k = seen[i]
                times[k][i], seen[i] = now, k + 1
                missing[k] -= 1
                if not missing[k]:
                    conn.send((k, times[k]))
        return arrived

    for i, r in enumerate(readers):
        r.on_update = on_update(i, r.model._ycells[0]["source"])
    gc.freeze()  # the harness's own heap (imports, grammars) is not rescanned mid-run
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def stopped() -> None:
        loop.remove_reader(conn.fileno())
        stop.set()

    loop.add_reader(conn.fileno(), stopped)
    conn.send("ready")
    await stop.wait()
    for r in readers:
        await r.disconnect()


def _receive(conn, inbox: asyncio.Queue) -> None:
    try:
        inbox.put_nowait(conn.recv())
    except EOFError:
        asyncio.get_running_loop().remove_reader(conn.fileno())
        inbox.put_nowait(EOFError("a reader process ended early"))


async def _next(inbox: asyncio.Queue, timeout: float) -> Any:
    item = await asyncio.wait_for(inbox.get(), timeout)
    if isinstance(item, Exception):
        raise item
    return item


async def propagation(srv: Target, n: int) -> tuple[float, float]:
    """One writer types; each edit's latency to each of ``n`` readers is taken when the
    reader's client has applied it. The readers run in ``READER_PROCS`` processes of
    their own, as separate people's browsers would: in one process, applying 50
    clients' updates one after the other would be most of what is measured."""
    path = f"{srv.name}-prop{n}.ipynb"
    writer = await client(srv, path).open()
    ctx = multiprocessing.get_context("spawn")
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue = asyncio.Queue()
    procs, conns = [], []
    nprocs = max(1, min(READER_PROCS, n))
    for j in range(nprocs):
        mine, theirs = ctx.Pipe()
        count = n // nprocs + (j < n % nprocs)
        p = ctx.Process(target=_reader_process, args=(srv.url, srv.token, path, count, WARMUP + EDITS, theirs), daemon=True)
        p.start()
        loop.add_reader(mine.fileno(), _receive, mine, inbox)
        procs.append(p)
        conns.append(mine)
    try:
        for _ in range(nprocs):
            assert await _next(inbox, 120) == "ready"
        await asyncio.sleep(0.3)
        lat: list[float] = []
        text = writer.model._ycells[0]["source"]
        for k in range(WARMUP + EDITS):
            t0 = time.perf_counter()
            text += "a"
            for _ in range(nprocs):
                done, times = await _next(inbox, 10)
                assert done == k, (done, k)
                if k >= WARMUP:
                    lat.extend(t - t0 for t in times)
    finally:
        for c in conns:
            loop.remove_reader(c.fileno())
            try:
                c.send("stop")
            except OSError:
                pass
        for p in procs:
            p.join(30)
        await writer.disconnect()
    return pct(lat, 50) * 1000, pct(lat, 99) * 1000


async def open_times(srv: Target) -> tuple[float, float]:
    """Median cold and warm open over OPENS copies of the big notebook: cold is the
    first client of a document nobody has opened, warm a second client meanwhile."""
    colds, warms = [], []
    for k in range(OPENS):
        path = f"{srv.name}-big{k}.ipynb"
        t0 = time.perf_counter()
        c1 = await client(srv, path).open(timeout=300)
        colds.append(time.perf_counter() - t0)
        assert len(c1.model._ycells) == CELLS, len(c1.model._ycells)
        t0 = time.perf_counter()
        c2 = await client(srv, path).open(timeout=300)
        warms.append(time.perf_counter() - t0)
        assert len(c2.model._ycells) == CELLS
        await c1.disconnect()
        await c2.disconnect()
    print(f"  {srv.name}: cold opens {' '.join(f'{x:.3f}' for x in colds)}, "
          f"warm {' '.join(f'{x:.3f}' for x in warms)}", flush=True)
    return statistics.median(colds), statistics.median(warms)


async def typing_converge(srv: Target) -> float:
    clients = [await client(srv, f"{srv.name}-typing.ipynb").open() for _ in range(TYPERS)]
    await asyncio.sleep(0.3)
    initial = sum(len(str(cell["source"])) for cell in clients[0].model._ycells)
    t0 = time.perf_counter()

    async def typist(i: int, c: CollabClient) -> None:
        for k in range(CHARS):
            text = c.model._ycells[i % len(c.model._ycells)]["source"]
            text += chr(97 + k % 26)
            await asyncio.sleep(0)

    await asyncio.gather(*(typist(i, c) for i, c in enumerate(clients)))
    expected = TYPERS * CHARS

    def total(c: CollabClient) -> int:
        return sum(len(str(cell["source"])) for cell in c.model._ycells)

    def converged() -> bool:
        return all(total(c) == initial + expected for c in clients)

    await wait_until(converged, timeout=120, interval=0.005)
    dt = time.perf_counter() - t0
    for c in clients:
        await c.disconnect()
    return dt


async def memory_per_room(name: str, python: str, root: Path, work: Path) -> tuple[float, float]:
    """Resident memory a room adds, in a server of its own (in the server that ran the
    other figures, freed memory is reused and the delta reads ~0): one small room first
    (imports, first-use allocations), then ``ROOMS`` rooms opened and kept open.
    Returns (MB per room, multiple of the notebook's JSON size)."""
    work.mkdir(parents=True, exist_ok=True)
    srv = Server(name, python, root, work)
    srv.start()
    target = Target(name, srv.url, TOKEN, None)
    try:
        warm = await client(target, "warmup.ipynb").open(timeout=120)
        await asyncio.sleep(1)
        before = srv.rss()
        clients = [await client(target, f"room{i}.ipynb").open(timeout=120) for i in range(ROOMS)]
        await asyncio.sleep(1.5)
        after = srv.rss()
        for c in [warm, *clients]:
            await c.disconnect()
    finally:
        srv.stop()
    size = sum((root / f"room{i}.ipynb").stat().st_size for i in range(ROOMS))
    return (after - before) / ROOMS / 1e6, (after - before) / size


def write_notebooks(target: Target) -> None:
    big = json.dumps(notebook(CELLS, MB))
    for k in range(OPENS):
        target.write(f"{target.name}-big{k}.ipynb", big)
    for n in CLIENTS:
        target.write(f"{target.name}-prop{n}.ipynb", json.dumps(notebook(10, 0.01)))
    target.write(f"{target.name}-typing.ipynb", json.dumps(notebook(TYPERS, 0.01)))


async def figures(target: Target) -> dict:
    """Every figure but memory, through ``target``."""
    write_notebooks(target)
    res: dict = {}
    res["cold"], res["warm"] = await open_times(target)
    for n in CLIENTS:
        res[f"p50_{n}"], res[f"p99_{n}"] = await propagation(target, n)
    res["typing"] = await typing_converge(target)
    return res


def file_writer(root: Path):
    return lambda path, text: (root / path).write_text(text)


def contents_writer(url: str, token: str):
    """Puts a notebook through the contents API (as a user does: the space's volume is
    the space's own, its files are the space user's)."""
    def write(path: str, text: str) -> None:
        body = json.dumps({"type": "notebook", "format": "json", "content": json.loads(text)}).encode()
        req = urllib.request.Request(url + "api/contents/" + path, data=body, method="PUT",
                                     headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=300).read()
    return write


async def run_direct(name: str, python: str, work: Path, behind_chp: bool) -> dict[str, dict]:
    """A bare server with ``name``'s collaboration service (base URL ``/spaces/bench/``,
    as a JupyterHub single-user server has one), measured direct and, when asked,
    behind configurable-http-proxy (a JupyterHub deployment's path)."""
    root = work / "root"
    root.mkdir(parents=True)
    for i in range(ROOMS):
        (root / f"room{i}.ipynb").write_text(json.dumps(notebook(100, ROOM_MB)))
    (root / "warmup.ipynb").write_text(json.dumps(notebook(5, 0.01)))
    srv = Server(name, python, root, work, base_url=f"/spaces/{bench_proxy.SPACE}/")
    srv.start()
    out: dict[str, dict] = {}
    chp = None
    try:
        out[name] = await figures(Target(name, srv.url, TOKEN, file_writer(root)))
        if behind_chp:
            chp, port, version = bench_proxy.start_chp(work, f"http://127.0.0.1:{srv.port}")
            print(f"  {version and 'configurable-http-proxy ' + version}", flush=True)
            key = f"{name}-chp"
            out[key] = await figures(Target(key, f"http://127.0.0.1:{port}/spaces/{bench_proxy.SPACE}/", TOKEN,
                                            file_writer(root)))
    except Exception:
        print((work / "server.log").read_text()[-4000:])
        raise
    finally:
        if chp is not None:
            chp.terminate()
            chp.wait(30)
        srv.stop()
    try:
        out[name]["mem"], out[name]["mem_x"] = await memory_per_room(name, python, root, work / "mem")
    except Exception:
        print((work / "mem" / "server.log").read_text()[-4000:])
        raise
    return out


async def run_domain(work: Path) -> dict[str, dict]:
    """Ours on the users' path: a real domain server, a shared space it starts (sandbox,
    own uid, cgroup limits, volume, signed identity), clients through the domain proxy
    with an API token."""
    data = work / "domain"
    data.mkdir(parents=True)
    token, _ = bench_proxy.fill(data, sharing="shared", instance_type="medium")
    proc, port = bench_proxy.start_domain(data)
    base = f"http://127.0.0.1:{port}/"
    try:
        bench_proxy.start_spaces(base, token, [bench_proxy.SPACE], timeout=180)
        url = f"http://127.0.0.1:{port}/spaces/{bench_proxy.SPACE}/"
        return {"proxy": await figures(Target("proxy", url, token, contents_writer(url, token)))}
    except Exception:
        print((data / "domain.log").read_text(errors="replace")[-4000:])
        raise
    finally:
        try:
            bench_proxy.stop_spaces(base, token, [bench_proxy.SPACE])
        except (OSError, RuntimeError, TimeoutError) as e:
            print(f"  could not stop the space: {e}", flush=True)
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()


SIDES = {
    "proxy": "ours, through the domain proxy",
    "ours": "ours, direct",
    "anchor": "anchor, direct",
    "anchor-chp": "anchor, behind CHP",
}


def main() -> None:
    only = set(filter(None, ENV("BENCH_COLLAB_ONLY", "").split(","))) or set(SIDES)
    results: dict[str, dict] = {}
    t_start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-collab-") as tmp:
        runs = []
        if "proxy" in only:
            runs.append(("proxy", lambda: run_domain(Path(tmp) / "proxy")))
        if "ours" in only:
            runs.append(("ours", lambda: run_direct("ours", sys.executable, Path(tmp) / "ours", False)))
        if only & {"anchor", "anchor-chp"}:
            runs.append(("anchor", lambda: run_direct("anchor", str(ensure_anchor()), Path(tmp) / "anchor",
                                                      "anchor-chp" in only)))
        for name, run in runs:
            print(f"running {name} ...", flush=True)
            try:
                results.update(asyncio.run(run()))
            except Exception as e:
                print(f"{name} failed: {type(e).__name__}: {e}", flush=True)
        for name in results:
            print(name, json.dumps(results[name]), flush=True)
    rows = [("cold open %g MB / %d cells, median (s)" % (MB, CELLS), "cold"), ("warm open, median (s)", "warm")]
    for n in CLIENTS:
        rows += [(f"propagation p50, {n} clients (ms)", f"p50_{n}"), (f"propagation p99, {n} clients (ms)", f"p99_{n}")]
    rows += [(f"{TYPERS} clients x {CHARS} chars converge (s)", "typing"),
             (f"memory per open room, {ROOM_MB:g} MB nb (MB)", "mem"),
             ("  same, x the notebook's JSON size", "mem_x")]
    nan = float("nan")
    print()
    print("Columns: " + "; ".join(f"{k} = {v}" for k, v in SIDES.items()) + ".")
    print("Ratios: the anchor's figure over ours through the proxy (> 1: we are faster/smaller).")
    print(f"{'figure':45}" + "".join(f"{k:>11}" for k in SIDES) + f"{'anchor/proxy':>14}{'chp/proxy':>11}")
    for label, key in rows:
        values = {k: results.get(k, {}).get(key, nan) for k in SIDES}
        ours = values["proxy"] if values["proxy"] == values["proxy"] else values["ours"]
        ratios = [values[k] / ours if ours and ours == ours else nan for k in ("anchor", "anchor-chp")]
        print(f"{label:45}" + "".join(f"{v:11.3f}" for v in values.values()) + f"{ratios[0]:14.2f}{ratios[1]:11.2f}")
    print(f"\n(total {time.monotonic() - t_start:.0f} s; memory is measured on the direct servers only: "
          "the space server behind the proxy is the same program)")


if __name__ == "__main__":
    main()

"""Latency of listing and describing spaces in a domain of 10,000 spaces and 500 users.

    python bench/bench_domain_list.py [--requests N] [--warmup W] [--spaces S] [--users U]

Fills a fresh store (SQLite, in a temp dir) with ``--spaces`` spaces across ``--users``
users — a mix of private and shared spaces, statuses and app types, members on some
shared spaces — starts a real domain server on it (``python -m jupyter_spaces.cli``),
and times, as a non-admin and as an admin, over HTTP keep-alive:

- ``GET spaces`` (first page, limit 50),
- a filtered page (``sharing=shared&status=stopped&name_contains=...``),
- a later page (the 20th, through ``next_cursor``),
- ``GET spaces/{name}``,

beside the anchor on the same server in the same run: Jupyter's own ``GET /api/me``,
the floor of an authenticated request. The requests of all scenarios are interleaved
(round robin), so load from other processes on the machine falls on all of them alike.
Prints p50/p99 per scenario and their ratios to the anchor. No timed asserts.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from jupyter_spaces.domain import accounts  # noqa: E402
from jupyter_spaces.domain.catalog import DEFAULT_IMAGES, DEFAULT_INSTANCE_TYPES, Catalog  # noqa: E402
from jupyter_spaces.domain.models import Member, Space, User  # noqa: E402
from jupyter_spaces.domain.schemas import UserCreate  # noqa: E402
from jupyter_spaces.domain.service import SYSTEM, DomainService  # noqa: E402
from jupyter_spaces.domain.store import Store, sqlite_url  # noqa: E402

WORDS = ("alpha", "beta", "gamma", "delta", "omega", "lab", "model", "etl", "stats", "viz")
STATUSES = ("stopped",) * 8 + ("running", "failed")
APP_TYPES = ("jupyterlab",) * 3 + ("code-editor", "rstudio")
CALLER = "bench-user"  # the non-admin who calls
ADMIN = "bench-admin"


def fill(data_dir: Path, n_spaces: int, n_users: int, seed: int = 7) -> dict:
    """Create the store in ``data_dir`` and fill it; returns what the scenarios need."""
    rnd = random.Random(seed)
    store = Store(sqlite_url(data_dir / "spaces.sqlite"))
    store.migrate()
    service = DomainService(store, Catalog(DEFAULT_INSTANCE_TYPES, DEFAULT_IMAGES))
    tokens = {
        CALLER: service.create_user(SYSTEM, UserCreate(name=CALLER, display_name="Bench User"))["token"],
        ADMIN: service.create_user(SYSTEM, UserCreate(name=ADMIN, display_name="Bench Admin", admin=True))["token"],
    }
    palette = accounts.PALETTE
    with store.write() as s:
        s.execute(insert(User), [
            {"name": f"user-{i:03d}", "display_name": f"User {i:03d}", "initials": "U" + str(i % 10),
             "color": palette[i % len(palette)], "admin": False}
            for i in range(n_users - 2)
        ])
    with store.read() as s:
        user_ids = list(s.scalars(select(User.id).order_by(User.id)))
        caller_id = s.scalar(select(User.id).where(User.name == CALLER))
    t0 = datetime.now(timezone.utc) - timedelta(days=365)
    rows = []
    for i in range(n_spaces):
        created = t0 + timedelta(minutes=rnd.randrange(525_000))
        rows.append({
            "name": f"sp-{i:05d}-{rnd.choice(WORDS)}",
            "display_name": f"Space {i}",
            "owner_id": user_ids[i % len(user_ids)],
            "sharing": "shared" if rnd.random() < 0.3 else "private",
            "app_type": rnd.choice(APP_TYPES),
            "instance_type": "small",
            "image": "default",
            "volume_gb": 5,
            "idle_timeout_minutes": 60,
            "status": rnd.choice(STATUSES),
            "created": created,
            "updated": created,
            "last_activity": created + timedelta(minutes=rnd.randrange(10_000)),
            "volume_used_bytes": rnd.randrange(10**9),
        })
    with store.write() as s:
        s.execute(insert(Space), rows)
    with store.read() as s:
        shared = list(s.execute(select(Space.id, Space.name, Space.owner_id).where(Space.sharing == "shared")))
    members = []
    for k, (space_id, _name, owner_id) in enumerate(shared):
        if k % 3:
            continue
        for uid in rnd.sample(user_ids, 3):
            if uid != owner_id:
                members.append({"space_id": space_id, "user_id": uid, "role": rnd.choice(("editor", "viewer"))})
        if k % 9 == 0 and owner_id != caller_id:
            members.append({"space_id": space_id, "user_id": caller_id, "role": "editor"})
    # One membership row per (space, user).
    members = list({(m["space_id"], m["user_id"]): m for m in members}.values())
    with store.write() as s:
        s.execute(insert(Member), members)
    store.close()
    return {
        "tokens": tokens,
        "describe": shared[len(shared) // 2][1],
        "n_shared": len(shared),
        "n_members": len(members),
    }


def isolated_env(data_dir: Path) -> dict:
    """The server's Jupyter dirs inside ``data_dir``: nothing read from or left in ~/.jupyter."""
    jupyter = data_dir / "jupyter-home"
    return {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(jupyter / "config"),
        "JUPYTER_DATA_DIR": str(jupyter / "data"),
        "JUPYTER_RUNTIME_DIR": str(jupyter / "runtime"),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = open(data_dir / "server.log", "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_spaces.cli", "--data-dir", str(data_dir), "--port", str(port),
         "--ip", "127.0.0.1", "--no-browser"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=isolated_env(data_dir),
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the domain server exited ({proc.returncode}); see {data_dir / 'server.log'}")
        try:
            if httpx.get(url + "spaces/api/me", timeout=2).status_code == 403:
                if not (data_dir / "cookie_secret").exists():
                    proc.kill()
                    raise SystemExit(f"the domain server ignored --data-dir {data_dir}; see its log:\n"
                                     + (data_dir / "server.log").read_text(errors="replace")[-2000:])
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise SystemExit("the domain server did not start in time")


def later_page_cursor(http: httpx.Client, url: str, pages: int) -> str:
    cursor = None
    for _ in range(pages - 1):
        q = {"limit": 50, **({"cursor": cursor} if cursor else {})}
        r = http.get(url + "spaces/api/spaces", params=q)
        r.raise_for_status()
        cursor = r.json()["next_cursor"]
        if not cursor:
            raise SystemExit("not enough spaces for the later page; use more --spaces")
    return cursor


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spaces", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--requests", type=int, default=int(os.environ.get("BENCH_REQUESTS", 400)),
                        help="timed requests per scenario (default 400)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per scenario first")
    parser.add_argument("--page", type=int, default=20, help="which page the cursor scenario reads")
    args = parser.parse_args()

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-spaces-") as tmp:
        data = Path(tmp)
        t = time.monotonic()
        world = fill(data, args.spaces, args.users)
        fill_s = time.monotonic() - t
        print(f"store: {args.spaces} spaces ({world['n_shared']} shared), {args.users} users, "
              f"{world['n_members']} memberships; filled in {fill_s:.1f}s")
        proc, url = start_server(data)
        try:
            run(url, world, args)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    print(f"\ntotal {time.monotonic() - started:.0f}s on {os.cpu_count()} cores, "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def run(url: str, world: dict, args) -> None:
    clients = {
        who: httpx.Client(headers={"Authorization": f"token {world['tokens'][name]}"}, timeout=30)
        for who, name in (("user", CALLER), ("admin", ADMIN))
    }
    api = url + "spaces/api/"
    try:
        filtered = "spaces?sharing=shared&status=stopped&name_contains=7&limit=50"
        scenarios = []  # (label, caller, path)
        for who, http in clients.items():
            cursor = later_page_cursor(http, url, args.page)
            scenarios += [
                ("GET /api/me (anchor)", who, url + "api/me"),
                ("GET spaces (first page)", who, api + "spaces?limit=50"),
                ("GET spaces (filtered)", who, api + filtered),
                (f"GET spaces (page {args.page}, cursor)", who, api + f"spaces?limit=50&cursor={cursor}"),
                ("GET spaces/{name}", who, api + f"spaces/{world['describe']}"),
            ]
        for label, who, target in scenarios:  # every scenario answers, and say how much
            r = clients[who].get(target)
            if r.status_code != 200:
                raise SystemExit(f"{label} as {who}: {r.status_code} {r.text[:300]}")
        sizes = {(label, who): len(clients[who].get(target).json().get("items", [None])) for label, who, target
                 in scenarios if "spaces" in label and "{name}" not in label}
        for _ in range(args.warmup):
            for _label, who, target in scenarios:
                clients[who].get(target)
        times: dict[tuple[str, str], list[float]] = {(label, who): [] for label, who, _ in scenarios}
        for _ in range(args.requests):
            for label, who, target in scenarios:
                t = time.perf_counter()
                r = clients[who].get(target)
                dt = time.perf_counter() - t
                if r.status_code != 200:
                    raise SystemExit(f"{label} as {who}: {r.status_code}")
                times[(label, who)].append(dt * 1000)
    finally:
        for http in clients.values():
            http.close()

    print(f"\n{args.requests} requests per scenario after {args.warmup} warmup, interleaved, keep-alive\n")
    head = f"{'scenario':34} {'caller':6} {'items':>5} {'p50 ms':>8} {'p99 ms':>8} {'p50/anchor':>11} {'p99/anchor':>11}"
    print(head)
    print("-" * len(head))
    for who in clients:
        anchor = times[("GET /api/me (anchor)", who)]
        a50, a99 = pct(anchor, 0.5), pct(anchor, 0.99)
        for label, w, _ in scenarios:
            if w != who:
                continue
            v = times[(label, who)]
            p50, p99 = pct(v, 0.5), pct(v, 0.99)
            items = sizes.get((label, who), "")
            print(f"{label:34} {who:6} {items!s:>5} {p50:8.2f} {p99:8.2f} {p50 / a50:10.2f}x {p99 / a99:10.2f}x")
        print()
    user_first = statistics.median(times[("GET spaces (first page)", "user")])
    admin_first = statistics.median(times[("GET spaces (first page)", "admin")])
    print(f"admin/user p50 ratio for the first page: {admin_first / user_first:.2f}x")


if __name__ == "__main__":
    main()

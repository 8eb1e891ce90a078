"""Spaces that run: real sandboxed space servers started, stopped, resized, crashed, re-adopted."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time

import httpx
import pytest

from jupyter_spaces.domain.lifecycle import Lifecycle
from tests.domain.kernels import run_code

pytestmark = pytest.mark.slow


@pytest.fixture
def jp_server_config(jp_server_config, installed_python):
    """The conftest's domain (in-process), but with a real image, the project installed in
    a venv (tests/conftest.py), and quick crash checks."""
    config = {k: dict(v) for k, v in jp_server_config.items()}
    config["DomainApp"]["images"] = [
        {"name": "default", "display_name": "Installed", "description": "", "python": installed_python}
    ]
    config["DomainApp"]["poll_interval"] = 0.5
    config["DomainApp"]["idle_check_interval"] = 3600  # the idle test calls the check itself
    return config


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


async def wait_for_status(client, name, wanted, who="owner", timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        space = (await client.api("GET", f"spaces/{name}", who=who)).json()
        if space["status"] in wanted:
            return space
        await asyncio.sleep(0.25)
    pytest.fail(f"space {name} did not reach {wanted}; it is {space['status']}: {space['failure_reason']}")


async def create(client, name, who="owner", **fields):
    r = await client.api("POST", "spaces", who=who, body={"name": name, "sharing": "shared",
                                                        "app_type": "jupyterlab", "volume_gb": 1, **fields})
    assert r.status == 201, r.text
    return r.json()


async def test_start_stop_resize_keeps_files(client, world, lifecycle, service):
    await create(client, "work")
    r = await client.api("POST", "spaces/work/start", who="owner")
    assert r.status == 202 and r.json()["status"] == "starting"
    space = await wait_for_status(client, "work", {"running", "failed"})
    assert space["status"] == "running", space["failure_reason"]
    # Instance type, image and volume are fixed while it runs; the name is not.
    for body in ({"volume_gb": 2}, {"instance_type": "medium"}):
        r = await client.api("PATCH", "spaces/work", who="owner", body=body)
        assert r.status == 409 and "Stop space" in r.json()["message"]
    # A file written through the proxied contents API, and a bigger one from inside.
    r = await client.request("PUT", "spaces/work/api/contents/notes.txt", who="editor",
                             body={"type": "file", "format": "text", "content": "hello\n"})
    assert r.status == 201, r.text
    out = await lifecycle.launcher.run_in_sandbox("work", ["sh", "-c", "head -c 3000000 /dev/urandom > $HOME/data.bin"])
    assert out.returncode == 0, out
    # While it runs, the volume figure follows the volume, as df in the space reads it
    # (it was the last stop's figure; the check runs every usage_interval, called here).
    await lifecycle.check_usage()
    shown = (await client.api("GET", "spaces/work", who="owner")).json()["volume_used_bytes"]
    df = await lifecycle.launcher.run_in_sandbox("work", ["sh", "-c", "df -B1 --output=used $HOME | tail -1"])
    assert df.returncode == 0, df
    assert shown >= 3_000_000 and abs(shown - int(df.stdout)) < 2**20, (shown, df.stdout)
    r = await client.api("POST", "spaces/work/stop", who="editor")
    assert r.status == 202
    space = await wait_for_status(client, "work", {"stopped"})
    assert space["volume_used_bytes"] >= 3_000_000
    # Shrinking below the data is refused with how much is used; growing works.
    r = await client.api("PATCH", "spaces/work", who="owner", body={"volume_gb": 2, "instance_type": "medium"})
    assert r.status == 200, r.text
    assert r.json()["volume_gb"] == 2 and r.json()["instance_type"] == "medium"
    await client.api("POST", "spaces/work/start", who="owner")
    space = await wait_for_status(client, "work", {"running", "failed"})
    assert space["status"] == "running", space["failure_reason"]
    r = await client.request("GET", "spaces/work/api/contents/notes.txt", who="viewer")
    assert r.status == 200 and r.json()["content"] == "hello\n"
    assert (await client.api("GET", "spaces/work", who="owner")).json()["instance_type"] == "medium"
    await client.api("POST", "spaces/work/stop", who="owner")
    await wait_for_status(client, "work", {"stopped"})


async def test_shrink_below_the_data_is_409(client, world, lifecycle):
    await create(client, "full", volume_gb=2)
    await lifecycle.launcher.create_volume("full", 2)
    out = await lifecycle.launcher.run_in_sandbox(
        "full", ["sh", "-c", "head -c 1500000000 /dev/zero > $HOME/big.bin"]
    )
    assert out.returncode == 0, out
    r = await client.api("PATCH", "spaces/full", who="owner", body={"volume_gb": 1})
    assert r.status == 409, r.text
    body = r.json()
    assert body["volume_used_bytes"] >= 1_500_000_000 and "do not fit in 1 GiB" in body["message"]
    space = (await client.api("GET", "spaces/full", who="owner")).json()
    assert space["status"] == "stopped" and space["volume_gb"] == 2


async def test_events_stream_progress_and_status(client, world, lifecycle, jp_http_port, jp_base_url):
    await create(client, "watched")
    url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}spaces/api/spaces/watched/events"
    events = []
    async with httpx.AsyncClient(timeout=120) as http:
        async with http.stream("GET", url, headers={"Authorization": f"token {client.tokens['viewer']}"}) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            started = False
            event = None
            async for line in r.aiter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    events.append((event, json.loads(line[6:])))
                    if not started:
                        started = True
                        start = await client.api("POST", "spaces/watched/start", who="editor")
                        assert start.status == 202
                    if event == "status" and events[-1][1]["status"] in ("running", "failed"):
                        break
    assert events[0] == ("status", {**events[0][1], "status": "stopped"})
    statuses = [d["status"] for e, d in events if e == "status"]
    assert statuses[-1] == "running", events
    assert "starting" in statuses
    percents = [d["percent"] for e, d in events if e == "progress"]
    assert percents == sorted(percents) and percents[-1] == 100 and len(percents) >= 3
    assert all(d["message"] for e, d in events if e == "progress")


async def test_a_dead_space_server_is_noticed_within_seconds(client, world, lifecycle, service):
    await create(client, "fragile")
    await client.api("POST", "spaces/fragile/start", who="owner")
    await wait_for_status(client, "fragile", {"running"})
    pid = lifecycle._running["fragile"]["pid"]
    killed = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    space = await wait_for_status(client, "fragile", {"failed"}, timeout=30)
    # A bound on purpose: README promises a dead space server is noticed within a second
    # or two (the lifecycle's 1 s poll); 5 s leaves room for a loaded machine.
    assert time.monotonic() - killed < 5
    assert "signal 9" in space["failure_reason"] or "killed" in space["failure_reason"], space
    audit = (await client.api("GET", "audit?limit=5", who="admin")).json()["items"]
    assert any(e["action"] == "space.crashed" and e["target"] == "fragile" for e in audit)
    # A failed space starts again.
    await client.api("POST", "spaces/fragile/start", who="owner")
    assert (await wait_for_status(client, "fragile", {"running", "failed"}))["status"] == "running"


async def test_stop_while_starting_cancels_the_start(client, world, lifecycle):
    await create(client, "hasty")
    r = await client.api("POST", "spaces/hasty/start", who="owner")
    assert r.status == 202 and r.json()["status"] == "starting"
    deadline = time.monotonic() + 60
    while not (pid := lifecycle.launcher._read_state_file("hasty").get("pid")):  # its server is spawned
        assert time.monotonic() < deadline, "the space server was never spawned"
        await asyncio.sleep(0.05)
    r = await client.api("POST", "spaces/hasty/stop", who="owner")
    assert r.status == 202 and r.json()["status"] == "stopping", r.text
    space = await wait_for_status(client, "hasty", {"stopped", "failed"}, timeout=30)
    assert space["status"] == "stopped" and not space["failure_reason"], space
    await lifecycle.settle()
    assert not alive(pid) and "hasty" not in lifecycle._running
    with open("/proc/mounts") as mounts:
        assert "/mounts/hasty" not in mounts.read()
    # and it starts normally afterwards
    await client.api("POST", "spaces/hasty/start", who="owner")
    assert (await wait_for_status(client, "hasty", {"running", "failed"}))["status"] == "running"


async def test_idle_space_is_stopped(client, world, lifecycle):
    await create(client, "sleepy", idle_timeout_minutes=1)
    await create(client, "awake", idle_timeout_minutes=0)
    for name in ("sleepy", "awake"):
        await client.api("POST", f"spaces/{name}/start", who="owner")
    for name in ("sleepy", "awake"):
        await wait_for_status(client, name, {"running"})
    await lifecycle.check_idle()  # now: nothing has been idle for a minute
    assert (await client.api("GET", "spaces/sleepy", who="owner")).json()["status"] == "running"
    await lifecycle.check_idle(now=time.time() + 120)  # two minutes on, nobody came
    await lifecycle.settle()
    assert (await client.api("GET", "spaces/sleepy", who="owner")).json()["status"] == "stopped"
    assert (await client.api("GET", "spaces/awake", who="owner")).json()["status"] == "running"
    audit = (await client.api("GET", "audit?limit=10", who="admin")).json()["items"]
    assert any(e["action"] == "space.idle_stop" and e["target"] == "sleepy" for e in audit)
    # and the space's status events say why (a page in the space tells its users)
    assert lifecycle.with_cause("sleepy", {"status": "stopped"})["stopped_by"] == {"kind": "idle", "minutes": 1}


async def test_domain_restart_adopts_running_spaces_and_leaves_no_orphan(client, world, lifecycle, domain, service):
    for name in ("kept", "lost"):
        await create(client, name)
        await client.api("POST", f"spaces/{name}/start", who="owner")
    for name in ("kept", "lost"):
        await wait_for_status(client, name, {"running"})
    kept_pid = lifecycle._running["kept"]["pid"]
    lost_state = lifecycle._running["lost"]
    lost_pid = lost_state["pid"]
    # The domain goes away (its checks stop; spaces keep running) ...
    await lifecycle.stop()
    os.kill(lost_pid, signal.SIGKILL)  # ... and one space dies while it is away.
    while alive(lost_pid):
        await asyncio.sleep(0.05)
    # A new domain process: a fresh launcher object on the same store and directories.
    from jupyter_spaces.domain.config import DomainConfig

    settings = DomainConfig(data_dir=str(service.store.url.split("///")[1].rsplit("/", 1)[0]))
    again = Lifecycle(service, settings.make_launcher(), domain.run, base_url=lifecycle.base_url)
    await again.adopt()
    assert (await client.api("GET", "spaces/kept", who="owner")).json()["status"] == "running"
    assert (await client.api("GET", "spaces/lost", who="owner")).json()["status"] == "stopped"
    assert alive(kept_pid) and set(again._running) == {"kept"}
    assert not alive(lost_pid)
    # Nothing of "lost" is left mounted.
    with open("/proc/mounts") as mounts:
        assert "/mounts/lost" not in mounts.read()
    lifecycle._running = dict(again._running)  # let the fixture stop what runs
    await lifecycle.launcher.poll("lost", lost_state)  # reap our (the old domain's) dead child


async def test_ten_spaces_start_at_once(client, world, lifecycle):
    names = [f"many-{i}" for i in range(10)]
    for name in names:
        await create(client, name)
    results = await asyncio.gather(*(client.api("POST", f"spaces/{n}/start", who="owner") for n in names))
    assert all(r.status == 202 for r in results)
    spaces = [await wait_for_status(client, n, {"running", "failed"}, timeout=240) for n in names]
    assert [s["status"] for s in spaces] == ["running"] * 10, [s["failure_reason"] for s in spaces]
    ports = {lifecycle._running[n]["port"] for n in names}
    assert len(ports) == 10


async def test_coediting_and_presence_through_the_proxy(client, world, lifecycle, jp_http_port, jp_base_url):
    from tests.collab.client import CollabClient, wait_until

    await create(client, "together")
    r = await client.api("PUT", "spaces/together/members/vera", who="owner", body={"role": "viewer"})
    assert r.status == 200
    await client.api("POST", "spaces/together/start", who="owner")
    await wait_for_status(client, "together", {"running"})
    notebook = {"type": "notebook", "content": {
        "nbformat": 4, "nbformat_minor": 5, "metadata": {},
        "cells": [{"cell_type": "code", "id": "c1", "source": "", "metadata": {}, "outputs": [], "execution_count": None}],
    }}
    r = await client.request("PUT", "spaces/together/api/contents/shared.ipynb", who="owner", body=notebook)
    assert r.status == 201, r.text
    base = f"http://127.0.0.1:{jp_http_port}{jp_base_url}spaces/together/"
    alice = await CollabClient(base, "shared.ipynb", token=client.tokens["owner"]).open()
    eddie = await CollabClient(base, "shared.ipynb", token=client.tokens["editor"]).open()
    vera = await CollabClient(base, "shared.ipynb", token=client.tokens["viewer"]).open()
    try:
        with alice.doc.transaction():
            source = alice.model.ycells[0]["source"]
            source += "alice = 1\n"
        with eddie.doc.transaction():
            source = eddie.model.ycells[0]["source"]
            source += "eddie = 2\n"
        with vera.doc.transaction():
            source = vera.model.ycells[0]["source"]
            source += "vera = 3\n"  # refused by the server
        await wait_until(lambda: all("eddie = 2" in c.model.ycells[0]["source"].to_py()
                                     and "alice = 1" in c.model.ycells[0]["source"].to_py() for c in (alice, eddie)))
        assert "vera" not in alice.model.ycells[0]["source"].to_py()
        r = await client.api("GET", "spaces/together/presence", who="other")
        assert r.status == 200, r.text
        people = {p["user"]["name"]: p for p in r.json()["items"]}
        assert {"alice", "eddie", "vera"} <= set(people)
        assert people["eddie"]["user"]["display_name"] == "Eddie Editor" and people["eddie"]["role"] == "editor"
        assert people["vera"]["role"] == "viewer" and people["alice"]["role"] == "owner"
        assert any("shared.ipynb" in d for d in people["eddie"]["documents"])
        saved = await alice.save()
        assert saved.get("status") in ("success", "skipped"), saved
        await wait_until(lambda: True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            r = await client.request("GET", "spaces/together/api/contents/shared.ipynb", who="viewer")
            source = r.json()["content"]["cells"][0]["source"]
            if "alice = 1" in source and "eddie = 2" in source:
                break
            await asyncio.sleep(0.3)
        assert "alice = 1" in source and "eddie = 2" in source and "vera" not in source
    finally:
        for c in (alice, eddie, vera):
            await c.disconnect()


ISOLATION_PROBE = r'''
import json, os, urllib.request, urllib.error
skip = ("/proc", "/sys", "/dev")
found = []
for root, dirs, files in os.walk("/"):
    dirs[:] = [d for d in dirs if os.path.join(root, d) not in skip]
    found += [os.path.join(root, f) for f in files if f.startswith("marker-b-")]
def status(url, headers):
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10).status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError as e:
        return str(e)
forged = {"X-Jupyter-Spaces-Identity": "eyJuYW1lIjoicm9vdCJ9", "X-Jupyter-Spaces-Signature": "v1=00",
          "X-Jupyter-Spaces-Timestamp": "0", "X-Jupyter-Spaces-Nonce": "n", "X-Forwarded-User": "root"}
print(json.dumps({
    "found": found,
    "uid": os.getuid(),
    "data_dir_visible": os.path.exists(DATA_DIR),
    "database_visible": os.path.exists(DATA_DIR + "/spaces.sqlite"),
    "domain_api": status(DOMAIN + "spaces/api/users", forged),
    "domain_audit": status(DOMAIN + "spaces/api/audit", forged),
    "other_space_direct": status(B_SERVER + B_BASE + "api/contents", forged),
    "other_space_proxy": status(DOMAIN + "spaces/space-b/api/contents", forged),
}))
'''


async def test_a_kernel_cannot_reach_other_spaces_or_the_domain(client, world, lifecycle, service, jp_http_port):
    await create(client, "space-a")
    await create(client, "space-b", who="other", sharing="private")
    for name, who in (("space-a", "owner"), ("space-b", "other")):
        await client.api("POST", f"spaces/{name}/start", who=who)
    for name, who in (("space-a", "owner"), ("space-b", "other")):
        assert (await wait_for_status(client, name, {"running", "failed"}, who=who))["status"] == "running"
    r = await client.request("PUT", "spaces/space-b/api/contents/marker-b-7f3.txt", who="other",
                             body={"type": "file", "format": "text", "content": "the secret of b"})
    assert r.status == 201, r.text
    data_dir = service.store.url.split("///")[1].rsplit("/", 1)[0]
    b_server = next(s for s in service.active_spaces() if s["name"] == "space-b")
    code = (f"DATA_DIR = {data_dir!r}\nDOMAIN = 'http://127.0.0.1:{jp_http_port}{client.base_url}'\n"
            f"B_SERVER = {b_server['server_url']!r}\nB_BASE = '{client.base_url}spaces/space-b/'\n"
            + ISOLATION_PROBE)
    out = await run_code(client, jp_http_port, "space-a", "owner", code)
    assert out["error"] is None, out
    seen = json.loads(out["stdout"])
    assert seen["found"] == [], seen  # B's file is nowhere in A's filesystem
    assert seen["uid"] != 0 and not seen["data_dir_visible"] and not seen["database_visible"]
    # Forged identity headers get nothing from the domain, B's server or the proxy.
    assert seen["domain_api"] == 403 and seen["domain_audit"] == 403
    assert seen["other_space_direct"] == 403 and seen["other_space_proxy"] == 403


async def test_kernel_past_its_memory_dies_and_a_full_volume_is_a_clean_save_error(client, world, lifecycle, jp_http_port):
    await create(client, "limits", volume_gb=1)
    await client.api("POST", "spaces/limits/start", who="owner")
    assert (await wait_for_status(client, "limits", {"running", "failed"}))["status"] == "running"
    # small: 2 GB. The kernel is killed, the space server keeps serving.
    out = await run_code(client, jp_http_port, "limits", "owner",
                         "b = bytearray(3 * 1024**3)\nprint('survived')", timeout=120)
    assert "survived" not in out["stdout"], out
    r = await client.request("GET", "spaces/limits/api/status", who="owner")
    assert r.status == 200
    space = (await client.api("GET", "spaces/limits", who="owner")).json()
    assert space["status"] == "running"
    # Fill the volume from a kernel, then save through Jupyter's contents API.
    out = await run_code(client, jp_http_port, "limits", "owner",
                         "import os\ntry:\n    with open(os.path.expanduser('~/fill.bin'), 'wb') as f:\n"
                         "        while True: f.write(b'x' * (1 << 20))\nexcept OSError as e:\n    print(e.errno)")
    assert out["stdout"].strip() == "28", out  # ENOSPC: the hard limit of the volume
    r = await client.request("PUT", "spaces/limits/api/contents/notes.txt", who="owner",
                             body={"type": "file", "format": "text", "content": "x" * 2_000_000})  # over the < 1 MiB left
    assert r.status == 507, r.text
    assert "volume is full" in r.json()["message"]
    r = await client.request("GET", "spaces/limits/api/contents", who="owner")
    assert r.status == 200

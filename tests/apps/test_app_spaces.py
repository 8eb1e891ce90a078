"""Code Editor (code-server) and MLflow spaces with real processes: created, started in the
local launcher's sandbox behind the gate, opened through the domain proxy, stopped and
started again with their files kept; the viewer and privacy rules of each app."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time

import pytest
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from jupyter_spaces import apps
from jupyter_spaces.launchers import appspaces
from tests.domain.conftest import client, domain, service, world  # noqa: F401 (fixtures)
from tests.domain.kernels import run_code
from tests.domainconfig import domain_server_config, lifecycle_running

pytestmark = pytest.mark.slow

needs_code_server = pytest.mark.skipif(
    not apps.CODE_EDITOR.find_program(),
    reason="code-server is not installed (scripts/install-apps.sh)",
)
needs_mlflow = pytest.mark.skipif(
    not apps.MLFLOW.find_program(),
    reason="mlflow is not installed (scripts/install-apps.sh)",
)


@pytest.fixture
def jp_server_config(tmp_path, installed_python):
    """A domain (in-process) whose spaces run the project installed in a venv."""
    return domain_server_config(
        tmp_path / "domain", python=installed_python, domain={"poll_interval": 0.5, "idle_check_interval": 3600}
    )


@pytest.fixture
def lifecycle(domain, jp_asyncio_loop):
    for _ in lifecycle_running(domain.lifecycle, jp_asyncio_loop):
        yield domain.lifecycle


async def wait_for_status(client, name, wanted, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        space = (await client.api("GET", f"spaces/{name}", who="owner")).json()
        if space["status"] in wanted:
            return space
        await asyncio.sleep(0.25)
    pytest.fail(
        f"space {name} did not reach {wanted}; it is {space['status']}: {space['failure_reason']}"
    )


async def start(client, name):
    r = await client.api("POST", f"spaces/{name}/start", who="owner")
    assert r.status == 202, r.text
    space = await wait_for_status(client, name, {"running", "failed"})
    assert space["status"] == "running", space["failure_reason"]


async def stop(client, name):
    r = await client.api("POST", f"spaces/{name}/stop", who="owner")
    assert r.status == 202, r.text
    await wait_for_status(client, name, {"stopped"})


async def create(client, name, app_type, sharing="shared", **fields):
    r = await client.api(
        "POST",
        "spaces",
        who="owner",
        body={"name": name, "sharing": sharing, "app_type": app_type, "volume_gb": 1, **fields},
    )
    assert r.status == 201, r.text


JSON = {"Content-Type": "application/json"}


def space_pids(lifecycle, name) -> list[int]:
    """Every process of the space's uid (the sandbox switches to it)."""
    uid = lifecycle.launcher.records.read(name).get("uid")
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    pids.append(int(entry))
            except FileNotFoundError:
                pass
    return pids


@needs_code_server
async def test_code_editor_space_through_the_proxy(
    client, world, lifecycle, jp_http_port, jp_base_url
):
    await create(client, "editor", "code-editor", idle_timeout_minutes=30)
    assert (
        await client.api(
            "PUT", "spaces/editor/members/vera", who="owner", body={"role": "viewer"}
        )
    ).status == 200
    await start(client, "editor")
    # code-server serves at "/": the gate strips the prefix; its redirect stays relative
    r = await client.request("GET", "spaces/editor/", who="editor")
    assert r.status == 302, r.text
    r = await client.request("GET", "spaces/editor/?folder=/home/jovyan", who="editor")
    assert r.status == 200 and "code-server" in r.text, r.text[:300]
    # VS Code's connection: a websocket through the domain proxy and the gate
    url = f"ws://127.0.0.1:{jp_http_port}{jp_base_url}spaces/editor/?reconnectionToken=t1&reconnection=false&skipWebSocketFrames=false"
    ws = await websocket_connect(
        HTTPRequest(url, headers={"Authorization": f"token {client.tokens['editor']}"})
    )
    try:
        assert ws.protocol is not None  # 101: the upgrade went through both hops
    finally:
        ws.close()
    # a viewer is refused, and told why
    r = await client.request("GET", "spaces/editor/?folder=/home/jovyan", who="viewer")
    assert r.status == 403 and "no read-only mode" in r.text
    # the user data starts with extensions' telemetry off (--disable-telemetry does not
    # reach them); a user's own settings are theirs: a restart keeps them as written
    settings = "$HOME/.local/share/code-server/User/settings.json"
    out = await lifecycle.launcher.run_in_sandbox("editor", ["sh", "-c", f"cat {settings}"])
    assert json.loads(out.stdout) == {"telemetry.telemetryLevel": "off"}, out
    # a file on the volume survives stop and start; the app's data lives on the volume
    out = await lifecycle.launcher.run_in_sandbox(
        "editor", ["sh", "-c", f"echo kept > $HOME/notes.txt; echo '{{}}' > {settings}"]
    )
    assert out.returncode == 0, out
    await stop(client, "editor")
    assert (
        space_pids(lifecycle, "editor") == []
    )  # the extension host went with the rest
    await start(client, "editor")
    out = await lifecycle.launcher.run_in_sandbox(
        "editor",
        [
            "sh",
            "-c",
            f"cat $HOME/notes.txt {settings}; test -d $HOME/.local/share/code-server/User && echo userdata",
        ],
    )
    assert out.stdout.split() == ["kept", "{}", "userdata"], out
    # idle shutdown reads code-server's own signal, its heartbeat file, through the gate
    later = time.time() + 31 * 60
    out = await lifecycle.launcher.run_in_sandbox(
        "editor", ["sh", "-c", f"touch -d @{int(later) - 60} $HOME/.local/share/code-server/heartbeat"]
    )
    assert out.returncode == 0, out
    await lifecycle.check_idle(now=later)
    assert (await client.api("GET", "spaces/editor", who="owner")).json()["status"] == "running"
    await lifecycle.check_idle(now=later + 30 * 60)
    await wait_for_status(client, "editor", {"stopped"})


LOG_RUN = """
import mlflow
mlflow.set_experiment("from-a-client")
with mlflow.start_run(run_name="r1") as run:
    mlflow.log_metric("loss", 0.25)
    mlflow.log_text("hello", "notes.txt")
print(run.info.run_id)
"""


async def log_run(url: str, token: str) -> subprocess.CompletedProcess:
    """MLflow's own client (from the MLflow install) logs a run with a domain API token."""
    python = appspaces.program_python(apps.MLFLOW.find_program())
    env = {"PATH": os.environ["PATH"], "MLFLOW_TRACKING_URI": url, "MLFLOW_TRACKING_TOKEN": token,
           "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "HOME": os.environ.get("HOME", "/tmp")}  # fmt: skip
    return await asyncio.to_thread(
        subprocess.run, [python, "-c", LOG_RUN], env=env, capture_output=True, text=True, timeout=120
    )


@needs_mlflow
async def test_mlflow_space_through_the_proxy(client, world, lifecycle, jp_http_port, jp_base_url):
    await create(client, "tracking", "mlflow")
    assert (
        await client.api(
            "PUT", "spaces/tracking/members/vera", who="owner", body={"role": "viewer"}
        )
    ).status == 200
    await start(client, "tracking")
    r = await client.request(
        "GET", "spaces/tracking/", who="editor"
    )  # --static-prefix: the prefix is kept
    assert r.status == 200 and "<html" in r.text.lower(), r.text[:300]
    r = await client.request(
        "POST",
        "spaces/tracking/api/2.0/mlflow/experiments/create",
        who="editor",
        body={"name": "exp-1"}, headers=JSON,
    )
    assert r.status == 200, r.text
    # a viewer browses (the UI's searches are POSTs that only read) and cannot write
    r = await client.request(
        "POST",
        "spaces/tracking/ajax-api/2.0/mlflow/experiments/search",
        who="viewer",
        body={"max_results": 10}, headers=JSON,
    )
    assert r.status == 200 and "exp-1" in r.text, r.text
    r = await client.request(
        "POST",
        "spaces/tracking/api/2.0/mlflow/experiments/create",
        who="viewer",
        body={"name": "nope"}, headers=JSON,
    )
    assert r.status == 403, r.text
    # a tracking client logs a run as the token's user; a viewer's token cannot
    url = f"http://localhost:{jp_http_port}{jp_base_url}spaces/tracking"
    done = await log_run(url, client.tokens["editor"])
    assert done.returncode == 0, done.stderr[-2000:]
    run_id = done.stdout.split()[-1]
    refused = await log_run(url, client.tokens["viewer"])
    assert refused.returncode != 0 and "read-only for viewers" in refused.stderr, refused.stderr[-2000:]
    # the run is the token's user's, whatever the client said (it says the OS user), and stays so
    r = await client.request("GET", f"spaces/tracking/api/2.0/mlflow/runs/get?run_id={run_id}", who="owner")
    info, tags = r.json()["run"]["info"], {t["key"]: t["value"] for t in r.json()["run"]["data"]["tags"]}
    assert (info["user_id"], tags["mlflow.user"]) == ("eddie", "eddie"), r.text
    r = await client.request("POST", "spaces/tracking/api/2.0/mlflow/runs/set-tag", who="owner", headers=JSON,
                             body={"run_id": run_id, "key": "mlflow.user", "value": "alice"})  # fmt: skip
    assert r.status == 403 and "set by the domain" in r.json()["message"], r.text
    r = await client.request("POST", "spaces/tracking/api/2.0/mlflow/runs/set-tag", who="owner", headers=JSON,
                             body={"run_id": run_id, "key": "reviewed", "value": "yes"})  # fmt: skip
    assert r.status == 200, r.text
    r = await client.request("POST", "spaces/tracking/api/2.0/mlflow/runs/create", who="owner", headers=JSON,
                             raw=b"not json")  # fmt: skip
    assert r.status == 400 and r.json()["message"] == "The body is not a JSON object.", r.text
    await stop(client, "tracking")
    await start(client, "tracking")
    r = await client.request("GET", f"spaces/tracking/api/2.0/mlflow/runs/get?run_id={run_id}", who="viewer")
    assert r.status == 200 and r.json()["run"]["data"]["metrics"][0]["value"] == 0.25, r.text
    experiment = r.json()["run"]["info"]["experiment_id"]
    r = await client.request(
        "GET", f"spaces/tracking/api/2.0/mlflow-artifacts/artifacts/{experiment}/{run_id}/artifacts/notes.txt", who="viewer"
    )
    assert r.status == 200 and r.text == "hello", (r.status, r.text[:300])
    r = await client.request(
        "GET",
        "spaces/tracking/api/2.0/mlflow/experiments/get-by-name?experiment_name=exp-1",
        who="owner",
    )
    assert r.status == 200, r.text
    out = await lifecycle.launcher.run_in_sandbox(
        "tracking", ["sh", "-c", "ls $HOME/mlflow"]
    )
    assert "mlflow.db" in out.stdout.split(), out
    await stop(client, "tracking")


async def test_private_app_spaces_are_hidden_from_admins(client, world):
    for app_type in ("code-editor", "mlflow"):
        name = f"mine-{app_type}"
        await create(client, name, app_type, sharing="private")
        r = await client.request("GET", f"spaces/{name}/", who="admin")
        assert r.status == 404, r.text
        r = await client.request("GET", f"spaces/{name}/", who="owner")
        assert r.status == 409, r.text  # the owner's is there, just not running


# A notebook in a JupyterLab space logs to an MLflow space of the same domain the way a
# user does it without the MLflow client (the demo images do not have it): MLflow's REST
# API with the standard library, at the domain's address, with the user's API token.
KERNEL_LOGS_A_RUN = r"""
import json, urllib.request, urllib.error
URL, TOKEN = {url!r}, {token!r}

def mlflow(route, body, token=TOKEN, base=URL):
    headers = {{"Content-Type": "application/json"}}
    if token:
        headers["Authorization"] = "token " + token
    req = urllib.request.Request(base + "/api/2.0/mlflow/" + route, json.dumps(body).encode(), headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()[:300]

refused = {{"no token": mlflow("experiments/create", {{"name": "nb"}}, token=None),
            "the app's port, unsigned": mlflow("experiments/create", {{"name": "nb"}}, base={direct!r})}}
status, exp = mlflow("experiments/create", {{"name": "from-a-notebook"}})
assert status == 200, (status, exp)
status, run = mlflow("runs/create", {{"experiment_id": exp["experiment_id"], "run_name": "nb-run",
                                     "user_id": "eddie", "start_time": 1}})
assert status == 200, (status, run)
run_id = run["run"]["info"]["run_id"]
for step, loss in enumerate((0.5, 0.25)):
    assert mlflow("runs/log-metric", {{"run_id": run_id, "key": "loss", "value": loss, "timestamp": 2 + step,
                                      "step": step}})[0] == 200
assert mlflow("runs/update", {{"run_id": run_id, "status": "FINISHED", "end_time": 9}})[0] == 200
print(json.dumps({{"run_id": run_id, "refused": {{k: v[0] for k, v in refused.items()}}}}))
"""


@needs_mlflow
async def test_a_notebook_logs_a_run_to_an_mlflow_space(client, world, lifecycle, jp_http_port, jp_base_url):
    await create(client, "tracking", "mlflow")
    await create(client, "notebooks", "jupyterlab", sharing="private")
    await asyncio.gather(start(client, "tracking"), start(client, "notebooks"))
    # the kernel's sandbox shares the host's network: the domain's address is reachable,
    # the MLflow space's own port is too, but answers nothing unsigned
    port = lifecycle.launcher.records.read("tracking")["port"]
    direct = f"http://127.0.0.1:{port}{jp_base_url}spaces/tracking"
    code = KERNEL_LOGS_A_RUN.format(url=f"http://127.0.0.1:{jp_http_port}{jp_base_url}spaces/tracking",
                                    token=client.tokens["owner"], direct=direct)
    out = await run_code(client, jp_http_port, "notebooks", "owner", code)
    assert out["error"] is None and out["stdout"], out
    logged = json.loads(out["stdout"].strip().splitlines()[-1])
    assert logged["refused"] == {"no token": 403, "the app's port, unsigned": 403}, logged
    for restarted in (False, True):
        if restarted:
            await stop(client, "tracking")
            await start(client, "tracking")
        r = await client.request("GET", f"spaces/tracking/api/2.0/mlflow/runs/get?run_id={logged['run_id']}", who="viewer")
        assert r.status == 200, r.text
        run = r.json()["run"]
        assert run["info"]["run_name"] == "nb-run" and run["info"]["status"] == "FINISHED", run
        assert [m["value"] for m in run["data"]["metrics"]] == [0.25], run  # the latest value
        assert run["info"]["user_id"] == "alice", run  # the token's user, not the "eddie" it claimed
        r = await client.request(
            "GET", f"spaces/tracking/ajax-api/2.0/mlflow/metrics/get-history?run_id={logged['run_id']}&metric_key=loss",
            who="viewer")
        assert [m["value"] for m in r.json()["metrics"]] == [0.5, 0.25], r.text

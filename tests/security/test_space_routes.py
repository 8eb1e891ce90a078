"""Every route of a running space server against the space's route table (issue 12).

A real space server runs as a subprocess, started as the local launcher starts one
(``jupyter lab`` with the agent, the launcher's config file with the domain's default
agent config, so collaboration; and whatever else the environment enables:
terminals, jupyter_lsp, ...). A test-only extension (``tests/security/routecheck.py``)
writes the rules of that running application to a file; each must be in the table,
and each is called by anonymous (unsigned), viewer, editor and owner, signed as the
domain's proxy signs, with every method (websocket upgrades included): the table's
refusals must be exactly where the table says, and what got through must keep the
table's promises (anonymous nothing, a viewer no writes, editor as owner, nobody
installs, builds or shuts down), so that an entry changed in the table fails too.
Requests name kernels, sessions,
terminals and files that do not exist and carry bodies that are not JSON, so an
admitted request stops in its handler and starts or changes nothing.

(In-process, with pytest-jupyter's ``jp_serverapp``, the same calls all waited out
their timeout: that fixture binds the port but serves it only when a test also asks
for its ``http_server`` fixture, which ``jp_fetch`` pulls in and a raw client does
not. A subprocess is also the server the launcher runs, with the extensions that
load there: jupyter_lsp fails to load under pytest, whose warnings are errors.)
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from traitlets.config import Config

from jupyter_spaces import routes
from jupyter_spaces.signing import generate_secret, sign_request
from jupyter_spaces.space import routes as space_routes
from tests.installed import pythonpath_of_tests
from tests.processes import stop
from tests.space.conftest import IDENTITIES
from tests.space.conftest import fetch, space_secret  # noqa: F401  (fixtures)
from tests.space.conftest import jp_server_config as _space_config

from .routecheck import DUMP_ENV, Target, check_every_rule

pytestmark = pytest.mark.filterwarnings("ignore:Extension endpoints without @allow_unauthenticated")

SPACE = "demo"
BASE_URL = f"/spaces/{SPACE}/"
# The identity provider's answer to an unsigned request, raised when the table asks who calls.
UNSIGNED = "This space accepts only requests through the jupyter-spaces domain"


@pytest.fixture(scope="module")
def space_server(tmp_path_factory, installed_python):
    """A space server as the local launcher starts one (without the sandbox), on the project
    installed in a venv (tests/conftest.py): its port, secret, process and the targets its
    application wrote."""
    tmp = tmp_path_factory.mktemp("space-routes")
    home = tmp / "home"
    (home / ".jupyter" / "lab").mkdir(parents=True)
    config_dir = tmp / "config"
    config_dir.mkdir()
    # The launcher's config file (LocalLauncher._spawn) with the domain's default agent config.
    (config_dir / "jupyter_server_config.json").write_text(json.dumps({
        "LabApp": {"news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"},
        "NotebookNotary": {"data_dir": str(home / ".local" / "share" / "jupyter")},
        "ServerApp": {"jpserver_extensions": {"jupyter_spaces.collab": True}},
    }))  # fmt: skip
    dump = tmp / "routes.json"
    env = {
        **os.environ,
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(config_dir),
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "JUPYTER_DATA_DIR": str(tmp / "data"),
        # tests.security.routecheck, and nothing else of the checkout
        "PYTHONPATH": pythonpath_of_tests(tmp / "pythonpath"),
        DUMP_ENV: str(dump),
    }
    env.pop("JUPYTER_TOKEN", None)
    secret = generate_secret()
    read_end, write_end = os.pipe()
    os.write(write_end, secret.encode())
    os.close(write_end)
    command = [
        installed_python, "-m", "jupyterlab",
        "--no-browser", "--allow-root",
        "--ServerApp.ip=127.0.0.1", "--ServerApp.port=0", "--ServerApp.port_retries=0",
        f"--ServerApp.base_url={BASE_URL}",
        f"--ServerApp.root_dir={home}",
        f"--LabApp.user_settings_dir={home}/.jupyter/lab/user-settings",
        f"--LabApp.workspaces_dir={home}/.jupyter/lab/workspaces",
        "--ServerApp.jpserver_extensions=jupyter_spaces=False",
        "--KernelManager.transport=ipc",
        "--ServerApp.jpserver_extensions=jupyter_spaces.space=True",
        f"--SpaceAgentApp.space_name={SPACE}",
        f"--SpaceAgentApp.secret_fd={read_end}",
        # Test-only: writes the running application's rules to $JUPYTER_SPACES_ROUTE_DUMP.
        "--ServerApp.jpserver_extensions=tests.security.routecheck=True",
    ]  # fmt: skip
    log = (tmp / "server.log").open("wb")
    proc = subprocess.Popen(command, env=env, pass_fds=(read_end,), stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    os.close(read_end)
    try:
        deadline = time.monotonic() + 90
        while not dump.exists():
            assert proc.poll() is None, "the space server exited:\n" + (tmp / "server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the space server wrote no routes"
            time.sleep(0.2)
        listed = json.loads(dump.read_text())
        port = _port_of(tmp / "runtime", proc.pid)
        yield {"port": port, "secret": secret, "proc": proc, "log": tmp / "server.log", "dump": dump,
               "targets": [Target.from_json(t) for t in listed["targets"]]}  # fmt: skip
    finally:
        stop(proc)
        log.close()


def _port_of(runtime: Path, pid: int) -> int:
    """The port the server picked (port 0), from the server file it writes once listening."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for info in runtime.glob(f"jpserver-{pid}.json"):
            try:
                return json.loads(info.read_text())["port"]
            except (ValueError, KeyError):
                pass
        time.sleep(0.1)
    raise AssertionError("the space server wrote no server file")


# Open to every caller: the handler itself checks the domain's own signature on the notice.
REVOKE = ("/api/spaces-agent/revoke", "POST")
# All that a viewer may do beyond GET and HEAD.
VIEWER_BEYOND_READING = {
    ("/api/collaboration/session/(.*)", "PUT"),  # open a document; its room refuses their edits
    ("/api/collaboration/room/(.*)", routes.WEBSOCKET),  # join it, read-only
    ("/api/events/subscribe", routes.WEBSOCKET),  # the table lets it through; the authorizer decides
    REVOKE,
}
# What nobody may do in a space: pip in the image, build JupyterLab, stop the server, read metrics.
NOBODY = {
    *(("/lab/api/extensions", verb) for verb in routes.WRITE),
    *(("/lab/api/build", verb) for verb in routes.WRITE),
    *(("/api/shutdown", verb) for verb in (*routes.WRITE, *routes.READ)),
    *(("/metrics", verb) for verb in routes.READ),
}


def signed_as(secret):
    def auth(role, verb, path):
        if role == "anonymous":
            return {}
        method = "GET" if verb == routes.WEBSOCKET else verb
        return sign_request(secret, SPACE, method, path, IDENTITIES[role])

    return auth


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_every_route_role_and_method(space_server):
    found = space_server["targets"]
    handlers = {t.handler for t in found}
    # What the launcher's server loads: the agent, collaboration, JupyterLab, terminals, jupyter_lsp.
    for expected in ("jupyter_spaces.space.whoami.IdentityHandler", "jupyter_spaces.collab.handlers.RoomHandler",
                     "jupyterlab_server.settings_handler.SettingsHandler", "jupyter_lsp.handlers.LanguageServersHandler",
                     "jupyter_server_terminals.handlers.TermSocket"):  # fmt: skip
        assert expected in handlers
    unclassified = sorted({(t.pattern, t.handler) for t in found if space_routes.TABLE.lookup(t.pattern, t.handler) is None})
    assert unclassified == [], "routes not in jupyter_spaces/space/routes.py"
    assert [t.pattern for t in found if not t.guarded] == [], "rules the table does not guard"
    assert sum(t.path is not None for t in found) > 60

    started, replies = time.monotonic(), []
    wrong, sent = asyncio.run(check_every_rule(
        space_server["port"], found, space_routes.TABLE, lambda target: space_routes.ROLES,
        signed_as(space_server["secret"]), extra_messages=(UNSIGNED,), concurrency=16, timeout=5,
        replies=replies,
    ))  # fmt: skip
    elapsed = time.monotonic() - started
    assert wrong == [], "\n".join(map(str, wrong))
    assert sent > 1000
    assert space_server["proc"].poll() is None, "the space server died"
    time.sleep(1.5)  # the extension's next look at the rules
    now = [Target.from_json(t) for t in json.loads(space_server["dump"].read_text())["targets"]]
    assert now == found, "the server's rules changed after it started"
    still = sorted({(t.pattern, r, v) for t, r, v, reply, _ in replies if reply.status == -1})
    print(f"{sent} requests in {elapsed:.1f} s; still at work after 5 s: {still}")

    # The table's promises (jupyter_spaces/space/routes.py), checked on what the server let
    # through, so that an entry changed in the table (which the server then enforces) fails too.
    admitted = {role: set() for role in space_routes.ROLES}
    for target, role, verb, _, refused in replies:
        if not refused:
            admitted[role].add((target.pattern, verb))
    assert admitted["anonymous"] == {REVOKE}
    assert admitted["editor"] == admitted["owner"]
    assert {(p, v) for p, v in admitted["viewer"] if v not in routes.READ} <= VIEWER_BEYOND_READING
    assert NOBODY.isdisjoint(set().union(*admitted.values()))


# The space's agent and route table in this process, as in the other space tests.
@pytest.fixture
def jp_server_config(space_secret, tmp_path):  # noqa: F811
    config = _space_config.__wrapped__(space_secret, tmp_path)
    extensions = {"jupyter_spaces.collab": True, "jupyterlab": True, "jupyter_lsp": True}
    return Config({**config, "ServerApp": {**config["ServerApp"], "jpserver_extensions": {
        **config["ServerApp"]["jpserver_extensions"], **extensions}}})  # fmt: skip


async def test_finding_2_a_viewer_installs_and_writes_nothing(fetch, jp_root_dir, monkeypatch):  # noqa: F811
    """A viewer's POST lab/api/extensions, POST lab/api/plugins, PUT lab/api/workspaces."""
    from jupyterlab.extensions.manager import ExtensionManager, PluginManager
    from jupyterlab.extensions.pypi import PyPIExtensionManager

    ran = []

    async def record(self, *args, **kwargs):
        ran.append(args)

    for cls in (PluginManager, ExtensionManager, PyPIExtensionManager):
        for name in ("install", "uninstall", "enable", "disable"):
            if hasattr(cls, name):
                monkeypatch.setattr(cls, name, record)
    before = sorted(p for p in jp_root_dir.parent.rglob("*") if "pytest" not in p.name)
    for role in ("viewer", "editor", "owner"):
        body = json.dumps({"cmd": "install", "extension_name": "jupyter-spaces-canary"})
        r = await fetch("lab", "api", "extensions", role=role, method="POST", body=body)
        assert r.code == 403, (role, r.body)
    r = await fetch("lab", "api", "plugins", role="viewer", method="POST",
                    body=json.dumps({"cmd": "disable", "plugin_name": "@jupyterlab/notebook-extension:tracker"}))  # fmt: skip
    assert r.code == 403, r.body
    r = await fetch("lab", "api", "workspaces", "default", role="viewer", method="PUT",
                    body=json.dumps({"data": {"planted": 1}, "metadata": {"id": "default"}}))  # fmt: skip
    assert r.code == 403, r.body
    assert ran == []
    assert sorted(p for p in jp_root_dir.parent.rglob("*") if "pytest" not in p.name) == before
    assert (await fetch("lab", "api", "extensions", role="viewer")).code != 403  # reading stays open

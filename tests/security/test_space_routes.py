"""Every route of a running space server against the space's route table (issue 12).

The server loads the agent, collaboration, JupyterLab and terminals (and jupyter_lsp
when it imports); each route it registered must be in the table. (Calling every
route as every role, as tests/security/test_domain_routes.py does for the domain,
is not here yet: run in this process, a request to a route of a space server
stalled the event loop the test shares with it.)
"""

from __future__ import annotations

import json

import pytest
from traitlets.config import Config

from jupyter_spaces.routes import app_routes
from jupyter_spaces.space import routes as space_routes
from tests.space.conftest import fetch, space_secret  # noqa: F401  (fixtures)
from tests.space.conftest import jp_server_config as _space_config

from .routecheck import started

pytestmark = pytest.mark.filterwarnings("ignore:Extension endpoints without @allow_unauthenticated")


@pytest.fixture
def jp_server_config(space_secret, tmp_path):  # noqa: F811
    config = _space_config.__wrapped__(space_secret, tmp_path)
    extensions = {"jupyter_spaces.collab": True, "jupyterlab": True, "jupyter_lsp": True}
    return Config({**config, "ServerApp": {**config["ServerApp"], "jpserver_extensions": {
        **config["ServerApp"]["jpserver_extensions"], **extensions}}})  # fmt: skip


@pytest.fixture
def app(jp_serverapp):
    return started(jp_serverapp.web_app)


async def test_every_route_is_classified(app, jp_base_url):
    running = set(app_routes(app, jp_base_url))
    assert "jupyter_spaces.collab.handlers.RoomHandler" in {h for _, h in running}
    unclassified = sorted(r for r in running if space_routes.TABLE.lookup(*r) is None)
    assert unclassified == [], "routes not in jupyter_spaces/space/routes.py"


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

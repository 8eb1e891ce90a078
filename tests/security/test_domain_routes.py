"""Every route of a running domain server against the domain's route table (issue 12).

The server loads what a real domain can: ours, jupyter_server's, jupyterlab_server's,
jupyterlab's and jupyter_lsp's handlers. Each route the application registered must
be in the table, and each is called by anonymous, a user and an admin with every
method (websocket upgrades included): the table's refusals must be exactly where the
table says. Rules that tornado only routes on a space's own host are called as
anonymous (there a token is not a credential; tests/security/test_origin_isolation.py
covers space sessions).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from jupyter_spaces.domain import routes as domain_routes
from jupyter_spaces.routes import NOT_SERVED, app_routes
from tests.domain.conftest import client, domain, make_users, service  # noqa: F401  (fixtures)
from tests.domain.conftest import jp_server_config as _domain_config

from .routecheck import check_every_rule, send, started, targets

pytestmark = pytest.mark.filterwarnings("ignore:Extension endpoints without @allow_unauthenticated")

THEME = "@jupyterlab/apputils-extension:themes"


@pytest.fixture
def jp_server_config(tmp_path):
    config = _domain_config.__wrapped__(tmp_path)
    # As `jupyter spaces` runs: JupyterLab, and whatever else is installed and enabled.
    config["ServerApp"]["jpserver_extensions"].update({"jupyterlab": True, "jupyter_lsp": True})
    config["ServerApp"]["terminals_enabled"] = False
    return config


@pytest.fixture
def tokens(service, client):
    make_users(service, client)
    return {"user": client.tokens["other"], "admin": client.tokens["admin"]}


@pytest.fixture
def app(jp_serverapp):
    return started(jp_serverapp.web_app)


def hosts_of(app):
    return {None: "127.0.0.1", app.settings["jupyter_spaces_domain"].origins.host_pattern: "no-such-space.localhost"}


async def test_every_route_is_classified(app, jp_base_url):
    running = set(app_routes(app, jp_base_url))
    assert {"jupyterlab_server.settings_handler.SettingsHandler", "jupyterlab.handlers.build_handler.BuildHandler",
            "jupyterlab.handlers.extension_manager_handler.ExtensionHandler"} <= {h for _, h in running}  # fmt: skip
    unclassified = sorted(r for r in running if domain_routes.TABLE.lookup(*r) is None)
    assert unclassified == [], "routes not in jupyter_spaces/domain/routes.py"


async def test_every_route_role_and_method(app, jp_base_url, jp_http_port, tokens):
    found = targets(app, jp_base_url, hosts_of(app))
    assert sum(t.path is not None for t in found) > 80

    def roles_for(target):
        return domain_routes.ROLES if target.host == "127.0.0.1" else ("anonymous",)

    def auth(role, verb, path):
        return {"Authorization": f"token {tokens[role]}"} if role in tokens else {}

    wrong, sent = await check_every_rule(jp_http_port, found, domain_routes.TABLE, roles_for, auth)
    assert wrong == [], "\n".join(map(str, wrong))
    assert sent > 1000


async def test_a_route_added_later_is_refused(app, jp_base_url, jp_http_port, tokens):
    from jupyter_server.base.handlers import APIHandler

    class Newcomer(APIHandler):
        def get(self):
            self.finish("{}")

    app.add_handlers(".*$", [(jp_base_url + "newcomer", Newcomer)])
    for who in ("user", "admin"):
        r = await send(jp_http_port, "GET", jp_base_url + "newcomer", "127.0.0.1", {"Authorization": f"token {tokens[who]}"})
        assert (r.status, r.message, json.loads(r.body)["reason"]) == (404, NOT_SERVED, "not_found")


async def test_finding_1_no_pip_on_the_domain(app, jp_base_url, jp_http_port, tokens, monkeypatch):
    """POST lab/api/extensions {"cmd": "install"} used to answer 201 and run pip."""
    from jupyterlab.extensions.manager import ExtensionManager
    from jupyterlab.extensions.pypi import PyPIExtensionManager

    ran = []

    async def record(self, *args, **kwargs):
        ran.append(args)

    for cls in (ExtensionManager, PyPIExtensionManager):
        for name in ("install", "uninstall", "enable", "disable"):
            monkeypatch.setattr(cls, name, record)
    for who in ("user", "admin"):
        for cmd in ("install", "uninstall", "disable"):
            body = json.dumps({"cmd": cmd, "extension_name": "jupyter-spaces-canary"}).encode()
            resp = await app_fetch(jp_http_port, jp_base_url + "lab/api/extensions", tokens[who], "POST", body)
            assert resp.code == 403, resp.body
            assert json.loads(resp.body) == {"message": "This method is not allowed on this route.", "reason": "forbidden"}
    assert ran == []


async def app_fetch(port, path, token, method="GET", body=None):
    from tornado.httpclient import AsyncHTTPClient

    return await AsyncHTTPClient().fetch(
        f"http://127.0.0.1:{port}{path}", method=method, body=body, raise_error=False,
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )  # fmt: skip


async def test_finding_4_lab_settings_are_each_users_own_under_data_dir(
    app, jp_base_url, jp_http_port, tokens, service, tmp_path
):
    home = Path(os.environ["HOME"])
    before = set(home.rglob("*"))
    settings = jp_base_url + f"lab/api/settings/{THEME}"
    dark = json.dumps({"raw": json.dumps({"theme": "JupyterLab Dark"})}).encode()
    assert (await app_fetch(jp_http_port, settings, tokens["user"], "PUT", dark)).code == 204

    def theme(who):
        return app_fetch(jp_http_port, settings, tokens[who])

    mine = json.loads((await theme("user")).body)["settings"]
    theirs = json.loads((await theme("admin")).body)["settings"]
    assert mine.get("theme") == "JupyterLab Dark" and theirs.get("theme") != "JupyterLab Dark"

    layout = json.dumps({"data": {"k": 1}, "metadata": {"id": "default"}}).encode()
    workspace = jp_base_url + "lab/api/workspaces/default"
    assert (await app_fetch(jp_http_port, workspace, tokens["admin"], "PUT", layout)).code == 204
    assert json.loads((await app_fetch(jp_http_port, workspace, tokens["admin"])).body)["data"] == {"k": 1}
    assert json.loads((await app_fetch(jp_http_port, workspace, tokens["user"])).body)["data"] == {}

    users = tmp_path / "domain" / "lab" / "users"
    ids = {who: str(service.user_by_name(name).id) for who, name in (("user", "otto"), ("admin", "root"))}
    assert "JupyterLab Dark" in (users / ids["user"] / "user-settings" / "@jupyterlab" / "apputils-extension" / "themes.jupyterlab-settings").read_text()  # noqa: E501
    assert list((users / ids["admin"] / "workspaces").iterdir())
    assert not (users / ids["admin"] / "user-settings").exists()
    assert set(home.rglob("*")) == before, "written under $HOME"

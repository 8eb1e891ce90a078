"""Issue 17: JupyterLab's assets served once for every space on an image, cacheable for good.

A real domain (pytest-jupyter, listening on loopback: each space on ``{space}.localhost``)
with two real sandboxed space servers (the local launcher, the project installed in a
venv as the image). Their lab pages name the same asset URLs on the domain's origin,
served with immutable caching and byte for byte what each space serves itself; the
shared place serves nothing else (no user's file, no HTML, no path out of the set).
The parts without servers (scan, the space's hook) run on real files and a real LabApp.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time

import pytest
from jupyterlab.labapp import LabApp
from tornado.httpclient import AsyncHTTPClient
from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine

from jupyter_spaces.domain.schemas import SpaceCreate, UserCreate
from jupyter_spaces.domain.service import SYSTEM
from jupyter_spaces.domain.shared_assets import IMMUTABLE, SharedAssets
from jupyter_spaces.domain.shared_assets import SETTINGS_KEY as ASSETS_KEY
from jupyter_spaces.labassets import scan
from jupyter_spaces.space.shared_assets import SharedAssets as SpaceHook
from tests.domainconfig import domain_server_config

SPACES = ("one", "two")
CONFIG = re.compile(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', re.DOTALL)


@pytest.fixture
def jp_server_config(tmp_path, installed_python):
    return domain_server_config(tmp_path / "domain", python=installed_python,
                                domain={"poll_interval": 0.5, "idle_check_interval": 3600})


class Site:
    def __init__(self, port: int, base_url: str, token: str):
        self.port, self.base, self.token = port, base_url, token

    async def get(self, path: str, host: str = "localhost", headers: dict | None = None, auth: bool = True):
        """``GET <base_url><path>`` with ``Host: <host>:<port>`` (a space's own host, or the domain's)."""
        headers = {"Host": f"{host}:{self.port}", **(headers or {})}
        if auth:
            headers["Authorization"] = f"token {self.token}"
        return await AsyncHTTPClient().fetch(f"http://127.0.0.1:{self.port}{self.base}{path}", headers=headers,
                                             raise_error=False, follow_redirects=False, request_timeout=120)

    async def page_config(self, space: str, headers: dict | None = None) -> dict:
        r = await self.get(f"spaces/{space}/lab", host=f"{space}.localhost", headers=headers)
        assert r.code == 200, r.body[:300]
        return json.loads(CONFIG.search(r.body.decode()).group(1))

    def shared_path(self, url: str) -> str:
        """``//localhost:PORT<base>spaces/_assets/...`` → the path under base_url."""
        prefix = f"//localhost:{self.port}{self.base}"
        assert url.startswith(prefix), url
        return url[len(prefix):]


@pytest.fixture
def two_spaces(domain, lifecycle, http_server_client, jp_http_port, jp_base_url, jp_asyncio_loop) -> Site:
    async def start() -> Site:
        service = domain.service
        site = Site(jp_http_port, jp_base_url, service.create_user(SYSTEM, UserCreate(name="alice"))["token"])
        for name in SPACES:
            service.create_space(SYSTEM, SpaceCreate(name=name, sharing="private", app_type="jupyterlab",
                                                     volume_gb=1), owner="alice")
        for name in SPACES:
            r = await AsyncHTTPClient().fetch(
                f"http://127.0.0.1:{jp_http_port}{jp_base_url}spaces/api/spaces/{name}/start", method="POST",
                body=b"", headers={"Authorization": f"token {site.token}"}, raise_error=False)
            assert r.code in (202, 409), r.body
        deadline = time.monotonic() + 180
        for name in SPACES:
            while (space := service.get_space(SYSTEM, name))["status"] != "running":
                assert space["status"] == "starting" and time.monotonic() < deadline, space
                await asyncio.sleep(0.2)
        return site

    return jp_asyncio_loop.run_until_complete(start())


@pytest.mark.slow
async def test_two_spaces_load_the_same_immutable_assets_from_the_domain(two_spaces, domain, jp_serverapp):
    site = two_spaces
    configs = [await site.page_config(name) for name in SPACES]
    static, extensions = configs[0]["fullStaticUrl"], configs[0]["fullLabextensionsUrl"]
    assert [(c["fullStaticUrl"], c["fullLabextensionsUrl"]) for c in configs] == [(static, extensions)] * 2
    # on the domain's origin (the page's scheme), under a content key
    assert re.fullmatch(rf"//localhost:{site.port}{site.base}spaces/_assets/[0-9a-f]{{32}}/lab", static), static
    assert extensions == static[: -len("lab")] + "ext"
    # no build check at each load: a space cannot rebuild JupyterLab
    assert configs[0]["buildCheck"] is False and configs[0]["buildAvailable"] is False
    # JupyterLab's Shut Down (which the space refuses) and Log Out are off (quitButton); the
    # labextension's File > Log Out goes to the domain's logout (space_host.SpaceLogoutHandler)
    assert configs[0]["quitButton"] is False

    # the page's own script comes from there too
    page = (await site.get("spaces/one/lab", host="one.localhost")).body.decode()
    main = re.search(r'<script defer="defer" src="([^"?]+)', page).group(1)
    assert main.startswith(static + "/main.")

    # served without a login, immutable, readable cross-origin (fonts), byte for byte the space's own
    name = main.rsplit("/", 1)[1]
    ext = next(e for e in configs[0]["federated_extensions"] if e["name"] == "jupyter-spaces")
    for shared, own in (
        (site.shared_path(main), f"spaces/one/static/lab/{name}"),
        (site.shared_path(f"{extensions}/{ext['name']}/{ext['load']}"),
         f"spaces/two/lab/extensions/{ext['name']}/{ext['load']}"),
    ):
        r = await site.get(shared, auth=False)
        assert r.code == 200, (shared, r.code)
        assert r.headers["Cache-Control"] == IMMUTABLE
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        assert r.headers["Content-Type"] in ("application/javascript", "text/javascript")
        assert "Set-Cookie" not in r.headers
        mine = await site.get(own, host=own.split("/")[1] + ".localhost")
        assert mine.code == 200 and mine.body == r.body, own

    # a space's page names the domain's origin from the proxy's own X-Forwarded-Host,
    # not from one a client sent
    forged = await site.page_config("one", headers={"X-Forwarded-Host": 'one.evil.example"><script>'})
    assert forged["fullStaticUrl"] == static


@pytest.mark.slow
async def test_nothing_under_the_shared_place_is_a_users_file(two_spaces, jp_serverapp, installed_python, tmp_path):
    site = two_spaces
    static = (await site.page_config("one"))["fullStaticUrl"]
    key_path = site.shared_path(static)[: -len("/lab")]  # spaces/_assets/<key>
    # alice writes files into her space, with names like assets'
    for name in ("evil.js", "main.js", "index.html"):
        r = await AsyncHTTPClient().fetch(
            f"http://127.0.0.1:{site.port}{site.base}spaces/one/api/contents/{name}", method="PUT",
            headers={"Authorization": f"token {site.token}"},
            body=json.dumps({"type": "file", "format": "text", "content": "alert(document.cookie)"}))
        assert r.code == 201
    refused = [
        f"{key_path}/lab/evil.js", f"{key_path}/lab/main.js", f"{key_path}/lab/index.html",
        f"{key_path}/lab/../../../../etc/passwd", f"{key_path}/lab/%2e%2e/%2e%2e/etc/passwd",
        f"{key_path}/ext/jupyter-spaces/package.json", f"{key_path}/ext/jupyter-spaces/static/../package.json",
        f"{key_path}/home/evil.js", "spaces/_assets/" + "0" * 32 + "/lab/main.js",
    ]
    for path in refused:
        for auth in (False, True):
            r = await site.get(path, auth=auth)
            assert r.code in (403, 404), (path, r.code)  # 403: the route table's "not served here"
            assert b"alert(" not in r.body
    # every file of every set is one of the image's installed assets (its venv, or a
    # system-wide extension under /usr): nothing of the domain's data, volumes or homes
    assets: SharedAssets = jp_serverapp.web_app.settings[ASSETS_KEY]
    image = os.path.realpath(os.path.dirname(os.path.dirname(installed_python))) + os.sep
    sets = list(assets._sets.values())
    assert sets and all(s.files for s in sets)
    for s in sets:
        for rel, (path, _, _) in s.files.items():
            real = os.path.realpath(path)
            assert real.startswith((image, "/usr/")), real
            assert not real.startswith(os.path.realpath(tmp_path) + os.sep), real
            assert not rel.endswith((".html", ".htm"))
            assert rel.startswith("lab/") or re.match(r"ext/[^/]+(/[^/]+)?/static/", rel), rel


def test_a_file_changed_after_the_scan_is_not_served(tmp_path):
    static = tmp_path / "static"
    static.mkdir()
    (static / "main.1234.js").write_text("one")
    (static / "index.html").write_text("<script>")
    shared = SharedAssets("/")
    assets = scan(str(static), [])
    assert set(assets.files) == {"lab/main.1234.js"}
    key = assets.content_key()
    shared._sets[key] = assets
    assert shared.file(key, "lab/main.1234.js") == str(static / "main.1234.js")
    assert shared.file(key, "lab/index.html") is None
    time.sleep(0.01)
    (static / "main.1234.js").write_text("three")
    assert shared.file(key, "lab/main.1234.js") is None
    assert scan(str(static), []).content_key() != key


def _request(forwarded: list[str]) -> HTTPServerRequest:
    headers = HTTPHeaders({"Host": "127.0.0.1:40000"})  # the space server's, as the proxy sets it
    for value in forwarded:
        headers.add("X-Forwarded-Host", value)
    return HTTPServerRequest(start_line=RequestStartLine("GET", "/spaces/one/lab", "HTTP/1.1"), headers=headers)


def test_the_space_hook_uses_the_shared_place_only_for_its_own_files(tmp_path):
    import logging

    lab = LabApp()
    lab.initialize_templates()  # its static_paths, as in a server
    mine = scan(lab.static_paths[0], list(lab.extra_labextensions_path) + list(lab.labextensions_path))
    assert mine.files
    config = {"fullStaticUrl": "/spaces/one/static/lab", "fullLabextensionsUrl": "/spaces/one/lab/extensions"}

    class Handler:  # what the hook reads of jupyterlab_server's LabHandler
        extensionapp = lab
        request = _request(["one.localhost:8888"])

    log = logging.getLogger("test")
    hook = SpaceHook("one", "/spaces/_assets/k", mine.stat_digest, log)
    out = hook(Handler, config)
    assert out["fullStaticUrl"] == "//localhost:8888/spaces/_assets/k/lab"
    assert out["fullLabextensionsUrl"] == "//localhost:8888/spaces/_assets/k/ext"
    assert config["fullStaticUrl"] == "/spaces/one/static/lab"  # the kept dict is not changed
    # path mode: the page is on the domain's origin already
    Handler.request = _request(["localhost:8888"])
    assert hook(Handler, config)["fullStaticUrl"] == "/spaces/_assets/k/lab"
    # the proxy's value is the last; a host that is no host name is not written into the page
    Handler.request = _request(["one.evil.example", "one.localhost:8888"])
    assert hook(Handler, config)["fullStaticUrl"] == "//localhost:8888/spaces/_assets/k/lab"
    Handler.request = _request(['one.x"><script>'])
    assert hook(Handler, config)["fullStaticUrl"] == "/spaces/_assets/k/lab"
    # a set that is not this server's: its own assets
    other = SpaceHook("one", "/spaces/_assets/k", "0" * 64, log)
    assert other(Handler, config) == config


def test_a_changed_image_under_a_running_space_gives_the_page_its_own_assets(tmp_path):
    import logging

    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "main.1.js").write_text("one")
    lab = LabApp(app_dir=str(tmp_path), labextensions_path=[], extra_labextensions_path=[])
    lab.initialize_templates()
    hook = SpaceHook("one", "/spaces/_assets/k", scan(str(tmp_path / "static"), []).stat_digest,
                     logging.getLogger("test"))
    config = {"fullStaticUrl": "/spaces/one/static/lab", "fullLabextensionsUrl": "/spaces/one/lab/extensions"}

    class Handler:
        extensionapp = lab
        request = _request(["one.localhost:8888"])

    assert hook(Handler, config)["fullStaticUrl"] == "//localhost:8888/spaces/_assets/k/lab"
    (tmp_path / "static" / "main.2.js").write_text("a rebuild")  # installed in place
    assert hook(Handler, config) == config

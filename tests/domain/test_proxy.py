"""The authenticated reverse proxy, against real processes.

- A real sandboxed space server (``LocalLauncher``), started once for the module
  as space ``team-proj``; each test writes its URL, secret and ``running``
  into that test's domain store (what the lifecycle does for real).
- A real HTTP/websocket "echo" server in its own process, standing in for a space
  server where a test must see exactly what a space server receives (headers,
  request target, close codes), verifying signatures with the real ``Verifier``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
import uuid
from http.cookies import SimpleCookie
from urllib.parse import quote, urlsplit

import pytest
from sqlalchemy import select
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from jupyter_spaces import signing
from jupyter_spaces.domain.agent import space_agent
from jupyter_spaces.domain.models import Space
from jupyter_spaces.domain.origins import SPACE_COOKIE
from jupyter_spaces.domain.proxy.upstream import fast_pool
from jupyter_spaces.domain.schemas import MemberPut, SpaceCreate
from jupyter_spaces.domain.service import SYSTEM
from jupyter_spaces.launchers.base import Image, InstanceType, LaunchSpec
from tests.domain.conftest import cookie_header, cookies_of

BASE = "/a%40b/"  # pytest-jupyter's default base_url: the signed path must keep it encoded
SPACE = "team-proj"
SECRET = signing.generate_secret()
MB = 1024 * 1024
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def jp_base_url():
    return BASE


# ------------------------------------------------------------------ processes


@pytest.fixture(scope="module")
def space_server(tmp_path_factory, installed_python):
    """One real space server (the space agent inside a sandbox) for the whole module, on
    the project installed in a venv (tests/conftest.py); the domain runs in-process."""
    from jupyter_spaces.launchers.local import LocalLauncher

    root = tmp_path_factory.mktemp("proxy-space")
    (root / "volumes").mkdir()
    (root / "run").mkdir()
    launcher = LocalLauncher(volumes_dir=str(root / "volumes"), run_dir=str(root / "run"))
    spec = LaunchSpec(
        space=SPACE,
        app_type="jupyterlab",
        instance_type=InstanceType("small", "Small", cpus=1, memory_gb=2, max_processes=256),
        image=Image("default", "Default", "the project installed in a venv", installed_python),
        volume_gb=1,
        base_url=f"{BASE}spaces/{SPACE}/",
        secret=SECRET,
        agent=space_agent(SPACE),
    )

    async def start():
        await launcher.create_volume(SPACE, 1)
        return await launcher.start(spec, lambda pct, msg: None)

    launched = asyncio.run(start())
    try:
        yield launched
    finally:
        asyncio.run(launcher.stop(SPACE, launched.state))
        asyncio.run(launcher.discard())


ECHO_SERVER = r'''
import asyncio, json, sys
from tornado import web, websocket
from tornado.httpserver import HTTPServer
from jupyter_spaces.signing import InvalidSignature, Verifier

secret, space, log_path = sys.argv[1], sys.argv[2], sys.argv[3]
verifier = Verifier(secret, space)
log = open(log_path, "a", buffering=1)


def seen(handler, **extra):
    r = handler.request
    try:
        who = verifier.verify(r.method, r.uri, r.headers).name
        error = None
    except InvalidSignature as e:
        who, error = None, e.reason
    record = {"method": r.method, "uri": r.uri, "headers": list(r.headers.get_all()),
              "verified_as": who, "error": error, **extra}
    log.write(json.dumps(record) + "\n")
    return record


@web.stream_request_body
class Echo(web.RequestHandler):
    def prepare(self):
        self.size = 0
        self.chunks = 0

    def data_received(self, chunk):
        self.size += len(chunk)
        self.chunks += 1

    def compute_etag(self):
        return None

    async def get(self, path):
        if path == "stream":
            n, delay = int(self.get_argument("n")), float(self.get_argument("delay"))
            for i in range(n):
                self.write(json.dumps({"i": i, "t": __import__("time").time()}) + "\n")
                await self.flush()
                await asyncio.sleep(delay)
            return
        if path in ("big", "slowlen"):
            # A Content-Length body: n bytes of a fixed pattern, 64 KiB at a time;
            # "slowlen" sends 50 KiB, 50 KiB 0.2 s later, then pauses for `pause` seconds.
            n = int(self.get_argument("n"))
            pause = float(self.get_argument("pause", "0"))
            block = bytes(range(256)) * 256
            self.set_header("Content-Type", "application/octet-stream")
            self.set_header("Content-Length", str(n))
            sent = 0
            while sent < n:
                size = min(len(block), n - sent)
                if path == "slowlen" and sent < 100 * 1024:
                    size = 50 * 1024
                self.write(block[:size] if size <= len(block) else (block * 2)[:size])
                sent += size
                try:
                    await self.flush()
                except Exception:
                    return
                if path == "slowlen" and sent == 50 * 1024:
                    await asyncio.sleep(0.2)
                if path == "slowlen" and sent == 100 * 1024:
                    await asyncio.sleep(pause)
            return
        if path == "cookie":
            self.set_cookie("_xsrf", "space-own", path="/")
            self.set_cookie("space_cookie", "kept", path="/")
        record = seen(self)
        self.set_header("Content-Type", "application/json")
        self.set_header("X-Echo", "yes")
        self.finish(json.dumps(record))

    async def put(self, path):
        record = seen(self, size=self.size, chunks=self.chunks)
        self.finish(json.dumps(record))

    post = delete = patch = put
    head = get


class EchoSocket(websocket.WebSocketHandler):
    def select_subprotocol(self, subprotocols):
        return subprotocols[-1] if subprotocols else None

    def open(self, *args):
        seen(self, subprotocol=self.selected_subprotocol)

    async def on_message(self, message):
        if message == "close-4002":
            self.close(4002, "server says bye")
            return
        await self.write_message(message, binary=isinstance(message, bytes))

    def on_close(self):
        log.write(json.dumps({"ws_closed": self.close_code, "reason": self.close_reason}) + "\n")


async def main():
    app = web.Application([(r".*/ws", EchoSocket), (r".*/echo/(.*)", Echo)])
    server = HTTPServer(app)
    server.listen(0, "127.0.0.1")
    port = next(iter(server._sockets.values())).getsockname()[1]
    print(port, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
'''


@pytest.fixture(scope="module")
def echo_server(tmp_path_factory):
    """A real server process that records what it receives and checks the signature."""
    root = tmp_path_factory.mktemp("proxy-echo")
    script = root / "echo.py"
    script.write_text(ECHO_SERVER)
    log = root / "seen.jsonl"
    secret = signing.generate_secret()
    proc = subprocess.Popen(
        [sys.executable, str(script), secret, "echo", str(log)], stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", "")},
    )
    try:
        port = int(proc.stdout.readline())
        yield {"url": f"http://127.0.0.1:{port}", "secret": secret, "log": log}
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


def echo_log(echo) -> list[dict]:
    return [json.loads(line) for line in echo["log"].read_text().splitlines()]


# ---------------------------------------------------------------- domain side


def set_running(service, name: str, url: str | None, secret: str | None, status: str = "running") -> None:
    with service.store.write() as s:
        space = s.scalar(select(Space).where(Space.name == name))
        space.status, space.server_url, space.secret = status, url, secret


@pytest.fixture
def proxied(world, service, domain, space_server, echo_server):
    """The world of tests/domain/conftest.py, with team-proj running on the real space
    server and a shared space ``echo`` (owner alice) running on the echo server."""
    set_running(service, SPACE, space_server.url, SECRET)
    service.create_space(SYSTEM, SpaceCreate(name="echo", sharing="shared", app_type="jupyterlab"), owner="alice")
    service.put_member(SYSTEM, "echo", "vera", MemberPut(role="viewer"))
    set_running(service, "echo", echo_server["url"], echo_server["secret"])
    yield world
    domain.proxy.shutdown()


@pytest.fixture
def port(http_server_port):
    return http_server_port[-1]


def space_path(name: str, rest: str) -> str:
    return f"spaces/{name}/{rest}"


async def login_cookies(client, service, name: str) -> dict:
    """A browser's cookies after a login link, on the domain's host (``localhost``)."""
    token = service.login_link_token(SYSTEM, name)
    r = await raw(client.http.get_http_port(), "GET", f"login?token={token}")
    assert r.code == 302, r.code
    return cookies_of(r)


async def raw(port: int, method: str, path: str, *, headers=None, body=None, host: str | None = None, **kw):
    """A request with every header and repeated Set-Cookie kept (tornado response).

    ``path`` is under BASE unless absolute; ``host`` is the Host header (default the
    domain's, ``localhost``; a space's own host: glibc does not resolve ``*.localhost``,
    so connect to loopback and say it).
    """
    # A browser is on the domain's host name: on loopback its pages at 127.0.0.1 go to localhost.
    headers = {"Host": host or f"localhost:{port}", **(headers or {})}
    req = HTTPRequest(
        f"http://127.0.0.1:{port}{path if path.startswith('/') else BASE + path}", method=method,
        headers=headers, body=body, follow_redirects=False, allow_nonstandard_methods=True,
        request_timeout=120, **kw,
    )
    return await AsyncHTTPClient().fetch(req, raise_error=False)


def host_of(space: str, port: int) -> str:
    """A space's own host (the default on loopback: ``{space}.localhost``)."""
    return f"{space}.localhost:{port}"


async def enter_space(client, service, port: int, user: str, space: str) -> dict:
    """A browser's way into a space: login link, the space's address on the domain (a
    redirect with a one-time ticket), the ticket on the space's own host. Returns the
    cookies the browser then has on the space's host."""
    cookies = await login_cookies(client, service, user)
    r = await raw(port, "GET", space_path(space, "lab"), headers={**cookie_header(cookies), "Accept": "text/html"})
    assert r.code == 302, (r.code, r.body[:300])
    location = urlsplit(r.headers["Location"])
    assert location.netloc == host_of(space, port), location
    r = await raw(port, "GET", f"{location.path}?{location.query}", host=location.netloc)
    assert r.code == 302, (r.code, r.body[:300])
    return cookies_of(r)


# ---------------------------------------------------------------------- tests


async def test_owner_reads_and_writes_files_through_the_proxy(client, proxied):
    name = f"note-{uuid.uuid4().hex[:8]}.txt"
    r = await client.request("GET", space_path(SPACE, "api/contents"), who="owner")
    assert r.status == 200, r.text
    listing = r.json()
    assert listing["type"] == "directory"
    body = {"type": "file", "format": "text", "content": "hello through the proxy"}
    r = await client.request("PUT", space_path(SPACE, f"api/contents/{name}"), who="owner", body=body)
    assert r.status in (200, 201), r.text
    r = await client.request("GET", space_path(SPACE, f"api/contents/{name}?content=1"), who="owner")
    assert r.status == 200 and r.json()["content"] == "hello through the proxy"
    r = await client.request("GET", space_path(SPACE, "api/contents"), who="owner")
    assert name in {item["name"] for item in r.json()["content"]}
    # the raw file, as the files handler serves it
    r = await client.request("GET", space_path(SPACE, f"files/{name}"), who="owner")
    assert r.status == 200 and r.body == b"hello through the proxy"


async def test_space_sees_the_caller_identity(client, proxied):
    r = await client.request("GET", space_path(SPACE, "api/me"), who="editor")
    assert r.status == 200, r.text
    identity = r.json()["identity"]
    assert identity["username"] == "eddie"
    assert identity["display_name"] == "Eddie Editor"
    assert identity["initials"] == "EE"
    assert re.fullmatch(r"#[0-9a-f]{6}", identity["color"])


async def test_viewer_write_is_refused_by_the_space_agent(client, proxied):
    body = {"type": "file", "format": "text", "content": "nope"}
    r = await client.request("PUT", space_path(SPACE, "api/contents/viewer.txt"), who="viewer", body=body)
    assert r.status == 403, r.text
    assert r.json()["reason"] == "forbidden"  # by the space's route table, before its authorizer
    r = await client.request("GET", space_path(SPACE, "api/contents"), who="viewer")
    assert r.status == 200


async def test_hidden_spaces_are_the_same_404_as_missing_ones(client, proxied, service, space_server):
    private = proxied.private["owner"]  # alice's private space
    set_running(service, private, space_server.url, SECRET)
    missing = await client.request("GET", space_path("no-such-space", "api/contents"), who="other")
    assert missing.status == 404
    assert missing.json() == {"message": "There is no such space.", "reason": "not_found"}
    for who in ("other", "admin", "editor"):
        r = await client.request("GET", space_path(private, "api/contents"), who=who)
        assert (r.status, r.body) == (missing.status, missing.body), who
    # the owner gets through (the agent then refuses: the space server signs for team-proj)
    r = await client.request("GET", space_path(private, "api/contents"), who="owner")
    assert r.status == 403


async def test_reserved_names_are_never_proxied(client, proxied):
    r = await client.request("GET", "spaces/api/me", who="owner")
    assert r.status == 200 and r.json()["name"] == "alice"
    r = await client.request("GET", "spaces/api/nothing-here", who="owner")
    assert r.status == 404 and r.json()["reason"] == "not_found"
    for name in ("home", "static"):
        r = await client.request("GET", space_path(name, "x"), who="owner")
        assert r.status == 404


async def test_not_running_space_answers_409_json_or_a_page(client, proxied, service):
    set_running(service, SPACE, None, None, status="stopped")
    r = await client.request(
        "GET", space_path(SPACE, "api/contents"), who="owner", headers={"Accept": "application/json"}
    )
    assert r.status == 409
    body = r.json()
    assert body["reason"] == "not_running" and body["status"] == "stopped" and body["message"]
    r = await client.request("GET", space_path(SPACE, "lab"), who="owner", headers={"Accept": "text/html"})
    assert r.status == 409
    assert r.headers["Content-Type"].startswith("text/html")
    page = r.text
    assert "stopped" in page
    assert f'href="{BASE}spaces/home"' in page
    assert f"{BASE}spaces/api/spaces/{SPACE}/start" in page
    assert 'id="start"' in page
    set_running(service, SPACE, None, None, status="starting")
    r = await client.request("GET", space_path(SPACE, "lab"), who="owner", headers={"Accept": "text/html"})
    assert r.status == 409 and "starting" in r.text
    r = await client.request("POST", space_path(SPACE, "api/kernels"), who="owner")
    assert r.status == 409 and r.json()["status"] == "starting"


async def test_the_not_found_page_looks_like_the_others(client, proxied, service):
    """A browser asking for a missing space gets the product's page, not bare HTML."""
    r = await client.request("GET", space_path("no-such-space", "lab"), who="owner", headers={"Accept": "text/html"})
    assert r.status == 404 and r.headers["Content-Type"].startswith("text/html")
    missing = r.text
    assert "<h1>Not found</h1>" in missing and f'href="{BASE}spaces/home"' in missing
    set_running(service, SPACE, None, None, status="stopped")
    stopped = (await client.request("GET", space_path(SPACE, "lab"), who="owner", headers={"Accept": "text/html"})).text

    def style(page):
        return page.split("<style>", 1)[1].split("</style>", 1)[0].strip()

    assert style(missing) == style(stopped) and "main{" in style(missing)
    assert 'name="viewport"' in missing and "<main>" in missing


async def test_anonymous_is_redirected_or_refused(client, proxied):
    r = await client.request("GET", space_path(SPACE, "lab"), headers={"Accept": "text/html"})
    assert r.status == 302
    assert r.headers["Location"].startswith(f"{BASE}login?next=")
    assert quote(f"{BASE}spaces/{SPACE}/lab", safe="") in r.headers["Location"]
    r = await client.request("GET", space_path(SPACE, "api/contents"))
    assert r.status == 403 and r.json()["reason"] == "forbidden"
    r = await client.request("GET", space_path(SPACE, "api/contents"), headers={"Authorization": "token nope"})
    assert r.status == 403


async def test_forged_identity_headers_are_stripped(client, proxied, echo_server):
    forged = signing.sign_request(
        echo_server["secret"], "echo", "GET", f"{BASE}spaces/echo/echo/x",
        {"name": "root", "display_name": "Mallory", "initials": "M", "color": "#000000", "role": "owner"},
    )
    forged["X-Jupyter-Spaces-Extra"] = "sneaky"
    r = await client.request("GET", space_path("echo", "echo/x"), who="viewer", headers=forged)
    assert r.status == 200, r.text
    seen = r.json()
    assert seen["verified_as"] == "vera", seen
    sent = {k.lower(): v for k, v in seen["headers"]}
    assert "x-jupyter-spaces-extra" not in sent
    for k, v in forged.items():
        assert sent.get(k.lower()) != v
    identity = signing.Identity.decode(sent["x-jupyter-spaces-identity"])
    assert (identity.name, identity.role) == ("vera", "viewer")
    # the real space agent agrees
    forged = signing.sign_request(
        SECRET, SPACE, "GET", f"{BASE}spaces/{SPACE}/api/me",
        {"name": "root", "display_name": "Mallory", "initials": "M", "color": "#000000", "role": "owner"},
    )
    r = await client.request("GET", space_path(SPACE, "api/me"), who="viewer", headers=forged)
    assert r.status == 200 and r.json()["identity"]["username"] == "vera"


async def test_domain_credentials_never_reach_the_space(client, proxied, service, echo_server, port):
    token = client.tokens["owner"]
    cookies = await enter_space(client, service, port, "alice", "echo")
    space_cookie = cookies[SPACE_COOKIE]
    own = host_of("echo", port)
    # header token, query token (also encoded and repeated; on the space's own host), and
    # the space session cookie
    requests = [
        ("GET", "echo/a?x=1", {"Authorization": f"token {token}"}, None),
        ("GET", f"echo/b?token={token}&x=%20y", {}, own),
        ("GET", f"echo/c?%74oken={token}&token={token}", {}, own),
        ("GET", "echo/d", {**cookie_header(cookies)}, own),
        ("PUT", f"echo/e?token={token}", {"Authorization": f"Bearer {token}"}, None),
    ]
    for method, rest, headers, host in requests:
        body = b"data" if method == "PUT" else None
        r = await raw(port, method, space_path("echo", rest), headers=headers, body=body, host=host)
        assert r.code == 200, (rest, r.code, r.body)
        seen = json.loads(r.body)
        assert seen["verified_as"] == "alice", seen  # signed for exactly the target received
        dump = json.dumps(seen)
        assert token not in dump, rest
        assert space_cookie not in dump, rest
        assert "token=" not in seen["uri"], seen["uri"]
    # what remains of the query is forwarded byte for byte
    r = await raw(port, "GET", space_path("echo", f"echo/b?token={token}&x=%20y"),
                  headers={"Authorization": f"token {token}"})
    assert json.loads(r.body)["uri"] == f"{BASE}spaces/echo/echo/b?x=%20y"
    # a websocket upgrade with ?token=
    ws = await websocket_connect(f"ws://127.0.0.1:{port}{BASE}spaces/echo/ws?token={token}")
    ws.close()

    def logged_upgrades() -> list[dict]:
        return [e for e in echo_log(echo_server) if e.get("uri", "").endswith("/ws") or "/ws?" in e.get("uri", "")]

    deadline = time.monotonic() + 30  # until the echo server has logged it
    while not logged_upgrades() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    upgrades = logged_upgrades()
    assert upgrades and upgrades[-1]["verified_as"] == "alice"
    assert token not in json.dumps(upgrades[-1])
    # and nothing the echo server ever saw carries the token
    assert token not in echo_server["log"].read_text()


async def test_cookie_auth_xsrf_end_to_end(client, proxied, service, port):
    """The browser path: one _xsrf cookie (the domain's), JupyterLab's header passes both checks."""
    cookies = await enter_space(client, service, port, "alice", SPACE)
    cookies.pop("_xsrf", None)
    own = host_of(SPACE, port)
    # the JupyterLab page through the proxy
    r = await raw(port, "GET", space_path(SPACE, "lab"), headers={**cookie_header(cookies), "Accept": "text/html"},
                  host=own)
    assert r.code == 200, r.body[:500]
    set_cookies = r.headers.get_list("Set-Cookie")
    xsrf = [c for c in set_cookies if c.startswith("_xsrf=")]
    assert len(xsrf) == 1, set_cookies
    assert f"Path={BASE}" in xsrf[0] and f"Path={BASE}spaces" not in xsrf[0]
    jar = SimpleCookie()
    jar.load(xsrf[0])
    cookies["_xsrf"] = jar["_xsrf"].value
    # the lab page's own requests carry the cookie; the space never sets a second one
    r = await raw(port, "GET", space_path(SPACE, "api/contents"), headers=cookie_header(cookies), host=own)
    assert r.code == 200
    assert not [c for c in r.headers.get_list("Set-Cookie") if c.startswith("_xsrf=")]
    body = json.dumps({"type": "file", "format": "text", "content": "from the browser"})
    name = f"browser-{uuid.uuid4().hex[:6]}.txt"
    # unsafe method without the header: refused by the domain, never signed
    r = await raw(port, "PUT", space_path(SPACE, f"api/contents/{name}"), headers=cookie_header(cookies), body=body,
                  host=own)
    assert r.code == 403 and json.loads(r.body)["reason"] == "xsrf"
    r = await raw(port, "PUT", space_path(SPACE, f"api/contents/{name}"), body=body, host=own,
                  headers={**cookie_header(cookies), "X-XSRFToken": "2|00000000|deadbeef|1"})
    assert r.code == 403
    # with JupyterLab's header (the cookie's value): through to the space
    r = await raw(port, "PUT", space_path(SPACE, f"api/contents/{name}"), body=body, host=own,
                  headers={**cookie_header(cookies), "X-XSRFToken": cookies["_xsrf"]})
    assert r.code in (200, 201), r.body
    # without the header, a write from a page of another origin is refused; from the
    # space's own pages (their Origin is the space's), it passes: apps such as MLflow send no token
    for origin, status in ((f"http://other.localhost:{port}", 403), (f"http://localhost:{port}", 403),
                           (f"http://{own}", 200)):
        r = await raw(port, "PUT", space_path(SPACE, f"api/contents/{name}"), body=body, host=own,
                      headers={**cookie_header(cookies), "Origin": origin})
        assert r.code == status, (origin, r.code, r.body)
    # the space's own _xsrf cookie is dropped on the way back, its other cookies are not
    cookies = {**await enter_space(client, service, port, "alice", "echo"), "_xsrf": cookies["_xsrf"]}
    r = await raw(port, "GET", space_path("echo", "echo/cookie"), headers=cookie_header(cookies),
                  host=host_of("echo", port))
    got = r.headers.get_list("Set-Cookie")
    assert any(c.startswith("space_cookie=kept") for c in got) and not any(c.startswith("_xsrf=") for c in got)


async def test_cookie_websocket_origin_is_checked(client, proxied, service, port):
    cookies = await enter_space(client, service, port, "alice", "echo")
    url = f"ws://127.0.0.1:{port}{BASE}spaces/echo/ws"
    own = {**cookie_header(cookies), "Host": host_of("echo", port)}
    for origin in ("http://evil.example", f"http://localhost:{port}", f"http://{host_of(SPACE, port)}"):
        with pytest.raises(HTTPClientError) as e:
            await websocket_connect(HTTPRequest(url, headers={**own, "Origin": origin}))
        assert e.value.code == 403, origin
    good = HTTPRequest(url, headers={**own, "Origin": f"http://{host_of('echo', port)}"})
    ws = await websocket_connect(good)
    await ws.write_message("hi")
    assert await asyncio.wait_for(ws.read_message(), 10) == "hi"
    ws.close()


async def test_websocket_frames_subprotocol_and_close_codes(client, proxied, port, echo_server):
    token = client.tokens["editor"]
    url = f"ws://127.0.0.1:{port}{BASE}spaces/echo/ws"
    req = HTTPRequest(url, headers={"Authorization": f"token {token}"})
    ws = await websocket_connect(req, subprotocols=["a.example", "v1.kernel.websocket.jupyter.org"])
    assert ws.selected_subprotocol == "v1.kernel.websocket.jupyter.org"
    await ws.write_message("text ✓")
    assert await asyncio.wait_for(ws.read_message(), 10) == "text ✓"
    blob = os.urandom(3 * MB)
    await ws.write_message(blob, binary=True)
    assert await asyncio.wait_for(ws.read_message(), 10) == blob
    # many messages in flight keep their order
    for i in range(200):
        ws.write_message(f"m{i}")
    got = [await asyncio.wait_for(ws.read_message(), 10) for _ in range(200)]
    assert got == [f"m{i}" for i in range(200)]
    # the space server closes: its code and reason reach the client
    await ws.write_message("close-4002")
    assert await asyncio.wait_for(ws.read_message(), 10) is None
    assert (ws.close_code, ws.close_reason) == (4002, "server says bye")
    ws.close()
    # the client closes: its code and reason reach the space server
    ws = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {token}"}))
    ws.close(4001, "client says bye")
    for _ in range(50):
        closes = [e for e in echo_log(echo_server) if "ws_closed" in e]
        if closes and closes[-1]["ws_closed"] == 4001:
            break
        await asyncio.sleep(0.1)
    assert closes[-1] == {"ws_closed": 4001, "reason": "client says bye"}


async def test_kernel_websocket_round_trip(client, proxied, port):
    token = client.tokens["owner"]
    r = await client.request("POST", space_path(SPACE, "api/kernels"), who="owner", body={"name": "python3"})
    assert r.status == 201, r.text
    kid = r.json()["id"]
    try:
        url = f"ws://127.0.0.1:{port}{BASE}spaces/{SPACE}/api/kernels/{kid}/channels?token={token}"
        ws = await websocket_connect(url)
        try:
            msg_id = uuid.uuid4().hex
            header = {"msg_id": msg_id, "msg_type": "execute_request", "username": "alice",
                      "session": uuid.uuid4().hex, "version": "5.3", "date": ""}
            content = {"code": "1+1", "silent": False, "store_history": False, "user_expressions": {},
                       "allow_stdin": False}
            await ws.write_message(json.dumps(
                {"header": header, "parent_header": {}, "metadata": {}, "channel": "shell", "content": content}
            ))
            result = None
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                m = json.loads(await asyncio.wait_for(ws.read_message(), 90))
                if m.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                if m["msg_type"] == "execute_result":
                    result = m["content"]["data"]["text/plain"]
                if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                    break
            assert result == "2"
        finally:
            ws.close()
        # a viewer may not attach to it (the agent refuses the signed upgrade)
        vtoken = client.tokens["viewer"]
        with pytest.raises(HTTPClientError) as e:
            await websocket_connect(f"ws://127.0.0.1:{port}{BASE}spaces/{SPACE}/api/kernels/{kid}/channels?token={vtoken}")
        assert e.value.code == 403
    finally:
        r = await client.request("DELETE", space_path(SPACE, f"api/kernels/{kid}"), who="owner")
        assert r.status == 204


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def test_large_download_is_streamed(client, proxied, space_server, port):
    """100 MB from the real space server through the domain (this process): memory stays flat."""
    home = space_server.state["home"]
    path = os.path.join(home, "big.bin")
    size = 100 * MB
    if not os.path.exists(path):
        with open(path, "wb") as f:
            chunk = os.urandom(MB)
            for _ in range(100):
                f.write(chunk)
        uid = space_server.state.get("uid")
        if uid is not None:
            os.chown(path, uid, uid)
    token = client.tokens["owner"]
    base_rss = _rss()
    peak = base_rss
    received = 0

    def on_chunk(chunk):
        nonlocal peak, received
        received += len(chunk)
        peak = max(peak, _rss())

    r = await raw(port, "GET", space_path(SPACE, "files/big.bin"), headers={"Authorization": f"token {token}"},
                  streaming_callback=on_chunk)
    assert r.code == 200
    assert received == size == int(r.headers["Content-Length"])
    assert peak - base_rss < 40 * MB, f"domain memory grew by {(peak - base_rss) / MB:.0f} MB"


async def test_streamed_response_arrives_before_it_is_complete(client, proxied, port):
    token = client.tokens["owner"]
    arrivals = []
    r = await raw(port, "GET", space_path("echo", "echo/stream?n=6&delay=0.4"),
                  headers={"Authorization": f"token {token}"},
                  streaming_callback=lambda c: arrivals.extend((time.time(), line) for line in c.splitlines()))
    assert r.code == 200 and len(arrivals) == 6
    # the first line reached the client long before the server produced the last
    first_arrival = arrivals[0][0]
    last_produced = json.loads(arrivals[-1][1])["t"]
    assert first_arrival < last_produced - 1.0


async def test_large_upload_is_streamed(client, proxied, port):
    token = client.tokens["owner"]
    size = 100 * MB
    chunk = os.urandom(MB)
    base_rss = _rss()
    peak = base_rss

    async def produce(write):
        nonlocal peak
        for _ in range(size // MB):
            await write(chunk)
            peak = max(peak, _rss())

    r = await raw(port, "PUT", space_path("echo", "echo/upload"), headers={"Authorization": f"token {token}"},
                  body_producer=produce)
    assert r.code == 200, r.body
    seen = json.loads(r.body)
    assert seen["size"] == size and seen["chunks"] > 10
    assert peak - base_rss < 40 * MB, f"domain memory grew by {(peak - base_rss) / MB:.0f} MB"


async def test_direct_connection_to_the_space_server_is_refused(space_server):
    req = HTTPRequest(f"{space_server.url}{BASE}spaces/{SPACE}/api/contents")
    r = await AsyncHTTPClient().fetch(req, raise_error=False)
    assert r.code == 403
    # signed by someone without the secret
    headers = signing.sign_request(signing.generate_secret(), SPACE, "GET", f"{BASE}spaces/{SPACE}/api/contents",
                                   {"name": "alice", "role": "owner"})
    r = await AsyncHTTPClient().fetch(HTTPRequest(req.url, headers=headers), raise_error=False)
    assert r.code == 403


async def test_proxied_traffic_counts_as_activity(client, proxied, domain, monkeypatch):
    noted = []
    monkeypatch.setattr(domain, "note_activity", noted.append, raising=False)
    r = await client.request("GET", space_path(SPACE, "api/status"), who="editor")
    assert r.status == 200
    assert noted == [SPACE]


async def test_keep_alive_connections_are_reused(client, proxied, domain):
    for _ in range(5):
        r = await client.request("GET", space_path(SPACE, "api/status"), who="owner")
        assert r.status == 200
    state = domain.proxy
    assert len(state.pool._idle) == 1
    assert len(next(iter(state.pool._idle.values()))) == 1


def pattern(n: int) -> bytes:
    """What the echo server's ``big`` / ``slowlen`` endpoints send."""
    block = bytes(range(256)) * 256
    return (block * (n // len(block) + 1))[:n]


async def test_large_body_is_relayed_byte_for_byte(client, proxied, port):
    """A large Content-Length body (pumped through rotating buffers) arrives intact, twice on one connection."""
    token = client.tokens["owner"]
    n = 8 * MB + 12345
    for _ in range(2):
        r = await raw(port, "GET", space_path("echo", f"echo/big?n={n}"), headers={"Authorization": f"token {token}"})
        assert r.code == 200 and int(r.headers["Content-Length"]) == n
        assert r.body == pattern(n)
    # and the pooled connection is still good for a small request
    r = await raw(port, "GET", space_path("echo", "echo/after"), headers={"Authorization": f"token {token}"})
    assert r.code == 200 and json.loads(r.body)["verified_as"] == "alice"


async def test_slow_sender_with_content_length_is_not_held_back(client, proxied, port):
    """The receive watermark never holds bytes back for long: the first 100 KiB arrive during the pause."""
    token = client.tokens["owner"]
    n = 2 * MB
    started = time.monotonic()
    arrivals = []
    got = bytearray()

    def on_chunk(chunk):
        got.extend(chunk)
        arrivals.append((time.monotonic() - started, len(got)))

    r = await raw(port, "GET", space_path("echo", f"echo/slowlen?n={n}&pause=1.5"),
                  headers={"Authorization": f"token {token}"}, streaming_callback=on_chunk)
    total = time.monotonic() - started
    assert r.code == 200 and bytes(got) == pattern(n)
    assert total >= 1.5
    before_pause_ends = max(size for t, size in arrivals if t < total - 1.0)
    assert before_pause_ends >= 100 * 1024, arrivals[:5]


async def test_client_leaving_mid_body_does_not_spoil_the_pool(client, proxied, port, domain):
    token = client.tokens["owner"]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write((f"GET {BASE}spaces/echo/echo/big?n={64 * MB} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                  f"Authorization: token {token}\r\n\r\n").encode())
    await writer.drain()
    await reader.readexactly(MB)
    writer.close()
    await asyncio.sleep(0.5)
    for _ in range(3):
        r = await raw(port, "GET", space_path("echo", "echo/again"), headers={"Authorization": f"token {token}"})
        assert r.code == 200 and json.loads(r.body)["verified_as"] == "alice"
    r = await raw(port, "GET", space_path("echo", f"echo/big?n={3 * MB}"), headers={"Authorization": f"token {token}"})
    assert r.code == 200 and r.body == pattern(3 * MB)


async def _raw_exchange(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 30)  # until the server closes
    writer.close()
    return data


async def test_http10_client_and_head_requests(client, proxied, port):
    """Framing the relay chooses itself: HTTP/1.0 (no chunking, close at the end), HEAD (no body)."""
    token = client.tokens["owner"]
    auth = f"Authorization: token {token}\r\n"
    # HTTP/1.0 client, a streamed (unknown length) response: raw body, then the connection closes
    data = await _raw_exchange(port, f"GET {BASE}spaces/echo/echo/stream?n=3&delay=0.05 HTTP/1.0\r\n{auth}\r\n".encode())
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"transfer-encoding" not in head.lower()
    assert [json.loads(line)["i"] for line in body.splitlines()] == [0, 1, 2]
    # HTTP/1.1 client, same response: chunked
    r = await raw(port, "GET", space_path("echo", "echo/stream?n=3&delay=0.05"), headers={"Authorization": f"token {token}"})
    assert r.code == 200 and r.headers.get("Transfer-Encoding") == "chunked"
    assert [json.loads(line)["i"] for line in r.body.splitlines()] == [0, 1, 2]
    # HEAD of a large body: the length, no body, and the connection stays usable
    data = await _raw_exchange(
        port, f"HEAD {BASE}spaces/echo/echo/big?n={4 * MB} HTTP/1.1\r\n{auth}Connection: close\r\n\r\n".encode()
    )
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 ") and body == b""


# ------------------------------------------------------------------ fast path


def front_of(jp_web_app):
    return jp_web_app.settings["jupyter_spaces_proxy_front"]


def _without_signature(record: dict) -> list:
    """The headers a space server saw, less the per-request signature fields."""
    return sorted((k, v) for k, v in record["headers"] if not k.lower().startswith(signing.HEADER_PREFIX.lower()))


async def test_repeat_requests_take_the_fast_path_and_forward_the_same(client, proxied, service, port, jp_web_app,
                                                                      echo_server):
    """The handler serves a caller's first request; repeats are served by the fast path,
    and the space server sees exactly what the handler sends (token and cookie callers)."""
    front = front_of(jp_web_app)
    token = client.tokens["owner"]
    auth = {"Authorization": f"token {token}", "X-Forwarded-For": "10.0.0.9", "X-Jupyter-Spaces-User": "forged",
            "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "gopher"}
    records = []
    for i in range(3):
        served = front.served
        r = await raw(port, "GET", space_path("echo", "echo/same?x=1"), headers=auth)
        assert r.code == 200 and r.headers["X-Echo"] == "yes"
        records.append(json.loads(r.body))
        assert front.served == served + (0 if i == 0 else 1)
    assert all(rec["verified_as"] == "alice" and rec["uri"].endswith("/echo/same?x=1") for rec in records)
    assert _without_signature(records[0]) == _without_signature(records[1]) == _without_signature(records[2])
    for rec in records:  # the handler's and the fast path's alike
        assert ["X-Forwarded-For", "10.0.0.9, 127.0.0.1"] in rec["headers"]
        assert not any(k.lower() == "authorization" for k, _ in rec["headers"])
        # a client's own X-Forwarded-Host and -Proto are replaced by the proxy's
        assert [v for k, v in rec["headers"] if k.lower() == "x-forwarded-host"] == [f"localhost:{port}"]
        assert [v for k, v in rec["headers"] if k.lower() == "x-forwarded-proto"] == ["http"]

    cookies = await enter_space(client, service, port, "alice", "echo")
    own = host_of("echo", port)
    r = await raw(port, "GET", space_path("echo", "echo/c"), headers=cookie_header(cookies), host=own)
    jar = SimpleCookie()
    jar.load(next(c for c in r.headers.get_list("Set-Cookie") if c.startswith("_xsrf=")))
    cookies["_xsrf"] = jar["_xsrf"].value  # as a browser keeps it
    served = front.served
    first = json.loads((await raw(port, "GET", space_path("echo", "echo/c"), headers=cookie_header(cookies),
                                  host=own)).body)
    second = json.loads((await raw(port, "GET", space_path("echo", "echo/c"), headers=cookie_header(cookies),
                                   host=own)).body)
    assert front.served == served + 2
    assert first["verified_as"] == second["verified_as"] == "alice"
    sent = dict((k.lower(), v) for k, v in second["headers"])
    assert sent["cookie"] == f"_xsrf={cookies['_xsrf']}"  # never the space session cookie
    assert _without_signature(first) == _without_signature(second)


async def test_fast_path_relays_every_framing(client, proxied, port, jp_web_app, domain, monkeypatch):
    """Content-Length, chunked, a large pumped body, HEAD and an error status, each on the
    fast path, which counts as activity too."""
    front = front_of(jp_web_app)
    headers = {"Authorization": f"token {client.tokens['owner']}"}
    for name in ("echo", SPACE):  # the handler serves these, and caches its answers
        await raw(port, "GET", space_path(name, "api/status"), headers=headers)
    noted = []
    monkeypatch.setattr(domain, "note_activity", noted.append, raising=False)
    domain.proxy.activity.clear()
    served = front.served
    r = await raw(port, "GET", space_path("echo", "echo/stream?n=4&delay=0.05"), headers=headers)
    assert r.code == 200 and r.headers.get("Transfer-Encoding") == "chunked"
    assert [json.loads(line)["i"] for line in r.body.splitlines()] == [0, 1, 2, 3]
    n = 5 * MB + 77
    for _ in range(2):
        r = await raw(port, "GET", space_path("echo", f"echo/big?n={n}"), headers=headers)
        assert r.code == 200 and r.body == pattern(n)
    r = await raw(port, "HEAD", space_path("echo", f"echo/big?n={n}"), headers=headers)
    assert r.code == 200 and int(r.headers["Content-Length"]) == n and not r.body
    r = await raw(port, "GET", space_path(SPACE, "api/contents/no-such-file"), headers=headers)
    assert r.code == 404
    r = await raw(port, "GET", space_path("echo", "echo/small"), headers=headers)
    assert r.code == 200 and json.loads(r.body)["verified_as"] == "alice"
    assert front.served == served + 6
    assert sorted(noted) == ["echo", SPACE]  # at most once a second per space


async def test_fast_path_decides_nothing_new(client, proxied, service, domain, port, jp_web_app):
    """What the handler must see goes to it: unsafe methods, token parameters, HTTP/1.0,
    anonymous callers; and a change (the space stopped) is seen at once."""
    front = front_of(jp_web_app)
    owner = {"Authorization": f"token {client.tokens['owner']}"}
    viewer = {"Authorization": f"token {client.tokens['viewer']}"}
    for who in (owner, viewer):
        assert (await raw(port, "GET", space_path("echo", "echo/warm"), headers=who)).code == 200
    served = front.served
    r = await raw(port, "PUT", space_path("echo", "echo/put"), headers=owner, body=b"x")
    assert r.code == 200
    r = await raw(port, "GET", space_path("echo", f"echo/q?token={client.tokens['owner']}"), host=host_of("echo", port))
    assert r.code == 200 and "token=" not in json.loads(r.body)["uri"]
    assert (await raw(port, "GET", space_path("echo", "echo/anon"))).code == 403
    data = await _raw_exchange(port, f"GET {BASE}spaces/echo/echo/old HTTP/1.0\r\n"
                                     f"Authorization: token {client.tokens['owner']}\r\n\r\n".encode())
    assert data.startswith(b"HTTP/1.1 200")
    assert front.served == served
    # the space stops (the lifecycle tells the proxy to forget it): the next request is refused at once
    assert (await raw(port, "GET", space_path("echo", "echo/v"), headers=owner)).code == 200
    assert front.served == served + 1
    set_running(service, "echo", None, None, status="stopped")
    domain.forget("echo")
    r = await raw(port, "GET", space_path("echo", "echo/v"), headers=owner)
    assert r.code == 409 and json.loads(r.body)["reason"] == "not_running"
    assert front.served == served + 1


async def test_fast_path_hands_a_dead_kept_alive_connection_back_to_the_handler(client, proxied, domain, port,
                                                                                jp_web_app, echo_server):
    """A pooled connection that the space server closes instead of answering: the request
    is not lost nor answered 502; the handler sends it again on a new connection."""
    front = front_of(jp_web_app)
    headers = {"Authorization": f"token {client.tokens['owner']}"}
    assert (await raw(port, "GET", space_path("echo", "echo/warm"), headers=headers)).code == 200

    async def close_on_request(reader, writer):
        await reader.read(1)
        writer.close()

    dead = await asyncio.start_server(close_on_request, "127.0.0.1", 0)
    dead_port = dead.sockets[0].getsockname()[1]
    netloc = echo_server["url"].split("//", 1)[1]
    pool = fast_pool(domain.proxy)
    pool.forget(netloc)
    up = await pool.connect(f"127.0.0.1:{dead_port}")
    pool.release(netloc, up)  # the space server's, as far as the pool knows
    served = front.served
    r = await raw(port, "GET", space_path("echo", "echo/after-dead"), headers=headers)
    assert r.code == 200 and json.loads(r.body)["uri"].endswith("/echo/after-dead")
    assert front.served == served  # the handler answered
    assert (await raw(port, "GET", space_path("echo", "echo/next"), headers=headers)).code == 200
    assert front.served == served + 1
    dead.close()
    await dead.wait_closed()


async def test_raw_files_run_sandboxed_whatever_the_space_says(client, proxied, port, jp_web_app):
    """A space's files/, view/ and nbconvert/ pages get the proxy's own CSP sandbox (a space's
    config could drop jupyter_server's), on the handler's path and the fast path alike."""
    front = front_of(jp_web_app)
    auth = {"Authorization": f"token {client.tokens['owner']}"}
    served = front.served
    for path in ("files/page.html", "files/page.html", "view/page.html", "nbconvert/html/n.ipynb"):
        r = await raw(port, "GET", space_path("echo", path), headers=auth)
        assert r.code == 200
        assert "sandbox allow-scripts" in r.headers.get_list("Content-Security-Policy"), path
        assert "nosniff" in r.headers.get_list("X-Content-Type-Options")
    assert front.served == served + 3  # the first through the handler, the rest fast
    r = await raw(port, "GET", space_path("echo", "echo/page.html"), headers=auth)
    assert not any("sandbox" in v for v in r.headers.get_list("Content-Security-Policy"))

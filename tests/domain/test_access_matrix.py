"""Every route, called as owner, editor, viewer, other user, admin and anonymous.

Each row names the route, a body, and the status each caller must get. After every
call, no space the caller may not see appears anywhere in the response.
``team-proj`` is alice's shared space (eddie editor, vera viewer, otto a non-member
with the default role); ``secret-alice-zq`` is alice's private space.
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from conftest import Response
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from jupyter_spaces import apps
from jupyter_spaces.domain.schemas import MemberPut, SpaceCreate, TokenCreate, UserCreate
from jupyter_spaces.domain.service import SYSTEM
from tests.domain.openapi_check import api_prefix, documented_operations, find_operation
from tests.domainconfig import domain_server_config

CALLERS = ("owner", "editor", "viewer", "other", "admin", "anonymous")
SHARED = "team-proj"
PRIVATE = "secret-alice-zq"


def expect(owner, editor, viewer, other, admin, anonymous=403):
    return dict(zip(CALLERS, (owner, editor, viewer, other, admin, anonymous)))


ALL_200 = expect(200, 200, 200, 200, 200)
PRIVATE_ONLY_OWNER = expect(200, 404, 404, 404, 404)

# (id, method, route, body, expected statuses, reset before each call; "stream": an endless
# server-sent event stream, read up to its first event)
MATRIX = [
    ("me", "GET", "me", None, ALL_200, None),
    ("list-users", "GET", "users", None, ALL_200, None),
    ("create-user", "POST", "users", {"name": "newbie"}, expect(403, 403, 403, 403, 201), "no-newbie"),
    ("get-user", "GET", "users/alice", None, ALL_200, None),
    ("get-missing-user", "GET", "users/nobody", None, expect(404, 404, 404, 404, 404), None),
    ("patch-user", "PATCH", "users/otto", {"display_name": "Otto O"}, expect(403, 403, 403, 200, 200), None),
    ("delete-user", "DELETE", "users/temp", None, expect(403, 403, 403, 403, 204), "temp-user"),
    ("list-tokens", "GET", "users/eddie/tokens", None, expect(403, 200, 403, 403, 200), None),
    ("create-token", "POST", "users/eddie/tokens", {"note": "ci"}, expect(403, 201, 403, 403, 201), None),
    ("delete-token", "DELETE", "users/eddie/tokens/{token}", None, expect(403, 204, 403, 403, 204), "token"),
    ("sign-out-everywhere", "DELETE", "users/eddie/sessions", None, expect(403, 204, 403, 403, 204), None),
    ("login-link", "POST", "users/eddie/login-link", None, expect(403, 403, 403, 403, 201), None),
    ("list-spaces", "GET", "spaces", None, ALL_200, None),
    ("list-spaces-filtered", "GET", "spaces?sharing=private&sort=-created&limit=2", None, ALL_200, None),
    ("create-space", "POST", "spaces", {"name": "fresh", "sharing": "private", "app_type": "jupyterlab"},
     expect(201, 201, 201, 201, 201), "no-fresh"),
    ("get-shared", "GET", f"spaces/{SHARED}", None, ALL_200, None),
    ("get-private", "GET", f"spaces/{PRIVATE}", None, expect(200, 404, 404, 404, 200), None),
    ("get-missing", "GET", "spaces/no-such-space", None, expect(404, 404, 404, 404, 404), None),
    ("patch-shared", "PATCH", f"spaces/{SHARED}", {"display_name": "Team"}, expect(200, 403, 403, 403, 200), None),
    ("patch-private", "PATCH", f"spaces/{PRIVATE}", {"display_name": "Mine"}, expect(200, 404, 404, 404, 200), None),
    ("delete-shared", "DELETE", f"spaces/{SHARED}", None, expect(204, 403, 403, 403, 204), "shared"),
    ("delete-private", "DELETE", f"spaces/{PRIVATE}", None, expect(204, 404, 404, 404, 204), "private"),
    ("start-shared", "POST", f"spaces/{SHARED}/start", None, expect(202, 202, 403, 202, 202), "settled"),
    ("stop-shared", "POST", f"spaces/{SHARED}/stop", None, expect(202, 202, 403, 202, 202), "settled"),
    ("start-private", "POST", f"spaces/{PRIVATE}/start", None, expect(202, 404, 404, 404, 403), "settled"),
    ("stop-private", "POST", f"spaces/{PRIVATE}/stop", None, expect(202, 404, 404, 404, 202), "settled"),
    ("events-shared", "GET", f"spaces/{SHARED}/events", None, ALL_200, "stream"),
    ("events-private", "GET", f"spaces/{PRIVATE}/events", None, expect(200, 404, 404, 404, 200), "stream"),
    ("events-domain", "GET", "events", None, ALL_200, "stream"),
    ("presence-shared", "GET", f"spaces/{SHARED}/presence", None, ALL_200, None),
    ("presence-private", "GET", f"spaces/{PRIVATE}/presence", None, PRIVATE_ONLY_OWNER, None),
    ("members-shared", "GET", f"spaces/{SHARED}/members", None, ALL_200, None),
    ("members-private", "GET", f"spaces/{PRIVATE}/members", None, PRIVATE_ONLY_OWNER, None),
    ("put-member-shared", "PUT", f"spaces/{SHARED}/members/otto", {"role": "viewer"},
     expect(200, 403, 403, 403, 200), None),
    ("put-member-private", "PUT", f"spaces/{PRIVATE}/members/otto", {"role": "viewer"},
     expect(409, 404, 404, 404, 404), None),
    ("delete-member-shared", "DELETE", f"spaces/{SHARED}/members/vera", None,
     expect(204, 403, 403, 403, 204), "vera-member"),
    ("delete-member-private", "DELETE", f"spaces/{PRIVATE}/members/vera", None,
     expect(409, 404, 404, 404, 404), None),
    ("instance-types", "GET", "instance-types", None, ALL_200, None),
    ("images", "GET", "images", None, ALL_200, None),
    ("app-types", "GET", "app-types", None, ALL_200, None),
    ("audit", "GET", "audit", None, expect(403, 403, 403, 403, 200), None),
    ("unknown-route", "GET", "no/such/route", None, expect(404, 404, 404, 404, 404), None),
]


def reset(service, what: str, state: dict) -> None:
    """Put back what the previous caller's successful change took away."""
    if what == "no-newbie":
        if service.user_by_name("newbie"):
            service.delete_user(SYSTEM, "newbie")
    elif what == "temp-user":
        if not service.user_by_name("temp"):
            service.create_user(SYSTEM, UserCreate(name="temp"))
    elif what == "token":
        state["token"] = service.create_token(SYSTEM, "eddie", TokenCreate(note="to delete"))["id"]
    elif what == "no-fresh":
        for space in service.list_spaces(SYSTEM, _query(name_contains="fresh"))["items"]:
            service.begin_delete(SYSTEM, space["name"])  # never started: no volume to remove
            service.finish_delete(space["name"])
    elif what in ("shared", "private"):
        name = SHARED if what == "shared" else PRIVATE
        if not service.list_spaces(SYSTEM, _query(name_contains=name))["items"]:
            service.create_space(SYSTEM, SpaceCreate(name=name, sharing=what, app_type="jupyterlab"), owner="alice")
    elif what == "vera-member":
        service.put_member(SYSTEM, SHARED, "vera", MemberPut(role="viewer"))


def _query(**kw):
    from jupyter_spaces.domain.schemas import SpaceQuery

    return SpaceQuery(**kw)


async def stream_start(port, base_url, route, token) -> Response:
    """Status, headers and first event of a server-sent event stream (a 200 never ends)."""
    headers = {"Authorization": f"token {token}"} if token else {}
    url = f"http://127.0.0.1:{port}{base_url}spaces/api/{route}"
    async with httpx.AsyncClient(timeout=30) as http, http.stream("GET", url, headers=headers) as r:
        body = b""
        async for chunk in r.aiter_bytes():
            body += chunk
            if r.status_code == 200 and b"\n\n" in body:
                break
        return Response(r.status_code, body, dict(r.headers))


def test_the_matrix_covers_every_documented_route():
    covered = {(method, find_operation(method, f"{api_prefix()}/{route.split('?')[0]}")[0])
               for _, method, route, *_ in MATRIX}
    assert sorted(documented_operations() - covered) == []


def assert_nothing_hidden(response, hidden: list[str], where: str) -> None:
    blob = response.text + "".join(f"{k}: {v}" for k, v in response.headers.items())
    for name in hidden:
        assert name not in blob, f"{where} leaked hidden space {name!r}: {blob[:500]}"


@pytest.mark.parametrize(
    "case", MATRIX, ids=[row[0] for row in MATRIX]
)
async def test_route_under_every_role(case, client, domain, service, world, jp_http_port, jp_base_url):
    route_id, method, route, body, expected, reset_kind = case
    state: dict = {}
    for caller in CALLERS:
        if reset_kind == "settled":
            await domain.lifecycle.settle()
        elif reset_kind:
            reset(service, reset_kind, state)
        path = route.format(**state)
        who = None if caller == "anonymous" else caller
        if reset_kind == "stream":
            r = await stream_start(jp_http_port, jp_base_url, path, client.tokens.get(who))
            if r.status == 200:
                first = "snapshot" if path == "events" else "status"  # the domain's feed, or a space's
                assert r.text.startswith(f"event: {first}\ndata: "), r.text
        else:
            r = await client.api(method, path, who=who, body=body)
        where = f"{method} {path} as {caller}"
        assert r.status == expected[caller], f"{where}: {r.status} {r.text}"
        assert_nothing_hidden(r, world.hidden[caller], where)
        if r.status >= 400:
            err = r.json()
            assert set(err) >= {"message", "reason"}, f"{where}: error shape {err}"
            assert isinstance(err["message"], str) and err["message"]


async def test_hidden_space_404_is_identical_to_missing(client, world):
    """Nothing in a refusal tells a hidden space from a space that does not exist."""
    for route in ("spaces/{}", "spaces/{}/members", "spaces/{}/presence", "spaces/{}/start", "spaces/{}/events"):
        method = "POST" if route.endswith("start") else "GET"
        hidden = await client.api(method, route.format("secret-alice-zq"), who="other")
        missing = await client.api(method, route.format("secret-alice-zz"), who="other")
        assert hidden.status == missing.status == 404
        assert hidden.json()["reason"] == missing.json()["reason"]
        assert hidden.text.replace("secret-alice-zq", "X") == missing.text.replace("secret-alice-zz", "X")
        drop = {"Date", "Etag", "Content-Length"}
        assert {k: v for k, v in hidden.headers.items() if k not in drop} == {
            k: v for k, v in missing.headers.items() if k not in drop
        }


async def test_roles_reported_per_caller(client, world):
    expected = {"owner": "owner", "editor": "editor", "viewer": "viewer", "other": "editor", "admin": "editor"}
    for caller, role in expected.items():
        r = await client.api("GET", f"spaces/{SHARED}", who=caller)
        assert r.json()["role"] == role, caller
    r = await client.api("GET", f"spaces/{PRIVATE}", who="admin")
    space = r.json()
    assert space["role"] is None and space["url"] is None
    assert space["owner"] == "alice" and space["status"] == "stopped"


async def test_listing_shows_exactly_what_each_caller_may_see(client, world):
    for caller in ("owner", "editor", "viewer", "other", "admin"):
        r = await client.api("GET", "spaces?limit=500", who=caller)
        names = {s["name"] for s in r.json()["items"]}
        own = world.private[caller]
        assert SHARED in names and own in names
        if caller == "admin":
            assert set(world.private.values()) <= names
        else:
            assert not names & set(world.hidden[caller])


# ----------------------------------------------------------- app spaces (issue 14)
# Running Code Editor and MLflow spaces under every role: through the proxy (HTTP and
# websocket) into the gate and the app, and the API routes about them. Each app has a
# shared space (eddie editor, vera viewer, otto and the admin with the default role)
# and alice's private one, both running for real in the local launcher's sandbox.

APP_CALLERS_SHARED = "shared"
APP_CALLERS_PRIVATE = "private"
NOT_OWNER_404 = expect(200, 404, 404, 404, 404)
VIEWER_REFUSED = expect(200, 200, 403, 200, 200)
WS_VIEWER_REFUSED = expect(101, 101, 403, 101, 101)

# (id, kind, method, path, body, expected in the shared space, expected in the private
# one). kind: "proxy" (the path is under the space's URL), "ws" (a websocket upgrade
# there), "api" (a route of the REST API, {space} filled in), "stream" (an event stream).
# {caller} in a path or body makes each caller's write its own.
APP_ROUTES = [
    ("describe", "api", "GET", "spaces/{space}", None, ALL_200, expect(200, 404, 404, 404, 200)),
    ("events", "stream", "GET", "spaces/{space}/events", None, ALL_200, expect(200, 404, 404, 404, 200)),
    ("presence", "api", "GET", "spaces/{space}/presence", None, ALL_200, PRIVATE_ONLY_OWNER),
    ("members", "api", "GET", "spaces/{space}/members", None, ALL_200, PRIVATE_ONLY_OWNER),
]
APP_MATRIX = {
    "code-editor": APP_ROUTES + [
        ("workbench", "proxy", "GET", "?folder=/home/jovyan", None, VIEWER_REFUSED, NOT_OWNER_404),
        ("redirect", "proxy", "GET", "", None, expect(302, 302, 403, 302, 302), NOT_OWNER_404 | {"owner": 302}),
        ("healthz", "proxy", "GET", "healthz", None, VIEWER_REFUSED, NOT_OWNER_404),
        ("static", "proxy", "HEAD", "manifest.json", None, VIEWER_REFUSED, NOT_OWNER_404),
        # VS Code's remote connection: the editor, its terminals and extension host
        ("connection", "ws", "GET", "?reconnectionToken={caller}&reconnection=false&skipWebSocketFrames=false",
         None, WS_VIEWER_REFUSED, NOT_OWNER_404 | {"owner": 101}),
    ],
    "mlflow": APP_ROUTES + [
        ("ui", "proxy", "GET", "", None, ALL_200, NOT_OWNER_404),
        ("health", "proxy", "GET", "health", None, ALL_200, NOT_OWNER_404),
        ("server-info", "proxy", "GET", "ajax-api/3.0/mlflow/server-info", None, ALL_200, NOT_OWNER_404),
        ("get-experiment", "proxy", "GET", "api/2.0/mlflow/experiments/get?experiment_id=0", None,
         ALL_200, NOT_OWNER_404),
        # the UI's searches and its run page's GraphQL query only read: a viewer's pass
        ("search", "proxy", "POST", "ajax-api/2.0/mlflow/experiments/search", {"max_results": 5},
         ALL_200, NOT_OWNER_404),
        ("search-runs", "proxy", "POST", "api/2.0/mlflow/runs/search", {"experiment_ids": ["0"]},
         ALL_200, NOT_OWNER_404),
        ("graphql", "proxy", "POST", "graphql",
         {"query": "query q { mlflowSearchRuns(input: {experimentIds: [\"0\"]}) { runs { info { runId } } } }"},
         ALL_200, NOT_OWNER_404),
        ("create-experiment", "proxy", "POST", "api/2.0/mlflow/experiments/create", {"name": "exp-{caller}"},
         VIEWER_REFUSED, NOT_OWNER_404),
        ("create-run", "proxy", "POST", "ajax-api/2.0/mlflow/runs/create", {"experiment_id": "0"},
         VIEWER_REFUSED, NOT_OWNER_404),
        ("set-tag", "proxy", "POST", "ajax-api/2.0/mlflow/experiments/set-experiment-tag",
         {"experiment_id": "0", "key": "k", "value": "{caller}"}, VIEWER_REFUSED, NOT_OWNER_404),
        # an artifact whose path ends like a search: still a write
        ("upload-artifact", "proxy", "PUT", "api/2.0/mlflow-artifacts/artifacts/0/{caller}/2.0/mlflow/runs/search",
         "data", VIEWER_REFUSED, NOT_OWNER_404),
        ("delete-tag", "proxy", "DELETE", "api/2.0/mlflow/registered-models/delete-tag", {"name": "m", "key": "k"},
         expect(404, 404, 403, 404, 404), NOT_OWNER_404 | {"owner": 404}),
    ],
}
#: what the gate says to a viewer it refuses (words of apps.py, relayed by the proxy)
VIEWER_WORDS = {"code-editor": "no read-only mode", "mlflow": "read-only for viewers"}


class TestAppSpaces:
    @pytest.fixture
    def jp_server_config(self, tmp_path, installed_python):
        """Spaces that really run (the project installed in a venv), no idle stops."""
        return domain_server_config(tmp_path / "domain", python=installed_python,
                                    domain={"poll_interval": 0.5, "idle_check_interval": 3600})

    @pytest.mark.slow
    @pytest.mark.timeout(600)
    @pytest.mark.parametrize("app", list(APP_MATRIX))
    async def test_app_space_under_every_role(self, app, client, service, world, lifecycle,
                                              jp_http_port, jp_base_url):
        if not apps.get(app).find_program():
            pytest.skip(f"{app} is not installed (scripts/install-apps.sh)")
        spaces = {"shared": f"team-{app}", "private": f"secret-{app}"}
        for sharing, name in spaces.items():
            service.create_space(SYSTEM, SpaceCreate(name=name, sharing=sharing, app_type=app, volume_gb=1),
                                 owner="alice")
        service.put_member(SYSTEM, spaces["shared"], "eddie", MemberPut(role="editor"))
        service.put_member(SYSTEM, spaces["shared"], "vera", MemberPut(role="viewer"))
        for name in spaces.values():
            assert (await client.api("POST", f"spaces/{name}/start", who="owner")).status == 202
        for name in spaces.values():
            await _until_running(client, name)
        for route_id, kind, method, path, body, shared, private in APP_MATRIX[app]:
            for sharing, expected in (("shared", shared), ("private", private)):
                for caller in CALLERS:
                    who = None if caller == "anonymous" else caller
                    call = _AppCall(client, jp_http_port, jp_base_url, kind, method, path, body, caller)
                    r = await call.send(spaces[sharing], who)
                    where = f"{app} {route_id} ({sharing}) {method} {path} as {caller}"
                    assert r.status == expected[caller], f"{where}: {r.status} {r.text[:300]}"
                    # nothing of another's private space; the one asked for is compared below
                    hidden = world.hidden[caller] + (
                        [spaces["private"]] if sharing == "shared" and caller not in ("owner", "admin") else [])
                    assert_nothing_hidden(r, hidden, where)
                    if r.status == 404 and sharing == "private" and caller != "owner":
                        # a private space answers exactly as a space that does not exist
                        missing = await call.send(f"nosuch-{app}", who)
                        assert (missing.status, missing.text.replace(f"nosuch-{app}", "X")) == (
                            404, r.text.replace(spaces[sharing], "X")), where
                        assert _comparable(r.headers) == _comparable(missing.headers), where
                    if r.status == 403 and caller == "viewer" and method != "HEAD":  # HEAD: no body
                        assert VIEWER_WORDS[app] in r.text, f"{where}: {r.text}"
                        if kind == "proxy":
                            assert r.json()["reason"] == "viewer", where
        # the gate tells who is in: whoever it let through lately, not a refused viewer
        r = await client.api("GET", f"spaces/{spaces['shared']}/presence", who="owner")
        let_in = {"alice", "eddie", "otto", "root"} | ({"vera"} if apps.get(app).viewers == "read-only" else set())
        assert {p["user"]["name"] for p in r.json()["items"]} == let_in, r.text


def _comparable(headers: dict) -> dict:
    return {k.lower(): v for k, v in headers.items() if k.lower() not in ("date", "etag", "content-length")}


async def _until_running(client, name: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        space = (await client.api("GET", f"spaces/{name}", who="owner")).json()
        if space["status"] in ("running", "failed"):
            break
        await asyncio.sleep(0.25)
    assert space["status"] == "running", f"{name}: {space['status']} {space['failure_reason']}"


class _AppCall:
    """One row's request, made for a caller in a given space."""

    def __init__(self, client, port, base_url, kind, method, path, body, caller):
        self.client, self.port, self.base_url = client, port, base_url
        self.kind, self.method = kind, method
        self.path = path.replace("{caller}", caller)
        if isinstance(body, dict):
            body = json.loads(json.dumps(body).replace("{caller}", caller))
        self.body = body

    async def send(self, space: str, who: str | None) -> Response:
        if self.kind == "api":
            return await self.client.api(self.method, self.path.format(space=space), who=who)
        if self.kind == "stream":
            return await stream_start(self.port, self.base_url, self.path.format(space=space),
                                      self.client.tokens.get(who))
        path = f"spaces/{space}/{self.path}"
        if self.kind == "ws":
            return await _upgrade(self.port, self.base_url + path, self.client.tokens.get(who))
        raw = self.body.encode() if isinstance(self.body, str) else None
        headers = {"Content-Type": "application/json"} if isinstance(self.body, dict) else None
        return await self.client.request(self.method, path, who=who, body=self.body if raw is None else None,
                                         raw=raw, headers=headers)


async def _upgrade(port: int, path: str, token: str | None) -> Response:
    """A websocket upgrade through the proxy: 101 once both hops accepted it, else the refusal."""
    headers = {"Authorization": f"token {token}"} if token else {}
    try:
        ws = await websocket_connect(HTTPRequest(f"ws://127.0.0.1:{port}{path}", headers=headers))
    except HTTPClientError as e:
        body = e.response.body if e.response is not None and e.response.body else b""
        return Response(e.code, body, dict(e.response.headers.get_all()) if e.response is not None else {})
    ws.close()
    return Response(101, b"", {})

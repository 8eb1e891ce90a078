"""Every route, called as owner, editor, viewer, other user, admin and anonymous.

Each row names the route, a body, and the status each caller must get. After every
call, no space the caller may not see appears anywhere in the response.
``team-proj`` is alice's shared space (eddie editor, vera viewer, otto a non-member
with the default role); ``secret-alice-zq`` is alice's private space.
"""

from __future__ import annotations

import httpx
import pytest
from conftest import Response

from jupyter_spaces.domain.schemas import MemberPut, SpaceCreate, TokenCreate, UserCreate
from jupyter_spaces.domain.service import SYSTEM
from tests.domain.openapi_check import api_prefix, documented_operations, find_operation

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

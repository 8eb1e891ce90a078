"""Bad input gets a clear JSON error with the right status, and leaves the store unchanged."""

from __future__ import annotations

import asyncio
import json

import pytest
from conftest import snapshot

from jupyter_spaces.domain.schemas import UserCreate
from jupyter_spaces.domain.service import SYSTEM

SPACE = {"name": "good-name", "sharing": "private", "app_type": "jupyterlab"}


async def refused(client, service, method, route, status, *, who="owner", **kw):
    """Call, assert the status and the error shape, and that the store did not change."""
    before = snapshot(service)
    r = await client.api(method, route, who=who, **kw)
    assert r.status == status, f"{method} {route}: {r.status} {r.text}"
    err = r.json()
    assert set(err) >= {"message", "reason"} and err["message"], err
    assert snapshot(service) == before, f"{method} {route} changed the store"
    return err


@pytest.mark.parametrize(
    "name",
    ["Bad", "under_score", "-lead", "trail-", "dou--ble", "a" * 64, "", "sp ace", "é", "a/b", "x.y",
     "api", "home", "static"],
)
async def test_invalid_space_names(client, service, world, name):
    err = await refused(client, service, "POST", "spaces", 422, body={**SPACE, "name": name})
    assert err["reason"] == "invalid" and err["field"] == "name"
    assert err["message"].startswith("The name ") and "^" not in err["message"], err


async def test_a_bad_name_is_explained_in_words(client, service, world):
    err = await refused(client, service, "POST", "spaces", 422, body={**SPACE, "name": "Bad_Name"})
    assert err == {
        "reason": "invalid",
        "field": "name",
        "message": "The name may contain only lowercase letters (a-z), digits and single hyphens, "
        "must start and end with a letter or digit, and be at most 63 characters long.",
    }
    err = await refused(client, service, "POST", "spaces", 422, body={**SPACE, "name": "home"})
    assert err["message"] == "The name 'home' is reserved; choose another name."
    err = await refused(client, service, "POST", "users", 422, who="admin", body={"name": "Bad Name"})
    assert err["field"] == "name" and "lowercase letters" in err["message"] and "^" not in err["message"]


@pytest.mark.parametrize(
    "body, message",
    [
        ({**SPACE, "volume_gb": 0}, "The volume size must be at least 1 GiB."),
        ({**SPACE, "volume_gb": 20000}, "The volume size must be at most 16384 GiB."),
        ({**SPACE, "volume_gb": "5"}, "The volume size must be a whole number (GiB)."),
        ({**SPACE, "idle_timeout_minutes": -1}, "The idle timeout must be at least 0 minutes."),
        ({**SPACE, "sharing": "public"}, "Sharing must be one of 'private' or 'shared'."),
        ({**SPACE, "display_name": "   "}, "The display name must not be blank."),
        ({"name": "x", "app_type": "jupyterlab"}, "Sharing is required."),
        ({**SPACE, "colour": "red"}, "'colour' is not a field of this request."),
    ],
)
async def test_422_messages_are_sentences(client, service, world, body, message):
    err = await refused(client, service, "POST", "spaces", 422, body=body)
    assert err["message"] == message


async def test_app_type_defaults_to_jupyterlab(client, service, world):
    r = await client.api("POST", "spaces", who="owner", body={"name": "no-app-type", "sharing": "private"})
    assert r.status == 201, r.text
    assert r.json()["app_type"] == "jupyterlab"


async def test_longest_valid_name_is_accepted(client, service, world):
    r = await client.api("POST", "spaces", who="owner", body={**SPACE, "name": "a" * 63})
    assert r.status == 201, r.text


async def test_duplicate_name_is_409_even_for_a_hidden_space(client, service, world):
    # otto cannot see alice's private space, but names are unique in the domain.
    err = await refused(client, service, "POST", "spaces", 409, who="other", body={**SPACE, "name": "team-proj"})
    assert err["reason"] == "conflict"
    await refused(client, service, "POST", "spaces", 409, who="other", body={**SPACE, "name": "secret-alice-zq"})


@pytest.mark.parametrize(
    "body, field",
    [
        ({**SPACE, "colour": "red"}, "colour"),
        ({**SPACE, "volume_gb": "5"}, "volume_gb"),
        ({**SPACE, "volume_gb": 5.5}, "volume_gb"),
        ({**SPACE, "volume_gb": 0}, "volume_gb"),
        ({**SPACE, "volume_gb": True}, "volume_gb"),
        ({**SPACE, "sharing": "public"}, "sharing"),
        ({**SPACE, "app_type": "emacs"}, "app_type"),
        ({**SPACE, "display_name": "x" * 257}, "display_name"),
        ({**SPACE, "display_name": "tab\there"}, "display_name"),
        ({**SPACE, "display_name": "nul\x00"}, "display_name"),
        ({**SPACE, "display_name": "   "}, "display_name"),
        ({**SPACE, "display_name": None, "idle_timeout_minutes": -1}, "idle_timeout_minutes"),
        ({"sharing": "private", "app_type": "jupyterlab"}, "name"),
        ({**SPACE, "name": 12}, "name"),
    ],
)
async def test_invalid_space_bodies(client, service, world, body, field):
    err = await refused(client, service, "POST", "spaces", 422, body=body)
    assert err["field"] == field, err


async def test_unknown_catalog_entries(client, service, world):
    err = await refused(client, service, "POST", "spaces", 422, body={**SPACE, "instance_type": "huge"})
    assert "huge" in err["message"] and "small" in err["message"]
    err = await refused(client, service, "POST", "spaces", 422, body={**SPACE, "image": "nope"})
    assert "nope" in err["message"]


async def test_unavailable_app_type_is_explained(client, service, world):
    err = await refused(client, service, "POST", "spaces", 422, body={**SPACE, "app_type": "rstudio"})
    assert "RStudio" in err["message"]


@pytest.mark.parametrize(
    "raw, status, words",
    [
        (b"\xff\xfe{}", 400, "UTF-8"),
        (b"{not json", 400, "JSON"),
        (b"[1, 2]", 400, "object"),
        (b'"just a string"', 400, "object"),
        (json.dumps({**SPACE, "display_name": "\ud800"}).encode(), 422, "display name"),
    ],
)
async def test_malformed_bodies(client, service, world, raw, status, words):
    err = await refused(client, service, "POST", "spaces", status, raw=raw)
    assert words in err["message"]


async def test_oversize_body_is_413(client, service, world):
    body = {**SPACE, "display_name": "x" * (70 * 1024)}
    err = await refused(client, service, "POST", "spaces", 413, body=body)
    assert err["reason"] == "too_large"


# Every route with a body, called by someone allowed to: (method, route, caller, a body with a very long string).
BODY_ROUTES = [
    ("POST", "users", "admin", {"name": "u" * 10_000}),
    ("PATCH", "users/otto", "admin", {"display_name": "x" * 10_000}),
    ("POST", "users/eddie/tokens", "admin", {"note": "x" * 10_000}),
    ("POST", "spaces", "owner", {**SPACE, "name": "a" * 10_000}),
    ("PATCH", "spaces/team-proj", "owner", {"display_name": "x" * 10_000}),
    ("PUT", "spaces/team-proj/members/otto", "owner", {"role": "v" * 10_000}),
]
BODY_IDS = [f"{m} {r}" for m, r, _, _ in BODY_ROUTES]


@pytest.mark.parametrize("method, route, who, long", BODY_ROUTES, ids=BODY_IDS)
async def test_every_body_route_refuses_bad_bodies(client, service, world, method, route, who, long):
    err = await refused(client, service, method, route, 400, who=who, raw=b'{"name": "\xff"}')
    assert "UTF-8" in err["message"]
    err = await refused(client, service, method, route, 422, who=who, body=long)
    assert err["reason"] == "invalid"
    err = await refused(client, service, method, route, 413, who=who, raw=b" " * (64 * 1024 + 1))
    assert err["reason"] == "too_large"


async def test_oversize_body_without_a_length_is_413(client, service, world):
    """A chunked body has no Content-Length to refuse it by; its size still counts."""

    async def chunks(write):
        for _ in range(70):
            await write(b" " * 1024)

    before = snapshot(service)
    resp = await client.http.fetch(
        client.base_url + "spaces/api/spaces", method="POST", body_producer=chunks, raise_error=False,
        headers={"Authorization": f"token {client.tokens['owner']}"},
    )
    assert resp.code == 413, resp.body
    assert json.loads(resp.body)["reason"] == "too_large"
    assert snapshot(service) == before


@pytest.mark.parametrize(
    "method, route, status",
    [
        ("GET", "spaces/%ff", 400),
        ("PATCH", "spaces/%ff", 400),
        ("DELETE", "spaces/%C3%28", 400),
        ("PUT", "spaces/team-proj/members/%ff", 400),
        ("DELETE", "users/%ff", 400),
        ("GET", "spaces?name_contains=%ff", 400),
        ("GET", "spaces?owner=%C3%28", 400),
    ],
)
async def test_non_utf8_in_paths_and_queries(client, service, world, method, route, status):
    body = {"display_name": "x"} if method == "PATCH" else {"role": "viewer"} if method == "PUT" else None
    await refused(client, service, method, route, status, who="admin", body=body)


async def test_very_long_strings_in_paths_and_queries(client, service, world):
    await refused(client, service, "GET", "spaces/" + "a" * 5000, 404)
    await refused(client, service, "GET", "spaces?name_contains=" + "a" * 5000, 400)
    await refused(client, service, "PUT", "spaces/team-proj/members/" + "u" * 5000, 404, body={"role": "viewer"})


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=501", "limit=ten", "sort=size", "sharing=public", "status=sleeping",
     "cursor=%%%", "cursor=bm9wZQ", "bogus=1", "limit=1&limit=2"],
)
async def test_bad_query_parameters(client, service, world, query):
    err = await refused(client, service, "GET", f"spaces?{query}", 400)
    assert err["reason"] == "bad_request" and "should" not in err["message"], err


async def test_cursor_from_another_sort_is_refused(client, service, world):
    r = await client.api("GET", "spaces?limit=1&sort=created", who="admin")
    cursor = r.json()["next_cursor"]
    assert cursor
    await refused(client, service, "GET", f"spaces?limit=1&sort=name&cursor={cursor}", 400, who="admin")


async def test_unknown_users(client, service, world):
    await refused(client, service, "GET", "users/nobody", 404)
    await refused(client, service, "PUT", "spaces/team-proj/members/nobody", 404, body={"role": "editor"})
    await refused(client, service, "PATCH", "users/nobody", 404, who="admin", body={"display_name": "N"})
    await refused(client, service, "DELETE", "users/nobody", 404, who="admin")
    await refused(client, service, "POST", "users/nobody/tokens", 404, who="admin", body={})
    await refused(client, service, "GET", "users/nobody/tokens", 404, who="admin")
    await refused(client, service, "DELETE", "users/nobody/tokens/1", 404, who="admin")
    await refused(client, service, "DELETE", "spaces/team-proj/members/nobody", 404)


async def test_bad_member_roles(client, service, world):
    for role in ("owner", "admin", "", None, 1):
        await refused(client, service, "PUT", "spaces/team-proj/members/otto", 422, body={"role": role})
    await refused(client, service, "PUT", "spaces/team-proj/members/alice", 409, body={"role": "viewer"})


async def test_user_bodies(client, service, world):
    for body in ({"name": "Bad Name"}, {"name": "ok", "admin": "yes"}, {"name": "ok", "password": "short"},
                 {"name": "ok", "extra": 1}, {"name": "ok", "display_name": ""}):
        await refused(client, service, "POST", "users", 422, who="admin", body=body)
    await refused(client, service, "POST", "users", 409, who="admin", body={"name": "alice"})
    await refused(client, service, "PATCH", "users/alice", 422, who="admin", body={"color": "red"})


async def test_last_admin_cannot_be_removed(client, service, world):
    service.create_user(SYSTEM, UserCreate(name="second", admin=True))
    # root removes the second admin: fine, root is still an admin.
    r = await client.api("PATCH", "users/second", who="admin", body={"admin": False})
    assert r.status == 200, r.text
    # Now root is the last admin: neither demoting nor deleting root is allowed.
    err = await refused(client, service, "PATCH", "users/root", 409, who="admin", body={"admin": False})
    assert "at least one administrator" in err["message"]
    await refused(client, service, "DELETE", "users/root", 409, who="admin")


async def test_two_admins_removing_each_other_at_once_leave_one(client, service, world):
    created = service.create_user(SYSTEM, UserCreate(name="second", admin=True))
    client.tokens["second"] = created["token"]
    before = snapshot(service)
    a, b = await asyncio.gather(
        client.api("PATCH", "users/second", who="admin", body={"admin": False}),
        client.api("PATCH", "users/root", who="second", body={"admin": False}),
    )
    statuses = sorted([a.status, b.status])
    # One wins; the other either finds it is no longer an admin (403) or would remove the last one (409).
    assert statuses[0] == 200 and statuses[1] in (403, 409), (a.text, b.text)
    loser = b if a.status == 200 else a
    assert set(loser.json()) >= {"message", "reason"}
    admins = [u["name"] for u in service.list_users(SYSTEM, _page())["items"] if u["admin"]]
    assert len(admins) == 1
    # The store holds the winner's change and nothing of the loser's.
    demoted = "second" if a.status == 200 else "root"
    assert _changed(before, snapshot(service)) == {"users": {demoted}}


async def test_two_admins_deleting_each_other_at_once_leave_one(client, service, world):
    created = service.create_user(SYSTEM, UserCreate(name="second", admin=True))
    client.tokens["second"] = created["token"]
    ids = {u.name: str(u.id) for u in map(service.user_by_name, ("root", "second"))}
    before = snapshot(service)
    a, b = await asyncio.gather(
        client.api("DELETE", "users/second", who="admin"),
        client.api("DELETE", "users/root", who="second"),
    )
    statuses = sorted([a.status, b.status])
    # The loser is gone (403), no longer an admin, or would remove the last one (409).
    assert statuses[0] == 204 and statuses[1] in (403, 409), (a.text, b.text)
    loser = b if a.status == 204 else a
    assert set(loser.json()) >= {"message", "reason"}
    deleted = "second" if a.status == 204 else "root"
    assert _changed(before, snapshot(service)) == {"users": {deleted}, "tokens": {ids[deleted]}}
    admins = [u["name"] for u in service.list_users(SYSTEM, _page())["items"] if u["admin"]]
    assert admins == [{"root": "second", "second": "root"}[deleted]]


def _changed(before: dict, after: dict) -> dict[str, set[str]]:
    """Per table, the names (first column after the id) of rows added, removed or changed."""
    changed = {}
    for table in before:
        rows = set(before[table]) ^ set(after[table])
        if rows:
            changed[table] = {row[1] for row in rows}
    return changed


def _page():
    from jupyter_spaces.domain.schemas import Page

    return Page(limit=500)


async def test_concurrent_creates_of_one_name(client, service, world):
    callers = ["owner", "editor", "viewer", "other", "admin"] * 2
    before = snapshot(service)
    results = await asyncio.gather(
        *(client.api("POST", "spaces", who=c, body={**SPACE, "name": "race"}) for c in callers)
    )
    statuses = sorted(r.status for r in results)
    assert statuses == [201] + [409] * (len(callers) - 1), [r.text for r in results]
    assert all(r.json()["reason"] == "conflict" for r in results if r.status == 409)
    # Exactly one space was added; the losers left nothing.
    assert _changed(before, snapshot(service)) == {"spaces": {"race"}}


async def test_resize_while_not_stopped_is_409(client, service, world):
    with service.store.write() as s:
        from sqlalchemy import select

        from jupyter_spaces.domain.models import Space

        s.scalar(select(Space).where(Space.name == "team-proj")).status = "running"
    err = await refused(client, service, "PATCH", "spaces/team-proj", 409, body={"volume_gb": 20})
    assert "Stop space" in err["message"] and "volume_gb" in err["message"]
    # What may change on a running space still does.
    r = await client.api("PATCH", "spaces/team-proj", who="owner", body={"display_name": "Team"})
    assert r.status == 200
    await refused(client, service, "DELETE", "spaces/team-proj", 409)


async def test_volume_above_the_domain_limit_is_422(client, service, world):
    # Found by the fuzzer: a 16 TiB volume reached the host's filesystem and failed there.
    err = await refused(client, service, "POST", "spaces", 422, body={**SPACE, "volume_gb": 1025})
    assert "1025 GiB" in err["message"] and "1024 GiB" in err["message"] and err["field"] == "volume_gb"
    err = await refused(client, service, "PATCH", "spaces/team-proj", 422, body={"volume_gb": 16384})
    assert "16384 GiB" in err["message"]
    r = await client.api("GET", "spaces/team-proj", who="owner")
    assert r.json()["volume_gb"] == 5 and r.json()["status"] == "stopped"


async def test_favicon_and_robots_txt_under_the_base_url(client):
    """jupyter_server's own rule for these two dropped the connection under a base_url
    (this domain's is /a%40b/); rootfiles.py serves them."""
    assert client.base_url != "/"
    r = await client.request("GET", "favicon.ico")
    assert r.status == 200 and r.headers["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert (await client.request("GET", "robots.txt")).status == 404

"""Every change writes an audit event (actor, action, target, outcome, time); admins page through them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


async def all_events(client) -> list[dict]:
    events, cursor = [], None
    while True:
        r = await client.api("GET", "audit?limit=3" + (f"&cursor={cursor}" if cursor else ""), who="admin")
        assert r.status == 200, r.text
        page = r.json()
        assert len(page["items"]) <= 3
        events += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return events


async def test_changes_and_refusals_are_audited(client, world):
    before = {e["id"] for e in await all_events(client)}
    started = datetime.now(timezone.utc) - timedelta(seconds=1)
    calls = [
        ("admin", "POST", "users", {"name": "audited"}, 201),
        ("admin", "POST", "users", {"name": "audited"}, 409),  # refused, taken
        ("editor", "POST", "users/eddie/tokens", {"note": "laptop"}, 201),
        ("other", "DELETE", "users/eddie/tokens/{token}", None, 403),  # refused
        ("editor", "DELETE", "users/eddie/tokens/{token}", None, 204),
        ("owner", "POST", "spaces", {"name": "logged", "sharing": "shared", "app_type": "jupyterlab"}, 201),
        ("owner", "PATCH", "spaces/logged", {"display_name": "Logged"}, 200),
        ("owner", "PUT", "spaces/logged/members/otto", {"role": "viewer"}, 200),
        ("owner", "DELETE", "spaces/logged/members/otto", None, 204),
        ("other", "DELETE", "spaces/logged", None, 403),  # refused
        ("other", "PATCH", "spaces/secret-alice-zq", {"display_name": "x"}, 404),  # refused, hidden
        ("owner", "DELETE", "spaces/logged", None, 204),
        ("admin", "PATCH", "users/audited", {"display_name": "Audited User"}, 200),
        ("admin", "DELETE", "users/audited", None, 204),
    ]
    token_id = None
    for who, method, route, body, status in calls:
        r = await client.api(method, route.format(token=token_id), who=who, body=body)
        assert r.status == status, (method, route, r.text)
        if route == "users/eddie/tokens":
            token_id = r.json()["id"]
    new = [e for e in await all_events(client) if e["id"] not in before]
    seen = [(e["actor"], e["action"], e["target"], e["outcome"]) for e in reversed(new)]
    assert seen == [
        ("root", "user.create", "audited", "ok"),
        ("root", "user.create", "audited", "conflict"),
        ("eddie", "token.create", "eddie", "ok"),
        ("otto", "token.delete", "eddie", "forbidden"),
        ("eddie", "token.delete", "eddie", "ok"),
        ("alice", "space.create", "logged", "ok"),
        ("alice", "space.update", "logged", "ok"),
        ("alice", "member.put", "logged", "ok"),
        ("alice", "member.delete", "logged", "ok"),
        ("otto", "space.delete", "logged", "forbidden"),
        ("otto", "space.update", "secret-alice-zq", "not_found"),
        ("alice", "space.delete", "logged", "ok"),
        ("root", "user.update", "audited", "ok"),
        ("root", "user.delete", "audited", "ok"),
    ]
    for event in new:
        assert event["target_type"] in ("user", "space")
        when = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
        assert started <= when <= datetime.now(timezone.utc)
    member = next(e for e in new if e["action"] == "member.put")
    assert member["detail"] == {"user": "otto", "role": "viewer"}
    # Newest first, ids strictly falling across pages.
    ids = [e["id"] for e in await all_events(client)]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)


async def test_only_admins_read_the_audit_log(client, world):
    for who in ("owner", "editor", "viewer", "other"):
        r = await client.api("GET", "audit", who=who)
        assert r.status == 403 and r.json()["reason"] == "forbidden"

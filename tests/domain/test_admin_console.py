"""What the admin console stands on (issue 16): login links an admin makes for any user,
the page a used or expired link shows, the audit log's filters, and the admin's own
user and space changes, against a real domain server."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlsplit

from sqlalchemy import select, update

from jupyter_spaces.domain.models import AuditEvent, Token
from jupyter_spaces.domain.schemas import UserCreate
from jupyter_spaces.domain.service import SYSTEM
from tests.domain.conftest import cookie_header, cookies_of


def _path_of(url: str, base_url: str) -> str:
    """The link's path under the server's base URL (what ``client.request`` takes)."""
    parts = urlsplit(url)
    assert parts.path.startswith(base_url), url
    return parts.path[len(base_url):] + "?" + parts.query


async def test_an_admin_makes_a_login_link_that_signs_in_once(client, service, world):
    created = service.create_user(SYSTEM, UserCreate(name="newbie", display_name="New Bie"))
    assert created["token"]
    r = await client.api("POST", "users/newbie/login-link", who="admin")
    assert r.status == 201, r.text
    link = r.json()
    # on the domain's own address (the host a browser has it by), never a default port
    port = client.http.get_http_port()
    assert link["url"].startswith(f"http://localhost:{port}{client.base_url}login?token="), link
    assert link["user"] == "newbie"
    expires = datetime.fromisoformat(link["expires"].replace("Z", "+00:00"))
    assert timedelta(hours=23) < expires - datetime.now(timezone.utc) <= timedelta(hours=24)

    first = await client.request("GET", _path_of(link["url"], client.base_url))
    assert first.status == 302, first.text
    me = await client.api("GET", "me", headers=cookie_header(cookies_of(first)))
    assert me.json()["name"] == "newbie"

    # used: a page that says so and what to do, with no password form to fill
    again = await client.request("GET", _path_of(link["url"], client.base_url))
    assert again.status == 403
    assert "already used" in again.text and "Ask an administrator" in again.text
    assert 'type="password"' not in again.text and "<form" not in again.text
    assert not cookies_of(again)


async def test_an_expired_login_link_says_it_expired(client, service, world):
    r = await client.api("POST", "users/otto/login-link", who="admin")
    token = r.json()["url"].split("token=", 1)[1]
    with service.store.write() as s:
        s.execute(update(Token).where(Token.kind == "login").values(expires=datetime.now(timezone.utc)))
    page = await client.request("GET", f"login?token={token}")
    assert page.status == 403
    assert "has expired" in page.text and "24 hours" in page.text and "Ask an administrator" in page.text
    assert "<form" not in page.text
    # and the way to a password sign-in stays open for those who have one
    assert 'href="' + client.base_url + "login?next=" in page.text


async def test_only_admins_make_login_links_and_each_is_audited(client, service, world):
    assert (await client.api("POST", "users/otto/login-link", who="other")).status == 403  # not even their own
    assert (await client.api("POST", "users/alice/login-link", who="owner")).status == 403
    assert (await client.api("POST", "users/nobody/login-link", who="admin")).status == 404
    assert (await client.api("POST", "users/otto/login-link", who=None)).status == 403
    with service.store.read() as s:
        tokens = s.scalars(select(Token).where(Token.kind == "login")).all()
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "user.login_link")).all()
    assert tokens == []
    assert [(e.actor, e.target, e.outcome) for e in events] == [
        ("otto", "otto", "forbidden"),
        ("alice", "alice", "forbidden"),
        ("root", "nobody", "not_found"),
    ]
    assert (await client.api("POST", "users/otto/login-link", who="admin")).status == 201
    page = (await client.api("GET", "audit?action=user.login_link&outcome_is_not_a_filter=1", who="admin"))
    assert page.status == 400


async def _audit(client, query: str) -> list[dict]:
    r = await client.api("GET", "audit?" + query, who="admin")
    assert r.status == 200, r.text
    return r.json()["items"]


async def test_the_audit_log_filters(client, service, world):
    await client.api("PATCH", "spaces/team-proj", who="owner", body={"display_name": "Team"})
    await client.api("POST", "spaces/secret-otto-zq/stop", who="admin")
    await client.api("DELETE", "users/eddie/sessions", who="admin")

    by_actor = await _audit(client, "actor=alice")
    assert by_actor and {e["actor"] for e in by_actor} == {"alice"}
    spaces = await _audit(client, "action=space")
    assert spaces and all(e["action"].startswith("space.") for e in spaces)
    assert {"space.update", "space.stop"} <= {e["action"] for e in spaces}
    assert [e["target"] for e in await _audit(client, "action=space.stop")] == ["secret-otto-zq"]
    assert await _audit(client, "action=spac") == []  # a prefix of a word is no prefix
    assert await _audit(client, "action=space.%25") == []  # no LIKE wildcards
    target = await _audit(client, "target=eddie&target_type=user")
    assert [e["action"] for e in target][0] == "user.sign_out"
    assert await _audit(client, "target=eddie&target_type=space") == []
    both = await _audit(client, "actor=root&action=user.sign_out&target=eddie")
    assert len(both) == 1

    # a time range: since inclusive, until exclusive, paged with the filters kept
    everything = await _audit(client, "limit=500")
    newest = everything[0]
    at = quote(newest["time"])
    assert newest["id"] in [e["id"] for e in await _audit(client, f"since={at}")]
    assert newest["id"] not in [e["id"] for e in await _audit(client, f"until={at}")]
    future = quote((datetime.now(timezone.utc) + timedelta(hours=1)).isoformat())
    assert await _audit(client, f"since={future}") == []
    first = await client.api("GET", "audit?action=space&limit=1", who="admin")
    nxt = first.json()["next_cursor"]
    assert nxt
    second = await _audit(client, f"action=space&limit=1&cursor={quote(nxt)}")
    assert second[0]["action"].startswith("space.") and second[0]["id"] < first.json()["items"][0]["id"]

    for bad in ("since=yesterday", "since=2026-01-01T00:00:00", "target_type=group", "actor="):
        r = await client.api("GET", "audit?" + bad, who="admin")
        assert r.status == 400, (bad, r.text)
    assert (await client.api("GET", "audit?actor=alice", who="owner")).status == 403


async def test_promote_demote_and_the_last_admin(client, service, world):
    assert (await client.api("PATCH", "users/otto", who="admin", body={"admin": True})).json()["admin"] is True
    assert (await client.api("GET", "audit", who="other")).status == 200  # at once
    assert (await client.api("PATCH", "users/otto", who="admin", body={"admin": False})).json()["admin"] is False
    last = await client.api("PATCH", "users/root", who="admin", body={"admin": False})
    assert last.status == 409 and last.json()["message"] == "The domain must keep at least one administrator."
    assert (await client.api("GET", "users/root", who="admin")).json()["admin"] is True


async def test_an_admin_sets_and_clears_a_password(client, service, world):
    r = await client.api("PATCH", "users/vera", who="admin", body={"password": "a new secret"})
    assert r.status == 200
    assert service.check_password("vera", "a new secret") is not None
    assert (await client.api("PATCH", "users/vera", who="admin", body={"password": None})).status == 200
    assert service.check_password("vera", "a new secret") is None


async def test_an_admin_resizes_a_private_space_only_while_stopped(client, service, world):
    r = await client.api("PATCH", "spaces/secret-otto-zq", who="admin", body={"instance_type": "medium", "volume_gb": 7})
    assert r.status == 200, r.text
    assert (r.json()["instance_type"], r.json()["volume_gb"], r.json()["role"]) == ("medium", 7, None)
    from jupyter_spaces.domain.models import Space

    with service.store.write() as s:
        s.scalar(select(Space).where(Space.name == "secret-otto-zq")).status = "running"
    r = await client.api("PATCH", "spaces/secret-otto-zq", who="admin", body={"instance_type": "small"})
    assert r.status == 409 and "Stop space" in r.json()["message"]


async def test_me_of_a_user_removed_while_the_identity_cache_knows_them_is_the_documented_403(client, service, world):
    created = service.create_user(SYSTEM, UserCreate(name="leaver", display_name="Lea Ver"))
    client.tokens["leaver"] = created["token"]
    me = await client.api("GET", "me", who="leaver")
    assert me.status == 200, me.text  # the identity provider now remembers them (cache_seconds)
    service.delete_user(SYSTEM, "leaver")
    gone = await client.api("GET", "me", who="leaver")
    # not an undocumented 404 about a user: what the API documents for a caller it does not know
    assert gone.status == 403, gone.text
    assert gone.json()["reason"] == "forbidden"

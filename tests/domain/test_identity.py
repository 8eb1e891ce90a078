"""Domain identity: tokens, login cookie, login links, Jupyter's /api/me, and what a domain refuses."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import time
from urllib.parse import urlencode

import pytest
from conftest import cookie_header, cookies_of

from jupyter_spaces.domain.accounts import PALETTE
from jupyter_spaces.domain.models import User
from jupyter_spaces.domain.schemas import UserCreate, UserUpdate
from jupyter_spaces.domain.service import SYSTEM


async def test_jupyter_api_me_is_the_domain_user(client, world):
    r = await client.request("GET", "api/me", who="viewer")
    assert r.status == 200
    identity = r.json()["identity"]
    assert identity["username"] == "vera"
    assert identity["display_name"] == identity["name"] == "Vera Viewer"
    assert identity["initials"] == "VV"
    assert re.fullmatch(r"#[0-9a-f]{6}", identity["color"])
    assert "id" not in identity


async def test_token_in_query_parameter(client, world):
    r = await client.api("GET", f"me?{urlencode({'token': client.tokens['owner']})}")
    assert r.status == 200 and r.json()["name"] == "alice"


@pytest.mark.parametrize("header", ["token nope", "token ", "Bearer nope", "Basic YTpi"])
async def test_bad_credentials_are_refused(client, world, header):
    r = await client.api("GET", "me", headers={"Authorization": header})
    assert r.status == 403
    assert r.json()["message"]


async def test_no_single_token_mode(client, world, jp_serverapp):
    assert jp_serverapp.identity_provider.token == ""
    for path in ("api/status", "api/me", "spaces/api/me", "api/kernelspecs"):
        r = await client.request("GET", path)
        assert r.status == 403, path


@pytest.mark.parametrize("who", ["owner", "admin"])
@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "api/contents"),
        ("PUT", "api/contents/x.txt"),
        ("GET", "api/kernels"),
        ("POST", "api/kernels"),
        ("GET", "api/sessions"),
        ("POST", "api/sessions"),
        ("GET", "api/kernelspecs"),
        ("GET", "files/anything.txt"),
        ("GET", "api/terminals"),
        ("POST", "api/terminals"),
        ("POST", "api/shutdown"),
        ("GET", "api/config/notebook"),
        ("PATCH", "api/config/notebook"),
        ("GET", "nbconvert/html/x.ipynb"),
    ],
)
async def test_domain_runs_no_code_and_serves_no_files(client, world, who, method, path):
    body = b"{}" if method in ("PUT", "POST", "PATCH") else None
    r = await client.request(method, path, who=who, raw=body)
    assert r.status in (403, 404), f"{method} {path} as {who}: {r.status} {r.text[:200]}"


async def test_password_login_sets_a_cookie_that_needs_xsrf(client, service, world):
    service.update_user(SYSTEM, "alice", UserUpdate(password="correct horse battery"))
    page = await client.request("GET", "login")
    assert page.status == 200 and "Sign in" in page.text
    xsrf = cookies_of(page)["_xsrf"]
    form = urlencode({"username": "alice", "password": "wrong password", "_xsrf": xsrf}).encode()
    bad = await client.request("POST", "login", raw=form, headers=cookie_header({"_xsrf": xsrf}))
    assert bad.status == 403 and "Wrong user name or password" in bad.text
    form = urlencode({"username": "alice", "password": "correct horse battery", "_xsrf": xsrf,
                      "next": client.base_url + "spaces/home"}).encode()
    ok = await client.request("POST", "login", raw=form, headers=cookie_header({"_xsrf": xsrf}))
    assert ok.status == 302 and ok.headers["Location"].endswith("spaces/home")
    cookies = {**cookies_of(ok), "_xsrf": xsrf}
    me = await client.api("GET", "me", headers=cookie_header(cookies))
    assert me.status == 200 and me.json()["name"] == "alice"
    home = await client.request("GET", "spaces/home", headers=cookie_header(cookies))
    assert home.status == 302 and home.headers["Location"].endswith("/lab")
    body = {"name": "by-browser", "sharing": "private", "app_type": "jupyterlab"}
    no_xsrf = await client.api("POST", "spaces", body=body, headers=cookie_header(cookies))
    assert no_xsrf.status == 403
    with_xsrf = await client.api("POST", "spaces", body=body, headers={**cookie_header(cookies), "X-XSRFToken": xsrf})
    assert with_xsrf.status == 201, with_xsrf.text


async def test_open_redirects_are_refused(client, service, world):
    token = service.login_link_token(SYSTEM, "alice")
    r = await client.request("GET", f"login?{urlencode({'token': token, 'next': 'https://evil.example/'})}")
    assert r.status == 302 and r.headers["Location"] == client.base_url


async def test_login_link_works_once(client, service, world):
    token = service.login_link_token(SYSTEM, "vera")
    first = await client.request("GET", f"login?token={token}")
    assert first.status == 302
    me = await client.api("GET", "me", headers=cookie_header(cookies_of(first)))
    assert me.json()["name"] == "vera"
    second = await client.request("GET", f"login?token={token}")
    assert second.status == 403 and "already used" in second.text
    assert not cookies_of(second).get("username-127-0-0-1")


async def test_anonymous_pages_redirect_to_login(client, world):
    r = await client.request("GET", "spaces/home", headers={"Accept": "text/html"})
    assert r.status == 302 and "login" in r.headers["Location"]
    # anything but a browser's page: refused, not redirected
    r = await client.request("GET", "spaces/home")
    assert r.status == 403


async def test_removed_user_is_logged_out(client, service, world, jp_serverapp):
    created = service.create_user(SYSTEM, UserCreate(name="leaver"))
    link = await client.request("GET", f"login?token={service.login_link_token(SYSTEM, 'leaver')}")
    cookies = cookies_of(link)
    assert (await client.api("GET", "me", headers=cookie_header(cookies))).status == 200
    assert (await client.api("GET", "me", headers={"Authorization": f"token {created['token']}"})).status == 200
    assert (await client.api("DELETE", "users/leaver", who="admin")).status == 204
    assert (await client.api("GET", "me", headers=cookie_header(cookies))).status == 403
    assert (await client.api("GET", "me", headers={"Authorization": f"token {created['token']}"})).status == 403


async def test_removed_by_another_process_within_the_cache_time(client, service, world, jp_serverapp):
    """The CLI changes the store directly: the server notices within cache_seconds."""
    created = service.create_user(SYSTEM, UserCreate(name="gone"))
    headers = {"Authorization": f"token {created['token']}"}
    assert (await client.api("GET", "me", headers=headers)).status == 200  # remembered from here
    looked_up = time.monotonic()
    service.delete_user(SYSTEM, "gone")
    # Asked until refused, not slept for. The promise is the bound: a request sent more
    # than cache_seconds after the last look-up must be refused (one-sided, so a slow
    # machine cannot fail it, and the loop ends: refused, or this assertion).
    ttl = jp_serverapp.identity_provider.cache_seconds
    while True:
        sent = time.monotonic()
        status = (await client.api("GET", "me", headers=headers)).status
        if status == 403:
            break
        # (404: the cached caller's record is gone from the store; openapi.yaml does not
        # list it for GET me, see issue 18)
        assert status in (200, 404) and sent <= looked_up + ttl, (status, sent - looked_up)
        await asyncio.sleep(0.05)


async def test_deleted_and_expired_tokens_stop_working(client, service, world):
    r = await client.api("POST", "users/otto/tokens", who="other", body={"note": "laptop", "expires_in_days": 1})
    assert r.status == 201
    token, token_id = r.json()["token"], r.json()["id"]
    listed = await client.api("GET", "users/otto/tokens", who="other")
    assert token not in listed.text and any(t["note"] == "laptop" for t in listed.json()["items"])
    headers = {"Authorization": f"token {token}"}
    assert (await client.api("GET", "me", headers=headers)).status == 200
    assert (await client.api("DELETE", f"users/otto/tokens/{token_id}", who="other")).status == 204
    assert (await client.api("GET", "me", headers=headers)).status == 403


async def test_colours_are_distinct_and_stable(client, service, world):
    for i in range(len(PALETTE) - len(world.names)):
        service.create_user(SYSTEM, UserCreate(name=f"user{i}"))
    users = []
    cursor = None
    while True:
        page = (await client.api("GET", "users?limit=7" + (f"&cursor={cursor}" if cursor else ""), who="other")).json()
        users += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    colours = [u["color"] for u in users]
    assert len(users) == len(PALETTE) and len(set(colours)) == len(colours)
    again = (await client.api("GET", "users/alice", who="viewer")).json()
    assert again["color"] == next(u["color"] for u in users if u["name"] == "alice")


async def test_users_may_change_their_own_profile_but_not_admin(client, world):
    r = await client.api("PATCH", "users/vera", who="viewer", body={"display_name": "Vera V. Smith", "color": "#123456"})
    assert r.status == 200 and r.json()["initials"] == "VS" and r.json()["color"] == "#123456"
    r = await client.api("PATCH", "users/vera", who="viewer", body={"admin": True})
    assert r.status == 403


async def test_tokens_and_passwords_are_stored_hashed(client, service, world, tmp_path):
    password = "correct horse battery staple"
    r = await client.api("POST", "users", who="admin", body={"name": "hashed", "password": password})
    assert r.status == 201, r.text
    token = r.json()["token"]
    r = await client.api("POST", "users/hashed/tokens", headers={"Authorization": f"token {token}"}, body={})
    assert r.status == 201, r.text
    link = service.login_link_token(SYSTEM, "hashed")
    with contextlib.closing(sqlite3.connect(tmp_path / "domain" / "spaces.sqlite")) as db:
        dump = "\n".join(db.iterdump())  # every table, the audit log included
    for secret in (password, token, r.json()["token"], link):
        assert secret not in dump
    with service.store.read() as s:
        assert s.query(User).filter_by(name="hashed").one().password_hash.startswith("$argon2id$")

"""Findings 6 and 7 of issue 12, against a real domain server (pytest-jupyter).

6. A login cookie carried a user *name*: a new user with a removed user's name
   inherited the old cookie. Now it carries a server-side session bound to the
   user's id; logout and "sign out everywhere" end sessions; failed password
   sign-ins are rate-limited per user name and per client address, and audited.
7. An events stream followed a name: it outlived its space and delivered the next
   space with that name. Now it follows the space's id and ends with the space.
"""

from __future__ import annotations

import asyncio
import json
import time
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import select

from jupyter_spaces.domain.auth import SETTINGS_KEY
from jupyter_spaces.domain.handlers.spaces import EventsHandler
from jupyter_spaces.domain.models import LoginSession
from jupyter_spaces.domain.schemas import SpaceCreate, UserCreate
from jupyter_spaces.domain.service import SYSTEM
from tests.domainconfig import domain_server_config

PASSWORD = "correct horse battery staple"
LOCKOUT = 10.0  # long enough that 40 guesses on a loaded machine all fall inside it


@pytest.fixture
def jp_server_config(tmp_path):
    return domain_server_config(tmp_path / "domain", DomainIdentityProvider={
        "login_failures_per_user": 5,
        "login_failures_per_address": 12,
        "login_failure_window_seconds": 3.0,
        "login_lockout_seconds": LOCKOUT,
        "login_max_lockout_seconds": LOCKOUT,
    })


@pytest.fixture
def service(jp_serverapp):
    return jp_serverapp.web_app.settings[SETTINGS_KEY].service


@pytest.fixture
def domain(service, http_server_client, jp_base_url):
    return Domain(service, http_server_client, jp_base_url)


def cookies_of(response) -> dict:
    jar = SimpleCookie()
    for value in response.headers.get_list("Set-Cookie"):
        jar.load(value)
    return {k: m.value for k, m in jar.items() if m.value}


class Domain:
    def __init__(self, service, http, base_url):
        self.service, self.http, self.base_url = service, http, base_url
        self.tokens: dict[str, str] = {}

    def add_user(self, name, admin=False, password=PASSWORD):
        self.tokens[name] = self.service.create_user(SYSTEM, UserCreate(name=name, admin=admin, password=password))["token"]

    async def request(self, method, path, *, who=None, cookies=None, body=None, headers=None):
        # The domain's host name on loopback, as a browser has it.
        headers = {"Host": f"localhost:{self.http.get_http_port()}", **(headers or {})}
        if who:
            headers["Authorization"] = f"token {self.tokens[who]}"
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
            if "_xsrf" in cookies:
                headers["X-XSRFToken"] = cookies["_xsrf"]
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b""
        return await self.http.fetch(
            self.base_url + path, method=method, headers=headers, body=body, raise_error=False,
            follow_redirects=False, allow_nonstandard_methods=True,
        )

    async def api(self, method, route, **kw):
        if isinstance(kw.get("body"), dict):
            kw["body"] = json.dumps(kw["body"]).encode()
        return await self.request(method, "spaces/api/" + route, **kw)

    async def login(self, name, password=PASSWORD):
        """Sign in with the form; returns (response, the browser's cookies)."""
        page = await self.request("GET", "login")
        xsrf = cookies_of(page)["_xsrf"]
        form = urlencode({"username": name, "password": password, "_xsrf": xsrf}).encode()
        r = await self.request("POST", "login", body=form, cookies={"_xsrf": xsrf})
        return r, {"_xsrf": xsrf, **cookies_of(r)}

    async def me(self, cookies) -> str | None:
        r = await self.api("GET", "me", cookies=cookies)
        return r.code == 200 and json.loads(r.body)["name"]

    async def audit(self, who) -> list[dict]:
        r = await self.api("GET", "audit?limit=500", who=who)
        assert r.code == 200
        return json.loads(r.body)["items"]


async def signed_in(domain, name) -> dict:
    r, cookies = await domain.login(name)
    assert r.code == 302, r.body
    assert await domain.me(cookies) == name
    return cookies


# -- finding 6 ---------------------------------------------------------------------------


async def test_a_cookie_of_a_removed_user_is_not_the_new_user_of_that_name(domain, service):
    domain.add_user("root", admin=True)
    domain.add_user("tmpu")
    cookies = await signed_in(domain, "tmpu")
    login_cookie = next(k for k in cookies if k.startswith("username-"))
    assert "tmpu" not in cookies[login_cookie]  # a session id, not the name
    assert (await domain.api("DELETE", "users/tmpu", who="root")).code == 204
    r = await domain.api("POST", "users", who="root", body={"name": "tmpu", "admin": True, "password": PASSWORD})
    assert r.code == 201
    assert await domain.me(cookies) is False
    assert (await domain.api("GET", "audit", cookies=cookies)).code == 403
    page = await domain.request("GET", "spaces/home", cookies=cookies, headers={"Accept": "text/html"})
    assert page.code == 302 and "login" in page.headers["Location"]
    # The new tmpu signs in on their own.
    assert await domain.me((await domain.login("tmpu"))[1]) == "tmpu"


async def test_logout_ends_the_session(domain, service):
    domain.add_user("vera")
    cookies = await signed_in(domain, "vera")
    other = await signed_in(domain, "vera")
    r = await domain.request("GET", "logout", cookies=cookies)
    assert r.code == 200
    assert await domain.me(cookies) is False  # at once: the cache was cleared
    assert await domain.me(other) == "vera"  # another browser stays
    with service.store.read() as s:
        rows = s.scalars(select(LoginSession)).all()
    assert sorted(r.ended is None for r in rows) == [False, True]
    assert all(r.client == "127.0.0.1" for r in rows)


async def test_sign_out_everywhere(domain, service):
    domain.add_user("root", admin=True)
    domain.add_user("vera")
    domain.add_user("otto")
    browsers = [await signed_in(domain, "vera") for _ in range(2)]
    ottos = await signed_in(domain, "otto")
    assert (await domain.api("DELETE", "users/vera/sessions", who="otto")).code == 403
    assert (await domain.api("DELETE", "users/nobody/sessions", who="root")).code == 404
    # Self, from one of the browsers (with XSRF, as the page would).
    assert (await domain.api("DELETE", "users/vera/sessions", cookies=browsers[0])).code == 204
    for cookies in browsers:
        assert await domain.me(cookies) is False
    assert (await domain.api("GET", "me", who="vera")).code == 200  # API tokens stay
    assert await domain.me(ottos) == "otto"
    # An admin, for someone else.
    assert (await domain.api("DELETE", "users/otto/sessions", who="root")).code == 204
    assert await domain.me(ottos) is False
    events = [(e["actor"], e["action"], e["target"], e["outcome"]) for e in await domain.audit("root")]
    assert ("vera", "user.sign_out", "vera", "ok") in events
    assert ("root", "user.sign_out", "otto", "ok") in events
    assert ("otto", "user.sign_out", "vera", "forbidden") in events


async def test_a_new_password_signs_out_whoever_knew_the_old_one(domain, service):
    domain.add_user("root", admin=True)
    domain.add_user("vera")
    here, elsewhere = await signed_in(domain, "vera"), await signed_in(domain, "vera")
    # Vera changes her own password in one browser: that one stays signed in, the other not.
    r = await domain.api("PATCH", "users/vera", cookies=here, body={"password": "a-new-secret-1"})
    assert r.code == 200, r.body
    assert await domain.me(here) == "vera"
    assert await domain.me(elsewhere) is False
    assert (await domain.login("vera"))[0].code != 302  # the old password is gone
    # An admin resets it (an account taken over): every browser of hers is signed out.
    again = (await domain.login("vera", "a-new-secret-1"))[1]
    assert await domain.me(again) == "vera"
    assert (await domain.api("PATCH", "users/vera", who="root", body={"password": "from-the-admin-2"})).code == 200
    assert await domain.me(here) is False and await domain.me(again) is False
    assert (await domain.api("GET", "me", who="vera")).code == 200  # API tokens stay
    # A change of name only ends nothing.
    fresh = (await domain.login("vera", "from-the-admin-2"))[1]
    assert (await domain.api("PATCH", "users/vera", cookies=fresh, body={"display_name": "Vera V"})).code == 200
    assert await domain.me(fresh) == "vera"
    updates = [e["detail"] for e in await domain.audit("root") if e["action"] == "user.update"]
    assert sorted(str(d.get("sessions_ended")) for d in updates) == ["1", "2", "None"], updates


async def test_password_guessing_is_rate_limited_and_audited(domain, service):
    domain.add_user("root", admin=True)
    domain.add_user("vera")
    codes, retry = [], []
    started = time.monotonic()
    for i in range(40):
        r, _ = await domain.login("vera", f"guess {i}")
        codes.append(r.code)
        if r.code == 429:
            retry.append(int(r.headers["Retry-After"]))
            assert b"Too many failed sign-ins" in r.body
    assert time.monotonic() - started < LOCKOUT  # all 40 inside the first lock-out
    assert codes == [403] * 5 + [429] * 35, codes
    assert all(1 <= s <= LOCKOUT for s in retry)
    # The right password is refused too while locked out ...
    r, cookies = await domain.login("vera")
    assert r.code == 429 and await domain.me(cookies) is False
    # ... and works once the lock-out is over.
    await asyncio.sleep(int(r.headers["Retry-After"]) + 0.1)
    r, cookies = await domain.login("vera")
    assert r.code == 302 and await domain.me(cookies) == "vera"
    events = await domain.audit("root")
    failed = [e for e in events if (e["action"], e["target"], e["outcome"]) == ("user.login", "vera", "failed")]
    assert len(failed) == 5 and all(e["detail"]["client"] == "127.0.0.1" for e in failed)
    locks = [e for e in events if e["action"] == "user.lockout"]
    assert [(e["target"], e["outcome"], e["detail"]["scope"]) for e in locks] == [("vera", "locked", "user")]
    assert any((e["actor"], e["action"], e["outcome"]) == ("vera", "user.login", "ok") for e in events)


async def test_guessing_across_names_locks_the_address(domain, service):
    domain.add_user("vera")
    for i in range(12):
        r, _ = await domain.login(f"user{i}", "guess")
        assert r.code == 403
    r, cookies = await domain.login("vera")
    assert r.code == 429 and "Retry-After" in r.headers


# -- finding 7 ---------------------------------------------------------------------------


class Stream:
    """An events stream read in the background: ``events`` fills, ``done`` when it ends."""

    def __init__(self, url, token):
        self.url, self.token = url, token
        self.events: list[tuple[str, dict]] = []
        self.first = asyncio.Event()
        self.task = asyncio.ensure_future(self._read())

    async def _read(self):
        async with httpx.AsyncClient(timeout=30) as http:
            async with http.stream("GET", self.url, headers={"Authorization": f"token {self.token}"}) as r:
                assert r.status_code == 200
                event = None
                async for line in r.aiter_lines():
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: "):
                        self.events.append((event, json.loads(line[6:])))
                        self.first.set()

    async def ended(self, timeout=10):
        await asyncio.wait_for(self.task, timeout)
        return [(e, d["status"]) for e, d in self.events if e == "status"]


@pytest.fixture
def events_url(jp_http_port, jp_base_url):
    return lambda name: f"http://127.0.0.1:{jp_http_port}{jp_base_url}spaces/api/spaces/{name}/events"


async def test_an_events_stream_ends_with_its_space(domain, service, events_url):
    domain.add_user("alice")
    domain.add_user("bob")
    domain.add_user("carol")
    r = await domain.api("POST", "spaces", who="alice", body={"name": "zz", "sharing": "shared", "app_type": "jupyterlab"})
    assert r.code == 201
    stream = Stream(events_url("zz"), domain.tokens["bob"])
    await asyncio.wait_for(stream.first.wait(), 10)
    assert (await domain.api("DELETE", "spaces/zz", who="alice")).code == 204
    assert await stream.ended() == [("status", "stopped"), ("status", "deleted")]
    # carol's new private zz: its status changes never reach bob, and bob cannot follow it.
    r = await domain.api("POST", "spaces", who="carol", body={"name": "zz", "sharing": "private", "app_type": "jupyterlab"})
    assert r.code == 201
    assert (await domain.api("POST", "spaces/zz/start", who="carol")).code == 202
    assert (await domain.api("GET", "spaces/zz/events", who="bob")).code == 404
    await asyncio.sleep(0.5)
    assert [d["status"] for _, d in stream.events] == ["stopped", "deleted"]


async def test_a_stream_of_an_old_space_never_shows_the_new_one(domain, service, events_url, monkeypatch):
    """Deleted behind the server's back (the CLI): the stream ends at its next keep-alive,
    and a new space of that name, started meanwhile in this server, is not shown on it."""
    monkeypatch.setattr(EventsHandler, "keepalive_seconds", 0.5)
    domain.add_user("alice")
    domain.add_user("carol")
    service.create_space(SYSTEM, SpaceCreate(name="zz", sharing="shared", app_type="jupyterlab"), owner="alice")
    stream = Stream(events_url("zz"), domain.tokens["alice"])
    await asyncio.wait_for(stream.first.wait(), 10)
    service.begin_delete(SYSTEM, "zz")
    service.finish_delete("zz")
    service.create_space(SYSTEM, SpaceCreate(name="zz", sharing="private", app_type="jupyterlab"), owner="carol")
    assert (await domain.api("POST", "spaces/zz/start", who="carol")).code == 202
    assert await stream.ended() == [("status", "stopped"), ("status", "deleted")]

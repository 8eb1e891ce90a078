"""Issue 12, finding 3: each space on its own origin (``{space}.localhost`` on loopback): the browser's way in
through one-time tickets, host-only cookies, and what a space's host serves and refuses.

The domain listens on loopback here, so it is in host mode by default, as `make demo` is.
"""

from __future__ import annotations

import json
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

from tests.domain.conftest import (  # noqa: F401  (fixtures)
    client,
    cookie_header,
    domain,
    jp_server_config,
    service,
    world,
)
from tests.domain.test_proxy import (  # noqa: F401  (fixtures)
    BASE,
    SPACE,
    echo_server,
    enter_space,
    host_of,
    jp_base_url,
    login_cookies,
    port,
    proxied,
    raw,
    space_path,
    space_server,
)

from jupyter_spaces.domain.origins import SPACE_COOKIE, SpaceOrigins
from jupyter_spaces.domain.schemas import SpaceCreate
from jupyter_spaces.domain.service import SYSTEM

HTML = {"Accept": "text/html"}


def set_cookie_lines(response, name: str) -> list[str]:
    return [c for c in response.headers.get_list("Set-Cookie") if c.startswith(name + "=")]


async def ticket_redirect(client, service, port, user: str, space: str) -> tuple[dict, str]:
    """(the domain's cookies, the Location with a ticket) for a browser opening ``space``."""
    cookies = await login_cookies(client, service, user)
    r = await raw(port, "GET", space_path(space, "lab?reset"), headers={**cookie_header(cookies), **HTML})
    assert r.code == 302, (r.code, r.body[:300])
    assert r.headers["Cache-Control"] == "no-store"
    return cookies, r.headers["Location"]


def test_origin_names():
    origins = SpaceOrigins("{space}.localhost")
    assert origins.space_of("team-a.localhost:8888") == "team-a"
    assert origins.space_of("TEAM-A.localhost") == "team-a"
    for host in ("localhost:8888", "a.b.localhost", "-a.localhost", "a.localhost.evil.org", "127.0.0.1:1", ""):
        assert origins.space_of(host) is None, host
    assert origins.space_origin("x", "http", "localhost:8888") == "http://x.localhost:8888"
    assert origins.domain_origin("https", "x.localhost") == "https://localhost"
    assert SpaceOrigins("").space_of("x.localhost") is None and not SpaceOrigins("").isolated


async def test_a_browser_enters_through_a_one_time_ticket(client, proxied, service, port):
    _, location = await ticket_redirect(client, service, port, "alice", "echo")
    url = urlsplit(location)
    assert f"{url.scheme}://{url.netloc}" == f"http://{host_of('echo', port)}"
    assert url.path == f"{BASE}spaces/_enter"
    query = parse_qs(url.query)
    assert query["next"] == [f"{BASE}spaces/echo/lab?reset"]
    # on another space's host the ticket is worth nothing (and is used up)
    r = await raw(port, "GET", f"{url.path}?{url.query}", host=host_of(SPACE, port))
    assert r.code == 302 and not set_cookie_lines(r, SPACE_COOKIE)
    assert urlsplit(r.headers["Location"]).netloc == f"localhost:{port}"
    r = await raw(port, "GET", f"{url.path}?{url.query}", host=host_of("echo", port))
    assert r.code == 302 and not set_cookie_lines(r, SPACE_COOKIE)
    # a fresh one enters, once
    _, location = await ticket_redirect(client, service, port, "alice", "echo")
    url = urlsplit(location)
    r = await raw(port, "GET", f"{url.path}?{url.query}", host=url.netloc)
    assert r.code == 302 and r.headers["Location"] == f"{BASE}spaces/echo/lab?reset"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    (line,) = set_cookie_lines(r, SPACE_COOKIE)
    attributes = {a.strip().split("=")[0].lower() for a in line.split(";")[1:]}
    assert "domain" not in attributes  # host-only: no other host ever gets it
    assert {"httponly", "path", "samesite"} <= attributes
    again = await raw(port, "GET", f"{url.path}?{url.query}", host=url.netloc)
    assert again.code == 302 and not set_cookie_lines(again, SPACE_COOKIE)
    # with it, the space's host serves the space
    jar = SimpleCookie()
    jar.load(line)
    r = await raw(port, "GET", space_path("echo", "echo/in"), host=url.netloc,
                  headers=cookie_header({SPACE_COOKIE: jar[SPACE_COOKIE].value}))
    assert r.code == 200 and json.loads(r.body)["verified_as"] == "alice"


async def test_the_domains_login_cookie_never_reaches_a_space_host(client, proxied, service, port):
    domain_cookies = await login_cookies(client, service, "alice")
    # sent there anyway (a browser would not): it is not a credential on a space's host
    r = await raw(port, "GET", space_path("echo", "echo/x"), host=host_of("echo", port),
                  headers=cookie_header(domain_cookies))
    assert r.code == 403
    r = await raw(port, "GET", space_path("echo", "lab"), host=host_of("echo", port),
                  headers={**cookie_header(domain_cookies), **HTML})
    # a browser is sent to the domain's address of the page, to log in and get a ticket
    assert r.code == 302 and r.headers["Location"] == f"http://localhost:{port}{BASE}spaces/echo/lab"


async def test_the_domains_host_never_serves_a_space_to_a_browser(client, proxied, service, port):
    cookies = await login_cookies(client, service, "alice")
    # any cookie GET becomes a ticket redirect, never the space's content
    r = await raw(port, "GET", space_path("echo", "echo/x"), headers=cookie_header(cookies))
    assert r.code == 302 and urlsplit(r.headers["Location"]).netloc == host_of("echo", port)
    # writes and websockets with the login cookie: refused, the space never asked
    r = await raw(port, "PUT", space_path("echo", "echo/x"), body=b"x",
                  headers={**cookie_header({**cookies, "_xsrf": "pair"}), "X-XSRFToken": "pair"})
    assert r.code == 403 and json.loads(r.body)["reason"] == "space_origin"
    # an API token in the URL would render a page on the domain's origin
    token = client.tokens["owner"]
    r = await raw(port, "GET", space_path("echo", f"echo/x?token={token}"))
    assert r.code == 403 and json.loads(r.body)["reason"] == "space_origin"
    r = await raw(port, "GET", space_path("echo", "echo/x"), headers={"Authorization": f"token {token}"})
    assert r.code == 200


async def test_a_hidden_space_gets_no_ticket(client, proxied, service, port):
    service.create_space(SYSTEM, SpaceCreate(name="alices-own", sharing="private", app_type="jupyterlab"),
                         owner="alice")
    for who in ("otto", "root"):  # another user, an admin
        cookies = await login_cookies(client, service, who)
        r = await raw(port, "GET", space_path("alices-own", "lab"), headers={**cookie_header(cookies), **HTML})
        missing = await raw(port, "GET", space_path("no-such", "lab"), headers={**cookie_header(cookies), **HTML})
        assert r.code == missing.code == 404, who
        assert "Location" not in r.headers


async def test_a_space_host_serves_its_own_space_and_reads_about_it_only(client, proxied, service, port):
    cookies = await enter_space(client, service, port, "alice", "echo")
    own = host_of("echo", port)
    headers = cookie_header(cookies)
    # another space's path on this host: as missing
    r = await raw(port, "GET", space_path(SPACE, "api/contents"), host=own, headers=headers)
    assert r.code == 404
    # this space's session is worth nothing on another space's host
    r = await raw(port, "GET", space_path(SPACE, "api/contents"), host=host_of(SPACE, port), headers=headers)
    assert r.code == 403
    # the labextension's reads about this space
    r = await raw(port, "GET", "spaces/api/me", host=own, headers=headers)
    assert r.code == 200 and json.loads(r.body)["name"] == "alice"
    r = await raw(port, "GET", "spaces/api/spaces", host=own, headers=headers)
    assert r.code == 200 and [s["name"] for s in json.loads(r.body)["items"]] == ["echo"]
    r = await raw(port, "GET", "spaces/api/spaces/echo", host=own, headers=headers)
    assert r.code == 200 and json.loads(r.body)["role"] == "owner"
    # nothing else of the domain: no other space, no users, no tokens, no changes
    xsrf = {"X-XSRFToken": "x", "Cookie": headers["Cookie"] + "; _xsrf=x"}
    for method, path in [
        ("GET", "spaces/api/spaces/" + SPACE),
        ("GET", "spaces/api/users"),
        ("GET", "spaces/api/users/alice/tokens"),
        ("POST", "spaces/api/users/alice/tokens"),
        ("PATCH", "spaces/api/users/alice"),
        ("POST", "spaces/api/spaces/echo/stop"),
        ("DELETE", "spaces/api/spaces/echo"),
        ("GET", "spaces/api/spaces/echo/members"),
        ("GET", "spaces/api/audit"),
        ("GET", "spaces/api/events"),  # the domain's feed: every space the user sees
    ]:
        body = b"{}" if method in ("POST", "PATCH") else None
        r = await raw(port, method, path, host=own, headers=xsrf, body=body)
        assert r.code in (403, 404), (method, path, r.code)
    # the domain's pages: its home is on its own host
    r = await raw(port, "GET", "lab?new-space=1", host=own, headers=headers)
    assert r.code == 302 and r.headers["Location"] == f"http://localhost:{port}{BASE}lab?new-space=1"
    r = await raw(port, "GET", "login", host=own, headers=headers)
    assert r.code == 404


async def test_a_page_of_another_origin_changes_nothing_with_the_login_cookie(client, proxied, service, port):
    cookies = await login_cookies(client, service, "root")  # an admin, with a valid XSRF pair
    headers = {**cookie_header({**cookies, "_xsrf": "pair"}), "X-XSRFToken": "pair"}
    body = json.dumps({"admin": True})
    # jupyter_server's APIHandler refuses a cookie request of another origin (as a 404)
    for origin in (f"http://{host_of('echo', port)}", "null", "http://evil.example"):
        r = await raw(port, "PATCH", "spaces/api/users/otto", headers={**headers, "Origin": origin}, body=body)
        assert r.code == 404, (origin, r.code, r.body)
    assert service.user_by_name("otto").admin is False
    r = await raw(port, "PATCH", "spaces/api/users/otto", body=body,
                  headers={**headers, "Origin": f"http://localhost:{port}"})
    assert r.code == 200 and service.user_by_name("otto").admin is True


async def test_a_browser_at_127_0_0_1_is_sent_to_localhost(client, proxied, service, port):
    """Its spaces lead back to localhost: a login there would be a login nowhere."""
    token = service.login_link_token(SYSTEM, "alice")
    at_ip = f"127.0.0.1:{port}"
    r = await raw(port, "GET", f"login?token={token}", host=at_ip, headers=HTML)
    assert r.code == 302 and r.headers["Location"] == f"http://localhost:{port}{BASE}login?token={token}"
    assert not r.headers.get_list("Set-Cookie")
    r = await raw(port, "GET", f"login?token={token}", headers=HTML)  # the link is still unused
    assert r.code == 302 and any(c.startswith("username-localhost") for c in r.headers.get_list("Set-Cookie"))
    # API clients are served where they are
    r = await raw(port, "GET", "spaces/api/me", host=at_ip, headers={"Authorization": f"token {client.tokens['owner']}"})
    assert r.code == 200 and json.loads(r.body)["name"] == "alice"


async def test_log_out_in_a_space_is_the_domains_logout(client, proxied, service, port):
    """JupyterLab's File > Log Out in a space goes to the space's base_url + logout: it
    answered 404 and logged nobody out. It is the domain's logout now, which ends the
    space session too."""
    cookies, location = await ticket_redirect(client, service, port, "alice", "echo")
    url = urlsplit(location)
    r = await raw(port, "GET", f"{url.path}?{url.query}", host=url.netloc)
    (line,) = set_cookie_lines(r, SPACE_COOKIE)
    jar = SimpleCookie()
    jar.load(line)
    # as a browser has them on the space's page (with an _xsrf cookie, which lets the
    # proxy's fast path serve the page's repeat requests)
    space = cookie_header({SPACE_COOKIE: jar[SPACE_COOKIE].value, "_xsrf": "x"})
    r = await raw(port, "GET", space_path("echo", "echo/in"), host=url.netloc, headers=space)
    assert r.code == 200, r.code
    r = await raw(port, "GET", space_path("echo", "logout"), host=url.netloc, headers={**space, **HTML})
    assert r.code == 302 and r.headers["Location"] == f"http://localhost:{port}{BASE}logout"
    # another space's on this host: nothing
    r = await raw(port, "GET", space_path(SPACE, "logout"), host=url.netloc, headers={**space, **HTML})
    assert r.code == 404
    # the browser follows with its login cookie: signed out, of the space as well
    r = await raw(port, "GET", "logout", headers={**cookie_header(cookies), **HTML})
    assert r.code == 200, r.code
    r = await raw(port, "GET", space_path("echo", "echo/in"), host=url.netloc, headers=space)
    assert r.code == 403, r.code

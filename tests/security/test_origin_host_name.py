"""Issue 12, finding 3, with a host name: ``c.DomainApp.space_host = "{space}.spaces.test"``.

The domain is served on ``spaces.test`` and each space on ``{space}.spaces.test`` (a
deployment's wildcard DNS; here Host headers on loopback), entered through tickets as on
``localhost``; ``*.localhost`` means nothing to such a domain, and a page visit at
127.0.0.1 is not redirected (that is loopback mode's).
"""

from __future__ import annotations

import json
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

import pytest

from jupyter_spaces.domain.origins import SPACE_COOKIE
from jupyter_spaces.domain.service import SYSTEM
from tests.domainconfig import domain_server_config
from tests.domain.conftest import client, cookie_header, domain, service, world  # noqa: F401  (fixtures)
from tests.domain.test_proxy import (  # noqa: F401  (fixtures)
    BASE,
    echo_server,
    jp_base_url,
    port,
    proxied,
    raw,
    space_path,
    space_server,
)

HTML = {"Accept": "text/html"}


@pytest.fixture
def jp_server_config(tmp_path):
    # the names of a deployment, not of this machine
    return domain_server_config(tmp_path / "domain", server={"allow_remote_access": True},
                                domain={"space_host": "{space}.spaces.test"})


def cookies_set(response) -> dict:
    jar = SimpleCookie()
    for line in response.headers.get_list("Set-Cookie"):
        jar.load(line)
    return {k: m.value for k, m in jar.items()}


async def test_spaces_are_entered_on_their_configured_host_names(client, proxied, service, port):
    domain_host, space_host = f"spaces.test:{port}", f"echo.spaces.test:{port}"
    token = service.login_link_token(SYSTEM, "alice")
    r = await raw(port, "GET", f"login?token={token}", host=domain_host, headers=HTML)
    assert r.code == 302
    login = cookies_set(r)
    r = await raw(port, "GET", space_path("echo", "lab"), host=domain_host, headers={**cookie_header(login), **HTML})
    assert r.code == 302
    location = urlsplit(r.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == ("http", space_host, f"{BASE}spaces/_enter")
    r = await raw(port, "GET", f"{location.path}?{location.query}", host=space_host)
    assert r.code == 302 and r.headers["Location"] == f"{BASE}spaces/echo/lab"
    space = {SPACE_COOKIE: cookies_set(r)[SPACE_COOKIE]}
    r = await raw(port, "GET", space_path("echo", "echo/in"), host=space_host, headers=cookie_header(space))
    assert r.code == 200 and json.loads(r.body)["verified_as"] == "alice"
    # the space's way home is the domain's host name
    r = await raw(port, "GET", "lab", host=space_host, headers=cookie_header(space))
    assert r.code == 302 and r.headers["Location"] == f"http://{domain_host}{BASE}lab"
    # *.localhost is no space's origin here: the space cookie is nothing there
    r = await raw(port, "GET", space_path("echo", "echo/in"), host=f"echo.localhost:{port}", headers=cookie_header(space))
    assert r.code == 403
    # and a page visit at 127.0.0.1 stays where it is (no loopback redirect)
    r = await raw(port, "GET", "login", host=f"127.0.0.1:{port}", headers=HTML)
    assert r.code == 200

"""A real domain server (pytest-jupyter) with users, spaces and an HTTP client."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

import pytest
from sqlalchemy import select

from jupyter_spaces.domain.auth import SETTINGS_KEY
from jupyter_spaces.domain.models import Member, Space, Token, User
from jupyter_spaces.domain.schemas import MemberPut, SpaceCreate, UserCreate
from jupyter_spaces.domain.service import SYSTEM
from tests.domainconfig import domain_server_config, lifecycle_running

# Callers of the access matrix, and the users behind them.
USERS = {
    "owner": ("alice", "Alice Owner", False),
    "editor": ("eddie", "Eddie Editor", False),
    "viewer": ("vera", "Vera Viewer", False),
    "other": ("otto", "Otto Other", False),
    "admin": ("root", "Root Admin", True),
}


@pytest.fixture
def jp_server_config(tmp_path):
    return domain_server_config(tmp_path / "domain")


@pytest.fixture
def domain(jp_serverapp):
    return jp_serverapp.web_app.settings[SETTINGS_KEY]


@pytest.fixture
def lifecycle(domain, jp_asyncio_loop):
    """The domain's lifecycle with its background checks on; no space outlives the test."""
    for _ in lifecycle_running(domain.lifecycle, jp_asyncio_loop):
        yield domain.lifecycle


@pytest.fixture
def service(domain):
    return domain.service


def cookies_of(response) -> dict:
    """The cookies a response sets."""
    jar = SimpleCookie()
    for key, value in response.headers.items():
        if key.lower() == "set-cookie":
            jar.load(value)
    return {k: m.value for k, m in jar.items()}


def cookie_header(cookies: dict) -> dict:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict

    def json(self):
        return json.loads(self.body) if self.body else None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class Client:
    """Raw HTTP against the test server; never raises on an error status."""

    http: object
    base_url: str
    tokens: dict = field(default_factory=dict)

    async def request(self, method, path, *, who=None, body=None, raw=None, headers=None, **kw):
        headers = dict(headers or {})
        if who is not None:
            headers["Authorization"] = f"token {self.tokens[who]}"
        if raw is None and body is not None:
            raw = json.dumps(body).encode()
        if raw is None and method in ("POST", "PUT", "PATCH"):
            raw = b""
        # The domain's host name on loopback, as a browser has it (a page asked for at
        # 127.0.0.1 is sent there).
        headers.setdefault("Host", f"localhost:{self.http.get_http_port()}")
        url = self.base_url + path.lstrip("/")
        resp = await self.http.fetch(
            url, method=method, headers=headers, body=raw, raise_error=False,
            follow_redirects=False, allow_nonstandard_methods=True, **kw,
        )
        return Response(resp.code, resp.body or b"", dict(resp.headers.get_all()))

    def api(self, method, route, **kw):
        return self.request(method, "spaces/api/" + route.lstrip("/"), **kw)


@pytest.fixture
def client(http_server_client, jp_base_url, service):
    return Client(http_server_client, jp_base_url)


def make_users(service, client) -> dict[str, str]:
    """The five callers of the matrix; returns role -> user name (tokens go to the client)."""
    names = {}
    for role, (name, display, admin) in USERS.items():
        created = service.create_user(SYSTEM, UserCreate(name=name, display_name=display, admin=admin))
        client.tokens[role] = created["token"]
        names[role] = name
    return names


@pytest.fixture
def world(service, client):
    """Users of every role, a shared space with members, and private spaces of everyone.

    ``world.hidden[role]`` lists the space names that caller must never see.
    """
    names = make_users(service, client)
    service.create_space(
        SYSTEM, SpaceCreate(name="team-proj", sharing="shared", app_type="jupyterlab"), owner="alice"
    )
    service.put_member(SYSTEM, "team-proj", "eddie", MemberPut(role="editor"))
    service.put_member(SYSTEM, "team-proj", "vera", MemberPut(role="viewer"))
    privates = {}
    for role, name in names.items():
        space = f"secret-{name}-zq"
        service.create_space(SYSTEM, SpaceCreate(name=space, sharing="private", app_type="jupyterlab"), owner=name)
        privates[role] = space
    hidden = {
        role: [s for r, s in privates.items() if r != role] if role != "admin" else []
        for role in names
    }
    hidden["anonymous"] = list(privates.values())
    return World(names=names, private=privates, hidden=hidden)


@dataclass
class World:
    names: dict
    private: dict
    hidden: dict


# Bookkeeping that any authenticated request may update.
TOUCHED = {"last_used", "last_activity"}


def snapshot(service) -> dict:
    """Every row that a refused request must leave untouched (the audit log aside)."""
    with service.store.read() as s:
        return {
            model.__tablename__: sorted(
                tuple(str(getattr(row, c.key)) for c in model.__table__.columns if c.key not in TOUCHED)
                for row in s.scalars(select(model))
            )
            for model in (User, Token, Space, Member)
        }

"""The store and the policy as plain Python: no server."""

from __future__ import annotations

import contextlib
import random

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text

from jupyter_spaces.domain import policy
from jupyter_spaces.domain.accounts import check_password, hash_password, initials_for
from jupyter_spaces.domain.catalog import DEFAULT_IMAGES, DEFAULT_INSTANCE_TYPES, Catalog
from jupyter_spaces.domain.models import Base, Space, User
from jupyter_spaces.domain.schemas import SpaceCreate, SpaceQuery, UserCreate
from jupyter_spaces.domain.service import SYSTEM, DomainService
from jupyter_spaces.domain.store import MIGRATIONS, Store, sqlite_url
from jupyter_spaces.errors import Forbidden, NotFound

LATEST = sorted(p.name[:4] for p in (MIGRATIONS / "versions").glob("[0-9]*.py"))[-1]


@pytest.fixture
def store(tmp_path):
    store = Store(sqlite_url(tmp_path / "s.sqlite"))
    store.migrate()
    yield store
    store.close()


def test_migrations_create_exactly_the_models(store):
    with store.write_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_migrate_is_idempotent_and_wal(store):
    store.migrate()
    with store.read() as s:
        assert s.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert s.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert s.execute(text("SELECT version_num FROM alembic_version")).scalar() == LATEST


def test_passwords_and_initials():
    h = hash_password("s3cret password")
    assert h.startswith("$argon2") and check_password(h, "s3cret password")
    assert not check_password(h, "wrong") and not check_password(None, "x") and not check_password("junk", "x")
    assert initials_for("Ada Lovelace") == "AL"
    assert initials_for("grace") == "GR"
    assert initials_for("Jean-Luc Picard") == "JP"
    assert initials_for("  ") == "?"


ALICE = policy.Caller(1, "alice", False)
BOB = policy.Caller(2, "bob", False)
ADMIN = policy.Caller(3, "root", True)
PRIVATE = policy.SpaceRef("p", owner_id=1, sharing="private")
SHARED = policy.SpaceRef("s", owner_id=1, sharing="shared")


def test_policy_private_space_exists_only_for_its_owner():
    A = policy.Action
    assert policy.check(ALICE, PRIVATE, A.OPEN, "editor") == "owner"
    for action in A:
        with pytest.raises(NotFound):
            policy.check(BOB, PRIVATE, action, "editor")
    # Admins: metadata, stop, delete, update — never inside.
    assert policy.check(ADMIN, PRIVATE, A.DESCRIBE, "editor") is None
    for action in (A.STOP, A.DELETE, A.UPDATE):
        policy.check(ADMIN, PRIVATE, action, "editor")
    for action in (A.OPEN, A.READ_MEMBERS, A.MANAGE_MEMBERS):
        with pytest.raises(NotFound):
            policy.check(ADMIN, PRIVATE, action, "editor")
    with pytest.raises(Forbidden):
        policy.check(ADMIN, PRIVATE, A.START, "editor")


def test_policy_shared_space_roles():
    A = policy.Action
    viewer = policy.SpaceRef("s", 1, "shared", member_role="viewer")
    assert policy.check(BOB, viewer, A.OPEN, "editor") == "viewer"
    with pytest.raises(Forbidden):
        policy.check(BOB, viewer, A.START, "editor")
    assert policy.check(BOB, SHARED, A.START, "editor") == "editor"
    assert policy.check(BOB, SHARED, A.OPEN, "viewer") == "viewer"
    with pytest.raises(Forbidden):
        policy.check(BOB, SHARED, A.MANAGE_MEMBERS, "editor")
    policy.check(ADMIN, SHARED, A.MANAGE_MEMBERS, "editor")


@pytest.mark.parametrize("sort", ["name", "-name", "created", "-last_activity"])
@pytest.mark.parametrize("filters", [{}, {"sharing": "private"}, {"name_contains": "1"}, {"owner": "me"},
                                     {"app_type": "rstudio"}, {"status": "running", "sharing": "shared"}])
def test_a_users_pages_are_exactly_what_they_may_see(store, sort, filters):
    """Shared spaces and the caller's own private ones, each once, in order, page by page
    (the list merges a page of each; see DomainService.list_spaces)."""
    service = DomainService(store, Catalog(DEFAULT_INSTANCE_TYPES, DEFAULT_IMAGES))
    for name in ("me", "other"):
        service.create_user(SYSTEM, UserCreate(name=name))
    rnd = random.Random(3)
    expected = []
    for i in range(60):
        owner, sharing = rnd.choice(["me", "other"]), rnd.choice(["shared", "private"])
        name = f"s{rnd.randrange(1000):03d}-{i}"
        service.create_space(SYSTEM, SpaceCreate(name=name, sharing=sharing, app_type="jupyterlab"), owner=owner)
        # Only jupyterlab can be created here; other app types and statuses are set in the store.
        fields = {"app_type": rnd.choice(["jupyterlab", "rstudio"]), "status": rnd.choice(["stopped", "running"])}
        with store.write() as s:
            for key, value in fields.items():
                setattr(s.scalar(select(Space).where(Space.name == name)), key, value)
        if sharing == "shared" or owner == "me":
            expected.append({"name": name, "owner": owner, "sharing": sharing, **fields})
    with store.read() as s:
        me = policy.Caller(s.scalar(select(User.id).where(User.name == "me")), "me", False)
    seen, cursor = [], None
    while True:
        page = service.list_spaces(me, SpaceQuery(limit=7, sort=sort, cursor=cursor, **filters))
        seen += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    wanted = {
        e["name"] for e in expected
        if filters.get("name_contains", "") in e["name"]
        and all(e[k] == v for k, v in filters.items() if k != "name_contains")
    }
    assert len(seen) == len({s["name"] for s in seen}), "a space listed twice"
    assert {s["name"] for s in seen} == wanted and wanted
    for space in seen:
        assert space == {**space, **next(e for e in expected if e["name"] == space["name"])}
    key = sort.lstrip("-")
    values = [(s[key], s["name"]) for s in seen]
    assert values == sorted(values, reverse=sort.startswith("-"))


def test_a_token_whose_user_is_removed_mid_lookup_is_refused(store, monkeypatch):
    """The user (and so the token) removed between the token's read and the touch of its
    last use: no identity, not a 500 (seen in CI with two admins deleting each other)."""
    service = DomainService(store, Catalog(DEFAULT_INSTANCE_TYPES, DEFAULT_IMAGES))
    service.create_user(SYSTEM, UserCreate(name="root", admin=True))
    token = service.create_user(SYSTEM, UserCreate(name="gone"))["token"]
    real_read = store.read

    @contextlib.contextmanager
    def read_then_remove():
        with real_read() as session:
            yield session
        service.delete_user(SYSTEM, "gone")

    monkeypatch.setattr(store, "read", read_then_remove)
    assert service.user_for_token(token) is None
    monkeypatch.setattr(store, "read", real_read)
    assert service.user_by_name("gone") is None

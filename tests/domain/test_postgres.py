"""The domain store on PostgreSQL: the same code as on SQLite, against a throwaway cluster.

A session-scoped fixture runs ``initdb`` and ``pg_ctl`` from Debian's ``postgresql``
package as the ``postgres`` OS user (initdb refuses root) on a free port, and every
test gets a database of its own. Skipped only when the server binaries are missing.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, func, select, text

from jupyter_spaces.domain import servicebase as service_module  # where the audited change builds AuditEvent
from jupyter_spaces.domain.catalog import (
    DEFAULT_IMAGES,
    DEFAULT_INSTANCE_TYPES,
    Catalog,
)
from jupyter_spaces.domain.models import AuditEvent, Base, Member, Space, Token, User
from jupyter_spaces.domain.policy import Caller
from jupyter_spaces.domain.schemas import (
    MemberPut,
    Page,
    SpaceCreate,
    SpaceQuery,
    SpaceUpdate,
    UserCreate,
    UserUpdate,
)
from jupyter_spaces.domain.service import SYSTEM, DomainService
from jupyter_spaces.domain.store import MIGRATIONS, Store
from jupyter_spaces.errors import Conflict, Forbidden, Invalid, NotFound
from tests.processes import stop, wait_for_domain

LATEST = max(p.name[:4] for p in (MIGRATIONS / "versions").glob("[0-9]*.py"))
BIN_DIRS = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(Path(d).parent.name))
PASSWORD = "spaces-test-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def pg_cluster():
    """``(host, port)`` of a PostgreSQL server owned by the ``postgres`` OS user, gone afterwards."""
    bins = [Path(d) for d in BIN_DIRS if (Path(d) / "initdb").exists() and (Path(d) / "pg_ctl").exists()]
    if not bins:
        pytest.skip("PostgreSQL server binaries are not installed (apt-get install postgresql)")
    bindir = bins[-1]
    as_postgres: list[str] = []
    owner = None
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="jupyter-spaces-pg-"))
    data, sockets, log = root / "data", root / "sockets", root / "server.log"
    sockets.mkdir()
    if owner is not None:
        for p in (root, sockets):
            os.chown(p, owner.pw_uid, owner.pw_gid)

    def run(*args):
        proc = subprocess.run([*as_postgres, *map(str, args)], check=False, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"{args[0]} failed:\n{proc.stdout}\n{proc.stderr}"

    port = free_port()
    started = False
    try:
        run(bindir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        run(
            bindir / "pg_ctl", "-D", data, "-l", log, "-w", "-t", "60", "-o",
            f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off", "start",
        )
        started = True
        yield "127.0.0.1", port
    finally:
        if started:
            subprocess.run(
                [*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                check=False, capture_output=True, timeout=120,
            )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_admin(pg_cluster):
    """An engine connected as the cluster's superuser, and a login role for the tests."""
    host, port = pg_cluster
    engine = create_engine(
        f"postgresql+psycopg://postgres@{host}:{port}/postgres", isolation_level="AUTOCOMMIT"
    )
    with engine.connect() as conn:
        conn.execute(text(f"CREATE ROLE spaces LOGIN PASSWORD '{PASSWORD}'"))
    yield engine
    engine.dispose()


@pytest.fixture
def pg_url(pg_cluster, pg_admin):
    """A fresh database owned by the (non-superuser) role ``spaces``."""
    host, port = pg_cluster
    name = f"spaces_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} OWNER spaces"))
    yield f"postgresql+psycopg://spaces:{PASSWORD}@{host}:{port}/{name}"
    with pg_admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))


@pytest.fixture
def store(pg_url):
    store = Store(pg_url)
    store.migrate()
    yield store
    store.close()


@pytest.fixture
def service(store):
    return DomainService(store, Catalog(DEFAULT_INSTANCE_TYPES, DEFAULT_IMAGES))


def snapshot(store: Store) -> dict:
    """Every row of the tables a refused change must not touch."""
    with store.read() as s:
        return {
            model.__tablename__: sorted(
                tuple(str(getattr(row, c.key)) for c in model.__table__.columns)
                for row in s.scalars(select(model))
            )
            for model in (User, Token, Space, Member)
        }


def audit_count(store: Store) -> int:
    with store.read() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent))


def caller_of(user: User) -> Caller:
    return Caller(id=user.id, name=user.name, admin=user.admin)


def add_user(service, name, admin=False, display_name=None):
    return service.create_user(SYSTEM, UserCreate(name=name, admin=admin, display_name=display_name))


def new_space(service, name, owner, sharing="private", caller=SYSTEM, **kw):
    return service.create_space(caller, SpaceCreate(name=name, sharing=sharing, app_type="jupyterlab", **kw), owner=owner)


# -- schema ------------------------------------------------------------------------


def test_migrate_twice_and_schema_matches_the_models(store):
    store.migrate()  # idempotent: already at head
    with store.read() as s:
        assert s.execute(text("SELECT version_num FROM alembic_version")).scalar() == LATEST
        assert s.execute(text("SHOW server_version_num")).scalar()  # really PostgreSQL
    with store.write() as s:
        assert s.execute(text("SHOW transaction_isolation")).scalar() == "serializable"
    with store.write_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    # A second Store over the same database (the CLI beside a server) migrates as a no-op too.
    other = Store(store.url)
    try:
        other.migrate()
    finally:
        other.close()


def test_concurrent_migrations_of_a_fresh_database(pg_url):
    """A domain server and the CLI starting at once on an empty database: both migrate."""
    stores = [Store(pg_url) for _ in range(3)]
    errors = []
    barrier = threading.Barrier(len(stores))

    def migrate(store):
        barrier.wait()
        try:
            store.migrate()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=migrate, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert errors == []
        with stores[0].read() as s:
            assert s.execute(text("SELECT version_num FROM alembic_version")).scalar() == LATEST
    finally:
        for s in stores:
            s.close()


# -- the domain service --------------------------------------------------------------


def test_users_spaces_members_and_updates(service):
    users = {n: add_user(service, n, admin=(n == "root"), display_name=f"{n.title()} Person")
             for n in ("root", "alice", "bob", "carol", "dave", "erin")}
    colors = [u["color"] for u in users.values()]
    assert len(set(colors)) == len(colors)
    assert users["alice"]["initials"] == "AP" and users["root"]["admin"]
    assert service.user_for_token(users["alice"]["token"]).name == "alice"
    assert service.user_for_token("not-a-token") is None
    alice, bob = (caller_of(service.user_by_name(n)) for n in ("alice", "bob"))

    private = new_space(service, "alices-notes", "alice", caller=alice)
    assert private["owner"] == "alice" and private["role"] == "owner" and private["status"] == "stopped"
    shared = new_space(service, "team", "alice", sharing="shared", caller=alice, display_name="The Team")
    assert shared["display_name"] == "The Team"

    service.put_member(alice, "team", "bob", MemberPut(role="viewer"))
    service.put_member(alice, "team", "carol", MemberPut(role="editor"))
    service.put_member(alice, "team", "bob", MemberPut(role="editor"))  # a change, not a second row
    members = service.list_members(bob, "team")["items"]
    assert [(m["user"]["name"], m["role"]) for m in members] == [
        ("alice", "owner"), ("bob", "editor"), ("carol", "editor")
    ]
    service.delete_member(alice, "team", "carol")
    assert [m["user"]["name"] for m in service.list_members(alice, "team")["items"]] == ["alice", "bob"]

    # A private space is someone else's secret, even by name.
    with pytest.raises(NotFound):
        service.get_space(bob, "alices-notes")
    assert service.get_space(bob, "team")["role"] == "editor"

    updated = service.update_space(alice, "alices-notes", SpaceUpdate(display_name="Notes", volume_gb=9,
                                                                      instance_type="medium"))
    assert (updated["display_name"], updated["volume_gb"], updated["instance_type"]) == ("Notes", 9, "medium")
    assert updated["updated"] >= private["updated"]
    assert service.get_space(alice, "alices-notes")["volume_gb"] == 9

    me = service.update_user(bob, "bob", UserUpdate(display_name="Robert Builder", color="#123456"))
    assert (me["initials"], me["color"]) == ("RB", "#123456")
    service.begin_delete(alice, "alices-notes")
    service.finish_delete("alices-notes")
    with pytest.raises(NotFound):
        service.get_space(alice, "alices-notes")
    tokens = service.list_tokens(bob, "bob")["items"]
    assert len(tokens) == 1
    service.delete_user(SYSTEM, "dave")
    assert service.user_by_name("dave") is None


def test_listing_filters_sorting_and_cursors(service):
    for n in ("root", "alice", "bob"):
        add_user(service, n, admin=(n == "root"))
    names = []
    for i in range(7):
        owner = "alice" if i % 2 else "bob"
        sharing = "shared" if i % 3 == 0 else "private"
        names.append(f"proj-{i}")
        new_space(service, f"proj-{i}", owner, sharing=sharing)
    new_space(service, "other-ok", "bob")
    # Distinct activity times, in an order unlike the names'.
    with service.store.write() as s:
        for i, space in enumerate(s.scalars(select(Space).order_by(Space.name))):
            space.last_activity = space.last_activity.replace(microsecond=0).replace(second=(i * 7) % 11)
    root, alice = (caller_of(service.user_by_name(n)) for n in ("root", "alice"))

    def pages(caller, **kw):
        items, cursor = [], None
        while True:
            page = service.list_spaces(caller, SpaceQuery(limit=2, cursor=cursor, **kw))
            assert len(page["items"]) <= 2
            items += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return [s["name"] for s in items]

    every = sorted(names + ["other-ok"])
    assert pages(root) == every
    assert pages(root, sort="-name") == every[::-1]
    for sort in ("created", "-created", "last_activity", "-last_activity"):
        key = sort.lstrip("-")
        whole = service.list_spaces(root, SpaceQuery(limit=500, sort=sort))["items"]
        expected = sorted(whole, key=lambda s: (s[key], s["name"]), reverse=sort.startswith("-"))
        assert [s["name"] for s in whole] == [s["name"] for s in expected]
        assert pages(root, sort=sort) == [s["name"] for s in whole], sort
    # alice sees her own spaces and every shared one, never bob's private ones.
    visible = pages(alice)
    assert set(visible) == {f"proj-{i}" for i in range(7) if i % 2 or i % 3 == 0}
    assert pages(root, sharing="shared") == ["proj-0", "proj-3", "proj-6"]
    assert pages(root, owner="alice", sort="-name") == ["proj-5", "proj-3", "proj-1"]
    assert pages(root, name_contains="ok") == ["other-ok"]
    assert pages(root, name_contains="%") == []  # LIKE wildcards are escaped
    assert pages(root, status="running") == []
    assert pages(root, status="stopped", owner="bob", sharing="private") == ["other-ok", "proj-2", "proj-4"]
    users = service.list_users(root, Page(limit=2))
    rest = service.list_users(root, Page(limit=2, cursor=users["next_cursor"]))
    assert [u["name"] for u in users["items"] + rest["items"]] == ["alice", "bob", "root"]
    assert rest["next_cursor"] is None


def test_audit_log_pages(service):
    add_user(service, "root", admin=True)
    add_user(service, "alice")
    for i in range(5):
        new_space(service, f"s{i}", "alice")
    with pytest.raises(Conflict):
        new_space(service, "s0", "alice")
    root = caller_of(service.user_by_name("root"))
    with pytest.raises(Forbidden):
        service.list_audit(caller_of(service.user_by_name("alice")), Page())
    events, cursor = [], None
    while True:
        page = service.list_audit(root, Page(limit=3, cursor=cursor))
        events += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    ids = [e["id"] for e in events]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids) == audit_count(service.store) == 8
    assert events[0]["action"] == "space.create" and events[0]["outcome"] == "conflict"
    assert [e["target"] for e in events[1:6]] == ["s4", "s3", "s2", "s1", "s0"]
    assert all(e["outcome"] == "ok" for e in events[1:])
    assert events[-1]["action"] == "user.create" and events[-1]["detail"] == {"admin": True}
    assert events[-1]["time"].endswith("Z")


def test_refused_changes_leave_the_store_as_it_was(service):
    add_user(service, "root", admin=True)
    add_user(service, "alice")
    add_user(service, "bob")
    new_space(service, "taken", "alice")
    new_space(service, "team", "alice", sharing="shared")
    alice, bob = (caller_of(service.user_by_name(n)) for n in ("alice", "bob"))
    before, events = snapshot(service.store), audit_count(service.store)
    refusals = [
        (Conflict, lambda: new_space(service, "taken", "bob", caller=bob)),
        (Conflict, lambda: add_user(service, "alice")),
        (Invalid, lambda: new_space(service, "fresh", "alice", instance_type="gigantic")),
        (Invalid, lambda: service.create_space(
            SYSTEM, SpaceCreate(name="fresh", sharing="private", app_type="rstudio"), owner="alice")),
        (NotFound, lambda: new_space(service, "fresh", "nobody")),
        (Conflict, lambda: service.put_member(alice, "taken", "bob", MemberPut(role="editor"))),
        (Conflict, lambda: service.put_member(alice, "team", "alice", MemberPut(role="viewer"))),
        (Forbidden, lambda: service.put_member(bob, "team", "bob", MemberPut(role="editor"))),
        (NotFound, lambda: service.update_space(bob, "taken", SpaceUpdate(display_name="mine"))),
        (Forbidden, lambda: service.update_user(bob, "alice", UserUpdate(display_name="x"))),
        (Forbidden, lambda: service.update_user(bob, "bob", UserUpdate(admin=True))),
        (Conflict, lambda: service.delete_user(SYSTEM, "root")),  # the last administrator
        (Conflict, lambda: service.update_user(SYSTEM, "root", UserUpdate(admin=False))),
        (Conflict, lambda: service.delete_user(SYSTEM, "alice")),  # owns spaces
        (NotFound, lambda: service.delete_member(alice, "team", "bob")),
    ]
    for error, attempt in refusals:
        with pytest.raises(error):
            attempt()
    assert snapshot(service.store) == before
    # Each refusal is audited once, in its own transaction.
    assert audit_count(service.store) == events + len(refusals)
    with service.store.read() as s:
        outcomes = s.scalars(select(AuditEvent.outcome).order_by(AuditEvent.id.desc()).limit(len(refusals))).all()
    assert "ok" not in outcomes and "conflict" in outcomes


# -- concurrency ---------------------------------------------------------------------


def run_together(*fns, timeout=60):
    """Run ``fns`` in threads at once; return what each returned or raised."""
    results = [None] * len(fns)
    start = threading.Barrier(len(fns))

    def body(i, fn):
        try:
            start.wait(timeout=timeout)
            results[i] = ("ok", fn())
        except BaseException as e:  # noqa: BLE001 - reported to the test, not lost in the thread
            results[i] = ("error", e)

    threads = [threading.Thread(target=body, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a concurrent transaction hung"
    return results


@contextlib.contextmanager
def meeting_before_commit(monkeypatch, parties: int, wait: float = 1.0):
    """Hold each audited change just before its commit until ``parties`` of them are there
    (or ``wait`` seconds passed), so their transactions really overlap.

    ``DomainService._change`` (``servicebase``) builds the change's ``AuditEvent`` after the body ran and
    before it commits; a writer that cannot get that far (it waits for the other's lock)
    lets the first go on after ``wait``.
    """
    barrier = threading.Barrier(parties, timeout=wait)
    real = service_module.AuditEvent

    def audit_event(**kw):
        if kw.get("outcome") == "ok":
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()
        return real(**kw)

    monkeypatch.setattr(service_module, "AuditEvent", audit_event)
    yield
    monkeypatch.setattr(service_module, "AuditEvent", real)


def test_concurrent_creates_of_one_name_one_wins(service, monkeypatch):
    add_user(service, "alice")
    add_user(service, "bob")
    alice, bob = (caller_of(service.user_by_name(n)) for n in ("alice", "bob"))
    with meeting_before_commit(monkeypatch, 2):
        results = run_together(
            lambda: new_space(service, "race", "alice", caller=alice),
            lambda: new_space(service, "race", "bob", caller=bob),
        )
    outcomes = sorted(type(r[1]).__name__ if r[0] == "error" else "ok" for r in results)
    assert outcomes == ["Conflict", "ok"], results
    # Without the meeting point, many at once: still exactly one.
    results = run_together(*(lambda c=c: new_space(service, "race2", c.name, caller=c) for c in [alice, bob] * 4))
    errors = [r[1] for r in results if r[0] == "error"]
    assert len(errors) == 7 and all(isinstance(e, Conflict) for e in errors), errors
    with service.store.read() as s:
        assert s.scalar(select(func.count()).select_from(Space)) == 2


def test_two_admins_demoting_each_other_leave_one(service, monkeypatch):
    add_user(service, "ann", admin=True)
    add_user(service, "ben", admin=True)
    ann, ben = (caller_of(service.user_by_name(n)) for n in ("ann", "ben"))
    with meeting_before_commit(monkeypatch, 2):
        results = run_together(
            lambda: service.update_user(ann, "ben", UserUpdate(admin=False)),
            lambda: service.update_user(ben, "ann", UserUpdate(admin=False)),
        )
    outcomes = sorted(type(r[1]).__name__ if r[0] == "error" else "ok" for r in results)
    assert outcomes == ["Conflict", "ok"], results
    with service.store.read() as s:
        assert s.scalar(select(func.count()).select_from(User).where(User.admin)) == 1


# -- a real server over HTTP -----------------------------------------------------------


def cli(pg_url, data_dir, *args):
    proc = subprocess.run(
        # Options as --opt=value: the CLI looks for its command among the first three arguments.
        [sys.executable, "-m", "jupyter_spaces.cli", f"--db-url={pg_url}", f"--data-dir={data_dir}", *args],
        check=False, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.mark.slow
def test_domain_server_on_postgres(pg_url, tmp_path):
    data_dir = tmp_path / "domain"
    admin_token = cli(pg_url, data_dir, "user", "add", "root", "--admin").stdout.strip().splitlines()[-1]
    port = free_port()
    log = open(tmp_path / "server.log", "w+")  # noqa: SIM115 - closed in finally
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter_spaces.cli", "--db-url", pg_url, "--data-dir", str(data_dir),
         "--port", str(port), "--ip", "127.0.0.1", "--no-browser"],
        stdout=log, stderr=subprocess.STDOUT, text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_domain(server, base)
        # A user added beside the running server, through the same database.
        token = cli(pg_url, data_dir, "user", "add", "carol").stdout.strip().splitlines()[-1]
        headers = {"Authorization": f"token {token}"}
        me = httpx.get(f"{base}/spaces/api/me", headers=headers)
        assert me.status_code == 200 and me.json()["name"] == "carol" and not me.json()["admin"]
        root = httpx.get(f"{base}/spaces/api/me", headers={"Authorization": f"token {admin_token}"})
        assert root.status_code == 200 and root.json()["admin"]
        body = {"name": "carols", "sharing": "private", "app_type": "jupyterlab"}
        r = httpx.post(f"{base}/spaces/api/spaces", headers=headers, json=body)
        assert r.status_code == 201, r.text
        assert r.json()["owner"] == "carol" and r.json()["status"] == "stopped"
        again = httpx.post(f"{base}/spaces/api/spaces", headers=headers, json=body)
        assert again.status_code == 409 and again.json()["reason"] == "conflict"
        listing = httpx.get(f"{base}/spaces/api/spaces", headers=headers)
        assert [s["name"] for s in listing.json()["items"]] == ["carols"]
        assert "carols" in cli(pg_url, data_dir, "space", "list").stdout
        # The server wrote where the CLI and the tests look: PostgreSQL, not a SQLite file.
        assert not (data_dir / "spaces.sqlite").exists()
    finally:
        stop(server)
        log.seek(0)
        print(log.read())  # pytest shows it when the test failed
        log.close()

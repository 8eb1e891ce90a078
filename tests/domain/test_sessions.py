"""Sessions, space tickets, space sessions and the login throttle as plain Python: no server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from jupyter_spaces.domain.accounts import LoginThrottle, token_digest
from jupyter_spaces.domain.catalog import DEFAULT_IMAGES, DEFAULT_INSTANCE_TYPES, Catalog
from jupyter_spaces.domain.models import AuditEvent, LoginSession, Space, SpaceSession, SpaceTicket, User, utcnow
from jupyter_spaces.domain.policy import Caller
from jupyter_spaces.domain.schemas import SpaceCreate, UserCreate, UserUpdate
from jupyter_spaces.domain.service import SYSTEM, DomainService
from jupyter_spaces.domain.store import Store, sqlite_url
from jupyter_spaces.errors import Forbidden, NotFound, TooManyRequests


@pytest.fixture
def service(tmp_path):
    store = Store(sqlite_url(tmp_path / "s.sqlite"))
    store.migrate()
    yield DomainService(store, Catalog(DEFAULT_INSTANCE_TYPES, DEFAULT_IMAGES))
    store.close()


def add_user(service, name, admin=False, password=None) -> User:
    service.create_user(SYSTEM, UserCreate(name=name, admin=admin, password=password))
    return service.user_by_name(name)


def caller(user: User) -> Caller:
    return Caller(user.id, user.name, user.admin)


def test_a_session_is_bound_to_the_user_id_not_the_name(service):
    add_user(service, "root", admin=True)
    tmpu = add_user(service, "tmpu")
    raw = service.create_session(tmpu.id, "10.0.0.1")
    user, session_id = service.session_user(raw)
    assert user.name == "tmpu" and not user.admin
    with service.store.read() as s:
        row = s.get(LoginSession, session_id)
        assert row.digest == token_digest(raw) and row.client == "10.0.0.1" and row.ended is None
        assert raw not in str([row.digest, row.client])
    service.delete_user(SYSTEM, "tmpu")
    again = add_user(service, "tmpu", admin=True)
    assert again.id != tmpu.id  # ids are never reused, on SQLite too
    assert service.session_user(raw) is None


def test_space_ids_are_never_reused(service):
    add_user(service, "alice")
    first = service.create_space(SYSTEM, SpaceCreate(name="zz", sharing="shared", app_type="jupyterlab"), owner="alice")
    first_id = service.space_id(SYSTEM, first["name"])
    service.begin_delete(SYSTEM, "zz")
    service.finish_delete("zz")
    assert service.status_by_id(first_id) is None
    service.create_space(SYSTEM, SpaceCreate(name="zz", sharing="private", app_type="jupyterlab"), owner="alice")
    assert service.space_id(SYSTEM, "zz") != first_id
    assert service.status_by_id(first_id) is None


def test_end_session_and_sign_out_everywhere(service):
    alice, bob = add_user(service, "alice"), add_user(service, "bob")
    one, two, other = (service.create_session(u.id) for u in (alice, alice, bob))
    assert service.end_session(one) == alice.id
    assert service.end_session(one) is None  # already ended
    assert service.session_user(one) is None and service.session_user(two) is not None
    with pytest.raises(Forbidden):
        service.sign_out_everywhere(caller(bob), "alice")
    with pytest.raises(NotFound):
        service.sign_out_everywhere(SYSTEM, "nobody")
    assert service.sign_out_everywhere(caller(alice), "alice") == alice.id
    assert service.session_user(two) is None and service.session_user(other) is not None
    assert service.end_user_sessions(bob.id) == 1 and service.session_user(other) is None
    with service.store.read() as s:
        ended = s.scalars(select(LoginSession).where(LoginSession.user_id == alice.id)).all()
        assert len(ended) == 2 and all(r.ended is not None for r in ended)
        actions = [(e.actor, e.action, e.outcome, e.detail.get("sessions")) for e in s.scalars(select(AuditEvent))]
    assert ("alice", "user.logout", "ok", None) in actions
    assert ("alice", "user.sign_out", "ok", 1) in actions
    assert ("bob", "user.sign_out", "forbidden", None) in actions


def test_password_login_is_throttled_per_user_and_audited(service):
    add_user(service, "alice", password="right password")
    now = [0.0]
    throttle = LoginThrottle(per_user=3, per_address=100, window=60, lockout=10, max_lockout=25, clock=lambda: now[0])
    for _ in range(2):
        with pytest.raises(Forbidden):
            service.password_login("alice", "wrong", "10.0.0.1", throttle)
    with pytest.raises(Forbidden):  # the third failure starts a lock-out
        service.password_login("alice", "wrong", "10.0.0.1", throttle)
    with pytest.raises(TooManyRequests) as locked:  # a right password too
        service.password_login("alice", "right password", "10.0.0.2", throttle)
    assert locked.value.retry_after == 10 and locked.value.status == 429
    now[0] = 10.5
    with pytest.raises(Forbidden):  # a failure after a lock-out doubles it
        service.password_login("alice", "wrong", "10.0.0.1", throttle)
    assert throttle.retry_after("alice", "10.0.0.3") == 20
    now[0] = 31.0
    with pytest.raises(Forbidden):  # ... up to the cap
        service.password_login("alice", "wrong", "10.0.0.1", throttle)
    assert throttle.retry_after("alice", "10.0.0.3") == 25
    now[0] = 56.5
    raw = service.password_login("alice", "right password", "10.0.0.1", throttle)
    assert service.session_user(raw)[0].name == "alice"
    # A success forgets the name's failures.
    with pytest.raises(Forbidden):
        service.password_login("alice", "wrong", "10.0.0.1", throttle)
    assert throttle.retry_after("alice", "10.0.0.1") == 0
    with service.store.read() as s:
        events = [(e.actor, e.action, e.target, e.outcome, e.detail) for e in s.scalars(select(AuditEvent))]
    failed = [e for e in events if e[1] == "user.login" and e[3] == "failed"]
    assert len(failed) == 6 and all(e[0] == "anonymous" and e[4] == {"client": "10.0.0.1"} for e in failed)
    lockouts = [e[4] for e in events if e[1] == "user.lockout"]
    assert [(d["scope"], d["seconds"]) for d in lockouts] == [("user", 10), ("user", 20), ("user", 25)]
    assert ("alice", "user.login", "alice", "ok", {"client": "10.0.0.1", "via": "password"}) in events


def test_throttle_per_address_and_forgetting():
    now = [0.0]
    throttle = LoginThrottle(per_user=100, per_address=3, window=5, lockout=2, max_lockout=8, clock=lambda: now[0])
    assert throttle.failed("a", "x") == [] and throttle.failed("b", "x") == []
    assert throttle.failed("c", "x") == [("address", 2)]
    assert throttle.retry_after("anyone", "x") == 2 and throttle.retry_after("anyone", "y") == 0
    now[0] = 2.0
    assert throttle.retry_after("anyone", "x") == 0
    throttle.succeeded("a")  # a success does not reset the address
    assert throttle.failed("d", "x") == [("address", 4)]
    now[0] = 12.0  # lock over and the window passed: forgotten
    assert throttle.failed("e", "x") == []
    assert throttle._keys[("address", "x")].count == 1


def test_unknown_user_fails_like_a_wrong_password(service):
    throttle = LoginThrottle()
    with pytest.raises(Forbidden) as e:
        service.password_login("nobody", "x", "10.0.0.1", throttle)
    assert e.value.message == "Wrong user name or password."


def shared_world(service):
    alice, bob, root = add_user(service, "alice"), add_user(service, "bob"), add_user(service, "root", admin=True)
    service.create_space(SYSTEM, SpaceCreate(name="team", sharing="shared", app_type="jupyterlab"), owner="alice")
    service.create_space(SYSTEM, SpaceCreate(name="mine", sharing="private", app_type="jupyterlab"), owner="alice")
    return alice, bob, root


def test_space_ticket_to_space_session(service):
    alice, bob, root = shared_world(service)
    session = service.create_session(alice.id)
    _, session_id = service.session_user(session)
    ticket = service.create_space_ticket(session_id, alice.id, "mine")
    user, space_id, parent = service.consume_space_ticket(ticket)
    assert (user.id, parent) == (alice.id, session_id) and space_id == service.space_id(SYSTEM, "mine")
    assert service.consume_space_ticket(ticket) is None  # one use
    raw = service.create_space_session(alice.id, space_id, parent, "10.0.0.1")
    user, sid, space_session_id = service.space_session(raw)
    assert (user.name, sid) == ("alice", space_id)
    with service.store.read() as s:
        assert s.get(SpaceSession, space_session_id).digest == token_digest(raw)
        assert not s.scalars(select(SpaceTicket)).all()
    assert service.end_space_session(raw) and not service.end_space_session(raw)
    assert service.space_session(raw) is None


def test_space_ticket_policy_is_open_targets(service):
    alice, bob, root = shared_world(service)
    bob_sid = service.session_user(service.create_session(bob.id))[1]
    root_sid = service.session_user(service.create_session(root.id))[1]
    assert service.create_space_ticket(bob_sid, bob.id, "team")  # every user may open a shared space
    for sid, user in ((bob_sid, bob), (root_sid, root)):  # nobody else may open a private one
        with pytest.raises(NotFound) as e:
            service.create_space_ticket(sid, user.id, "mine")
        assert e.value.message == "There is no such space."
    with pytest.raises(NotFound):
        service.create_space_ticket(bob_sid, bob.id, "nonexistent")
    with pytest.raises(Forbidden):  # someone else's session
        service.create_space_ticket(bob_sid, alice.id, "team")


def test_tickets_expire_and_die_with_their_session(service):
    alice, _, _ = shared_world(service)
    session = service.create_session(alice.id)
    sid = service.session_user(session)[1]
    old = service.create_space_ticket(sid, alice.id, "team")
    with service.store.write() as s:
        s.execute(update(SpaceTicket).values(expires=utcnow() - timedelta(seconds=1)))
    assert service.consume_space_ticket(old) is None
    fresh = service.create_space_ticket(sid, alice.id, "team")
    service.end_session(session)
    assert service.consume_space_ticket(fresh) is None
    with pytest.raises(Forbidden):
        service.create_space_ticket(sid, alice.id, "team")
    assert service.create_space_session(alice.id, service.space_id(SYSTEM, "team"), sid) is None


def test_ending_the_parent_ends_its_space_sessions(service):
    alice, bob, _ = shared_world(service)
    team = service.space_id(SYSTEM, "team")
    parents = [service.create_session(alice.id) for _ in range(2)]
    sids = [service.session_user(p)[1] for p in parents]
    children = [service.create_space_session(alice.id, team, sid) for sid in sids]
    bobs = service.create_space_session(bob.id, team, service.session_user(service.create_session(bob.id))[1])
    service.end_session(parents[0])
    assert service.space_session(children[0]) is None and service.space_session(children[1]) is not None
    service.sign_out_everywhere(SYSTEM, "alice")
    assert service.space_session(children[1]) is None
    assert service.space_session(bobs) is not None


def test_deleting_a_space_or_user_ends_what_is_bound_to_it(service):
    alice, bob, _ = shared_world(service)
    team = service.space_id(SYSTEM, "team")
    session = service.create_session(bob.id)
    sid = service.session_user(session)[1]
    ticket = service.create_space_ticket(sid, bob.id, "team")
    child = service.create_space_session(bob.id, team, sid)
    service.begin_delete(SYSTEM, "team")
    service.finish_delete("team")
    assert service.space_session(child) is None and service.consume_space_ticket(ticket) is None
    assert service.session_user(session) is not None  # the domain session stays
    service.create_space(SYSTEM, SpaceCreate(name="team", sharing="shared", app_type="jupyterlab"), owner="alice")
    assert service.space_session(child) is None  # not the new space of that name
    mine = service.space_id(SYSTEM, "mine")
    alices = service.create_session(alice.id)
    alice_child = service.create_space_session(alice.id, mine, service.session_user(alices)[1])
    service.update_user(SYSTEM, "bob", UserUpdate(admin=True))
    service.delete_user(SYSTEM, "bob")
    assert service.session_user(session) is None
    with service.store.read() as s:
        assert not s.scalars(select(LoginSession).where(LoginSession.user_id == bob.id)).all()
        assert s.get(Space, mine) is not None
    assert service.space_session(alice_child) is not None

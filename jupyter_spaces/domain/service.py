"""Domain operations: users, tokens, spaces, members and the audit log.

Plain, synchronous Python over the ``Store``: the CLI calls it directly, the
server from a thread pool. Every method takes the ``Caller`` and asks ``policy``
before it acts; every change writes an audit event in the same transaction, and a
refused change writes one of its own (in a separate transaction, so the refused
change itself leaves nothing behind).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import Conflict, Forbidden, Invalid, NotFound, SpacesError, TooManyRequests, space_not_found
from . import accounts, paging, policy
from .catalog import Catalog
from .models import AuditEvent, LoginSession, Member, Space, SpaceSession, SpaceTicket, Token, User, utcnow
from .policy import Action, Caller
from .schemas import (
    MemberPut,
    Page,
    SpaceCreate,
    SpaceQuery,
    SpaceUpdate,
    TokenCreate,
    UserCreate,
    UserUpdate,
)
from .store import Store

# The CLI acts with the domain's own authority (it has the data directory).
SYSTEM = Caller(id=0, name="system", admin=True)
# Who a failed sign-in is, in the audit log (the name tried is its target).
ANONYMOUS = Caller(id=0, name="anonymous", admin=False)

LOGIN_LINK_TTL = timedelta(hours=24)
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)
# A space ticket only has to survive one redirect.
SPACE_TICKET_TTL = timedelta(seconds=60)
# Only these may change while a space is not stopped.
LIVE_FIELDS = {"display_name", "idle_timeout_minutes"}
STOPPED = ("stopped", "failed")


def printable(text: str) -> str:
    """Names from URLs as the audit log may keep them (no NUL or other control characters)."""
    return "".join(ch if ch.isprintable() else "\ufffd" for ch in text)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def user_json(user: User) -> dict:
    return {
        "name": user.name,
        "display_name": user.display_name,
        "initials": user.initials,
        "color": user.color,
        "admin": user.admin,
        "created": iso(user.created),
        "last_activity": iso(user.last_activity),
    }


def token_json(token: Token) -> dict:
    return {
        "id": token.id,
        "note": token.note,
        "created": iso(token.created),
        "expires": iso(token.expires),
        "last_used": iso(token.last_used),
    }


def audit_json(event: AuditEvent) -> dict:
    return {
        "id": event.id,
        "time": iso(event.time),
        "actor": event.actor,
        "action": event.action,
        "target_type": event.target_type,
        "target": event.target,
        "outcome": event.outcome,
        "detail": event.detail,
    }


# What the events stream says about a space's state (the same for every caller).
STATUS_FIELDS = ("name", "status", "failure_reason", "volume_used_bytes", "last_activity")


def status_of(space: dict) -> dict:
    return {k: space[k] for k in STATUS_FIELDS}


def _caller(user: User) -> Caller:
    return Caller(id=user.id, name=user.name, admin=user.admin)


def _event(caller: Caller, action: str, target_type: str, target: str, outcome: str, detail: dict) -> AuditEvent:
    return AuditEvent(
        actor=caller.name,
        action=action,
        target_type=target_type,
        target=printable(target)[:256],
        outcome=outcome,
        detail=detail,
    )


class DomainService:
    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        *,
        base_url: str = "/",
        default_role: str = "editor",
        default_volume_gb: int = 5,
        max_volume_gb: int = 1024,
        default_idle_timeout_minutes: int = 60,
    ):
        self.store = store
        self.catalog = catalog
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.default_role = default_role
        self.default_volume_gb = default_volume_gb
        self.max_volume_gb = max_volume_gb
        self.default_idle_timeout_minutes = default_idle_timeout_minutes

    # -- audit -------------------------------------------------------------------

    @contextlib.contextmanager
    def _change(
        self, caller: Caller, action: str, target_type: str, target: str, **detail
    ) -> Iterator[tuple[Session, dict]]:
        """A write transaction that is audited whether it succeeds or is refused.

        The body may add to the yielded ``detail`` dict what the event should record.
        """
        try:
            with self.store.write() as session:
                yield session, detail
                session.add(_event(caller, action, target_type, target, "ok", detail))
        except IntegrityError as e:
            # A concurrent writer took the name between our check and our insert.
            self._audit_alone(caller, action, target_type, target, "conflict", detail)
            raise Conflict(f"{target_type.capitalize()} {target!r} already exists.") from e
        except SpacesError as e:
            self._audit_alone(caller, action, target_type, target, e.reason, detail)
            raise

    def _audit_alone(self, caller, action, target_type, target, outcome, detail) -> None:
        """An audit event in a transaction of its own (refusals, what the domain did itself)."""
        with self.store.write() as session:
            session.add(_event(caller, action, target_type, target, outcome, detail))

    def list_audit(self, caller: Caller, page: Page) -> dict:
        if not caller.admin:
            raise Forbidden("Only administrators may read the audit log.")
        query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(page.limit + 1)
        if page.cursor:
            _, last_id = paging.decode_cursor(page.cursor, "audit", value=None, key=int)
            query = query.where(AuditEvent.id < last_id)
        with self.store.read() as session:
            rows = session.scalars(query).all()
        return self._page(rows, page.limit, audit_json, lambda e: paging.encode_cursor("audit", None, e.id))

    @staticmethod
    def _page(rows, limit, to_json, cursor_of) -> dict:
        more = len(rows) > limit
        rows = rows[:limit]
        return {
            "items": [to_json(r) for r in rows],
            "next_cursor": cursor_of(rows[-1]) if more else None,
        }

    # -- identity ----------------------------------------------------------------

    def user_for_token(self, token: str) -> User | None:
        """The user an API token belongs to, or None (unknown or expired)."""
        digest = accounts.token_digest(token)
        now = utcnow()
        with self.store.read() as session:
            row = session.execute(
                select(Token, User).join(User).where(Token.digest == digest, Token.kind == "api")
            ).first()
        if row is None:
            return None
        tok, user = row
        if tok.expires is not None and tok.expires <= now:
            return None
        if tok.last_used is None or now - tok.last_used > TOKEN_TOUCH_INTERVAL:
            # Throttled: one write a minute per token, not one per request.
            with self.store.write() as session:
                fresh, owner = session.get(Token, tok.id), session.get(User, user.id)
                if fresh is None or owner is None:
                    return None  # revoked, or its user removed, since the read above
                fresh.last_used = now
                owner.last_activity = now
        return user

    def user_by_name(self, name: str) -> User | None:
        with self.store.read() as session:
            return session.scalar(select(User).where(User.name == name))

    def consume_login_token(self, token: str) -> User | None:
        """Exchange a one-time login-link token for its user; the token is gone after."""
        digest = accounts.token_digest(token)
        with self.store.write() as session:
            tok = session.scalar(select(Token).where(Token.digest == digest, Token.kind == "login"))
            if tok is None:
                return None
            user = tok.user
            expired = tok.expires is not None and tok.expires <= utcnow()
            session.delete(tok)
            if expired:
                return None
            user.last_activity = utcnow()
        return user

    def check_password(self, name: str, password: str) -> User | None:
        user = self.user_by_name(name)
        if user is None or not accounts.check_password(user.password_hash, password):
            return None
        return user

    def login_link_token(self, caller: Caller, name: str) -> str:
        """A one-time login token for ``name`` (the demo and the CLI print links with it)."""
        token = accounts.new_token()
        with self._change(caller, "user.login_link", "user", name) as (session, _):
            self._self_or_admin(caller, name)
            user = self._user(session, name)
            session.add(
                Token(
                    user_id=user.id,
                    kind="login",
                    digest=accounts.token_digest(token),
                    note="login link",
                    expires=utcnow() + LOGIN_LINK_TTL,
                )
            )
        return token

    # -- sessions ------------------------------------------------------------------
    #
    # A browser signs in to the domain and gets a *session*: a random id in its
    # (signed) cookie, only the id's SHA-256 digest here, bound to the user's id —
    # never to the name, so a new user with an old name is not the old user. A space
    # served on its own origin is entered with a *space ticket* (one use, 60 s, bound
    # to user, parent session and space) that becomes a *space session* there. Ending
    # a session (logout, sign out everywhere) ends its space sessions; removing a user
    # or a space removes their sessions, tickets and space sessions with them.
    # These methods say *who* a browser is; what it may do is still asked of the
    # policy on each request (``open_target``).

    def password_login(self, name: str, password: str, client: str, throttle: accounts.LoginThrottle) -> str:
        """Check ``name``'s password and start a session; returns its raw id.

        Raises ``TooManyRequests`` (with ``retry_after``) while the name or ``client``
        (the address) is locked out — before the password is even checked — and
        ``Forbidden`` for a wrong name or password. Failures and lock-outs are audited.
        """
        wait = throttle.retry_after(name, client)
        if wait:
            raise TooManyRequests(
                f"Too many failed sign-ins for this user or from this address; try again in {wait} seconds.",
                retry_after=wait,
            )
        user = self.check_password(name, password)
        if user is None:
            locks = throttle.failed(name, client)
            with self.store.write() as session:
                session.add(_event(ANONYMOUS, "user.login", "user", name, "failed", {"client": client}))
                for scope, seconds in locks:
                    detail = {"client": client, "scope": scope, "seconds": seconds}
                    session.add(_event(ANONYMOUS, "user.lockout", "user", name, "locked", detail))
            raise Forbidden("Wrong user name or password.")
        throttle.succeeded(name)
        return self.create_session(user.id, client, "password")

    def create_session(self, user_id: int, client: str = "", via: str = "password") -> str:
        """Start a browser session for user ``user_id``; returns its raw id, for the cookie only.

        ``client`` is the browser's address (kept, and audited with ``via``: how it signed in).
        Raises ``NotFound`` if the user is gone.
        """
        raw = accounts.new_token()
        client = printable(client)[:64]
        with self.store.write() as session:
            user = session.get(User, user_id)
            if user is None:
                raise NotFound("This user no longer exists.")
            session.add(LoginSession(user_id=user.id, digest=accounts.token_digest(raw), client=client))
            user.last_activity = utcnow()
            session.add(_event(_caller(user), "user.login", "user", user.name, "ok", {"client": client, "via": via}))
        return raw

    def session_user(self, raw: str) -> tuple[User, int] | None:
        """``(user, session id)`` of a live session, or None (unknown, ended, or its user gone)."""
        row = self._live(LoginSession, raw)
        return None if row is None else (row[1], row[0].id)

    def _live(self, model, raw: str):
        """``(row, user)`` of a live session (model LoginSession or SpaceSession), touched
        at most once a minute; None when unknown or ended, or (space sessions) when its
        parent has ended. The join on the user's id refuses a session whose user is gone."""
        digest = accounts.token_digest(raw)
        query = select(model, User).join(User, model.user_id == User.id).where(
            model.digest == digest, model.ended.is_(None)
        )
        if model is SpaceSession:
            query = query.join(LoginSession, SpaceSession.session_id == LoginSession.id).where(
                LoginSession.ended.is_(None)
            )
        now = utcnow()
        with self.store.read() as session:
            row = session.execute(query).first()
        if row is None:
            return None
        if now - row[0].last_seen > TOKEN_TOUCH_INTERVAL:
            with self.store.write() as session:
                fresh = session.get(model, row[0].id)
                if fresh is None or fresh.ended is not None:
                    return None  # ended since the read above
                fresh.last_seen = now
        return row

    def end_session(self, raw: str) -> int | None:
        """Log out: end the session with this raw id and its space sessions.

        Returns the user's id (to drop cached identities), or None if it was not live.
        """
        digest = accounts.token_digest(raw)
        with self.store.write() as session:
            row = session.execute(
                select(LoginSession, User).join(User, LoginSession.user_id == User.id)
                .where(LoginSession.digest == digest, LoginSession.ended.is_(None))
            ).first()
            if row is None:
                return None
            login, user = row
            self._end_sessions(session, LoginSession.id == login.id)
            session.add(_event(_caller(user), "user.logout", "user", user.name, "ok", {"client": login.client}))
            return user.id

    def end_user_sessions(self, user_id: int) -> int:
        """End every session (and so every space session) of user ``user_id``; returns how many."""
        with self.store.write() as session:
            return self._end_sessions(session, LoginSession.user_id == user_id)

    def sign_out_everywhere(self, caller: Caller, name: str) -> int:
        """End all of ``name``'s sessions (self or admin; audited); returns the user's id."""
        with self._change(caller, "user.sign_out", "user", name) as (session, detail):
            self._self_or_admin(caller, name, "sign-ins")
            user = self._user(session, name)
            detail["sessions"] = self._end_sessions(session, LoginSession.user_id == user.id)
            return user.id

    @staticmethod
    def _end_sessions(session: Session, which) -> int:
        now = utcnow()
        ids = select(LoginSession.id).where(which, LoginSession.ended.is_(None))
        ended_ids = session.scalars(ids).all()
        if not ended_ids:
            return 0
        session.execute(update(LoginSession).where(LoginSession.id.in_(ended_ids)).values(ended=now))
        session.execute(
            update(SpaceSession)
            .where(SpaceSession.session_id.in_(ended_ids), SpaceSession.ended.is_(None))
            .values(ended=now)
        )
        session.execute(delete(SpaceTicket).where(SpaceTicket.session_id.in_(ended_ids)))
        return len(ended_ids)

    def create_space_ticket(self, session_id: int, user_id: int, space_name: str) -> str:
        """A one-time ticket (raw; valid 60 s) into space ``space_name`` for the browser of
        session ``session_id`` of user ``user_id``.

        The policy decides as for ``open_target``: a space the user may not see raises
        the same ``NotFound`` as a missing one, one they see but may not open ``Forbidden``.
        A session that is not live (or not the user's) raises ``Forbidden``.
        """
        raw = accounts.new_token()
        now = utcnow()
        with self.store.write() as session:
            login, user = session.get(LoginSession, session_id), session.get(User, user_id)
            if login is None or login.ended is not None or user is None or login.user_id != user.id:
                raise Forbidden("This sign-in has ended; sign in again.")
            space, _owner, _role = self._authorize(session, _caller(user), space_name, Action.OPEN)
            session.execute(delete(SpaceTicket).where(SpaceTicket.expires <= now))
            session.add(
                SpaceTicket(
                    digest=accounts.token_digest(raw), user_id=user.id, session_id=login.id,
                    space_id=space.id, expires=now + SPACE_TICKET_TTL,
                )
            )
        return raw

    def consume_space_ticket(self, raw: str) -> tuple[User, int, int] | None:
        """``(user, space id, parent session id)`` for a ticket, which is gone after this call.

        None when the ticket is unknown, used, expired, its parent session has ended,
        or the policy no longer lets the user open the space.
        """
        digest = accounts.token_digest(raw)
        with self.store.write() as session:
            ticket = session.scalar(select(SpaceTicket).where(SpaceTicket.digest == digest))
            if ticket is None:
                return None
            session.delete(ticket)
            login, user = session.get(LoginSession, ticket.session_id), session.get(User, ticket.user_id)
            space = session.get(Space, ticket.space_id)
            if ticket.expires <= utcnow() or login is None or login.ended is not None or user is None or space is None:
                return None
            try:
                self._authorize(session, _caller(user), space.name, Action.OPEN)
            except SpacesError:
                return None
            return user, space.id, login.id

    def create_space_session(self, user_id: int, space_id: int, parent_session_id: int, client: str = "") -> str | None:
        """Start a space session (what a consumed ticket becomes); returns its raw id, or
        None when the parent session is not live or not the user's, or the space is gone."""
        raw = accounts.new_token()
        with self.store.write() as session:
            login = session.get(LoginSession, parent_session_id)
            if login is None or login.ended is not None or login.user_id != user_id:
                return None
            if session.get(Space, space_id) is None:
                return None
            session.add(
                SpaceSession(
                    digest=accounts.token_digest(raw), user_id=user_id, space_id=space_id,
                    session_id=login.id, client=printable(client)[:64],
                )
            )
        return raw

    def space_session(self, raw: str) -> tuple[User, int, int] | None:
        """``(user, space id, space session id)`` of a live space session, or None (unknown,
        ended, its parent session ended, its user or space gone). Says who, not what they
        may do: ask the policy (``open_target``) for each request."""
        row = self._live(SpaceSession, raw)
        return None if row is None else (row[1], row[0].space_id, row[0].id)

    def end_space_session(self, raw: str) -> bool:
        """End one space session (a logout on the space's origin); False if it was not live."""
        digest = accounts.token_digest(raw)
        with self.store.write() as session:
            result = session.execute(
                update(SpaceSession)
                .where(SpaceSession.digest == digest, SpaceSession.ended.is_(None))
                .values(ended=utcnow())
            )
            return result.rowcount > 0

    # -- users -------------------------------------------------------------------

    @staticmethod
    def _user(session: Session, name: str) -> User:
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            raise NotFound(f"No user named {name!r}.")
        return user

    def me(self, caller: Caller) -> dict:
        with self.store.read() as session:
            return user_json(self._user(session, caller.name))

    def list_users(self, caller: Caller, page: Page) -> dict:
        query = select(User).order_by(User.name).limit(page.limit + 1)
        if page.cursor:
            _, last = paging.decode_cursor(page.cursor, "users", value=None)
            query = query.where(User.name > last)
        with self.store.read() as session:
            rows = session.scalars(query).all()
        return self._page(rows, page.limit, user_json, lambda u: paging.encode_cursor("users", None, u.name))

    def get_user(self, caller: Caller, name: str) -> dict:
        with self.store.read() as session:
            return user_json(self._user(session, name))

    def create_user(self, caller: Caller, body: UserCreate) -> dict:
        token = accounts.new_token()
        with self._change(caller, "user.create", "user", body.name, admin=body.admin) as (session, _):
            if not caller.admin:
                raise Forbidden("Only administrators may add users.")
            if session.scalar(select(User.id).where(User.name == body.name)) is not None:
                raise Conflict(f"User {body.name!r} already exists.")
            display_name = body.display_name or body.name
            taken = set(session.scalars(select(User.color)))
            user = User(
                name=body.name,
                display_name=display_name,
                initials=accounts.initials_for(display_name),
                color=accounts.pick_color(body.name, taken),
                admin=body.admin,
                password_hash=accounts.hash_password(body.password) if body.password else None,
            )
            user.tokens.append(Token(digest=accounts.token_digest(token), note="created with the user"))
            session.add(user)
            session.flush()
            result = user_json(user)
        return {**result, "token": token}

    def update_user(self, caller: Caller, name: str, body: UserUpdate) -> dict:
        fields = body.model_dump(exclude_unset=True)
        changed = sorted(k for k in fields if k != "password")
        with self._change(caller, "user.update", "user", name, fields=changed) as (session, _):
            if not caller.admin and (caller.name != name or "admin" in fields):
                raise Forbidden("Only administrators may change other users or admin rights.")
            user = self._user(session, name)
            if fields.get("display_name") is not None:
                user.display_name = fields["display_name"]
                user.initials = accounts.initials_for(user.display_name)
            if fields.get("color") is not None:
                user.color = fields["color"]
            if "password" in fields:
                pw = fields["password"]
                user.password_hash = accounts.hash_password(pw) if pw else None
            if fields.get("admin") is not None:
                user.admin = fields["admin"]
                session.flush()
                self._keep_an_admin(session)
            return user_json(user)

    @staticmethod
    def _keep_an_admin(session: Session) -> None:
        if not session.scalar(select(func.count()).select_from(User).where(User.admin)):
            raise Conflict("The domain must keep at least one administrator.")

    def delete_user(self, caller: Caller, name: str) -> None:
        with self._change(caller, "user.delete", "user", name) as (session, _):
            if not caller.admin:
                raise Forbidden("Only administrators may remove users.")
            user = self._user(session, name)
            owned = session.scalar(select(func.count()).select_from(Space).where(Space.owner_id == user.id))
            if owned:
                raise Conflict(
                    f"User {name!r} owns {owned} space(s); delete them before removing the user."
                )
            session.delete(user)
            session.flush()
            self._keep_an_admin(session)

    # -- tokens ------------------------------------------------------------------

    @staticmethod
    def _self_or_admin(caller: Caller, name: str, what: str = "tokens") -> None:
        if not caller.admin and caller.name != name:
            raise Forbidden(f"Only the user or an administrator may manage these {what}.")

    def list_tokens(self, caller: Caller, name: str) -> dict:
        self._self_or_admin(caller, name)
        with self.store.read() as session:
            user = self._user(session, name)
            rows = session.scalars(
                select(Token).where(Token.user_id == user.id, Token.kind == "api").order_by(Token.id)
            ).all()
            return {"items": [token_json(t) for t in rows]}

    def create_token(self, caller: Caller, name: str, body: TokenCreate) -> dict:
        token = accounts.new_token()
        with self._change(caller, "token.create", "user", name, note=body.note) as (session, detail):
            self._self_or_admin(caller, name)
            user = self._user(session, name)
            expires = utcnow() + timedelta(days=body.expires_in_days) if body.expires_in_days else None
            tok = Token(user_id=user.id, digest=accounts.token_digest(token), note=body.note, expires=expires)
            session.add(tok)
            session.flush()
            detail["token_id"] = tok.id
            result = token_json(tok)
        return {**result, "token": token}

    def delete_token(self, caller: Caller, name: str, token_id: int) -> str:
        """Revoke a token; returns its digest (what the proxy knows connections made with it by)."""
        with self._change(caller, "token.delete", "user", name, token_id=token_id) as (session, _):
            self._self_or_admin(caller, name)
            user = self._user(session, name)
            tok = session.scalar(
                select(Token).where(Token.id == token_id, Token.user_id == user.id, Token.kind == "api")
            )
            if tok is None:
                raise NotFound(f"User {name!r} has no token {token_id}.")
            session.delete(tok)
            return tok.digest

    # -- spaces ------------------------------------------------------------------

    def _space_row(self, session: Session, caller: Caller, name: str):
        """``(space, owner name, caller's membership role)`` or a 404 for missing *and* hidden."""
        row = session.execute(
            select(Space, User.name, Member.role)
            .join(User, Space.owner_id == User.id)
            .outerjoin(Member, (Member.space_id == Space.id) & (Member.user_id == caller.id))
            .where(Space.name == name)
        ).first()
        if row is None:
            raise space_not_found(name)
        return row

    def _authorize(self, session: Session, caller: Caller, name: str, action: Action):
        space, owner, member_role = self._space_row(session, caller, name)
        ref = policy.SpaceRef(name=space.name, owner_id=space.owner_id, sharing=space.sharing, member_role=member_role)
        role = policy.check(caller, ref, action, self.default_role)
        return space, owner, role

    def space_json(self, space: Space, owner: str, role: str | None) -> dict:
        return {
            "name": space.name,
            "display_name": space.display_name,
            "owner": owner,
            "sharing": space.sharing,
            "app_type": space.app_type,
            "instance_type": space.instance_type,
            "image": space.image,
            "volume_gb": space.volume_gb,
            "idle_timeout_minutes": space.idle_timeout_minutes,
            "status": space.status,
            "failure_reason": space.failure_reason,
            "created": iso(space.created),
            "updated": iso(space.updated),
            "last_activity": iso(space.last_activity),
            "role": role,
            "url": f"{self.base_url}spaces/{space.name}/" if role else None,
            "volume_used_bytes": space.volume_used_bytes,
        }

    def list_spaces(self, caller: Caller, q: SpaceQuery) -> dict:
        conditions = []
        if q.sharing:
            conditions.append(Space.sharing == q.sharing)
        if q.app_type:
            conditions.append(Space.app_type == q.app_type)
        if q.status:
            conditions.append(Space.status == q.status)
        if q.owner:
            conditions.append(User.name == q.owner)
        if q.name_contains:
            conditions.append(Space.name.contains(q.name_contains, autoescape=True))
        key = q.sort.lstrip("-")
        descending = q.sort.startswith("-")
        column = getattr(Space, key)
        if q.cursor:
            value, last = paging.decode_cursor(q.cursor, q.sort, value=str if key == "name" else datetime)
            conditions.append(paging.after(column, Space.name, value, last, descending=descending))
        order = (column.desc(), Space.name.desc()) if descending else (column, Space.name)
        if key == "name":
            order = order[:1]

        def page(*where):
            return (
                select(Space.id).join(User, Space.owner_id == User.id)
                .where(*conditions, *where).order_by(*order).limit(q.limit + 1)
            )

        query = (
            select(Space, User.name, Member.role)
            .join(User, Space.owner_id == User.id)
            .outerjoin(Member, (Member.space_id == Space.id) & (Member.user_id == caller.id))
        )
        if caller.admin:
            query = query.where(*conditions)
        else:
            # What a user sees is the shared spaces and their own private ones: one page
            # of each, each read in index order, then merged. (One query with an OR
            # reads and sorts every shared space for each page.)
            shared = page(Space.sharing == "shared").subquery()
            own = page(Space.owner_id == caller.id, Space.sharing != "shared").subquery()
            query = query.where(Space.id.in_(union_all(select(shared.c.id), select(own.c.id))))
        query = query.order_by(*order).limit(q.limit + 1)
        with self.store.read() as session:
            rows = session.execute(query).all()
        return self._page(
            rows,
            q.limit,
            lambda r: self.space_json(r[0], r[1], policy.role_of(caller, self._ref(r), self.default_role)),
            lambda r: paging.encode_cursor(q.sort, getattr(r[0], key), r[0].name),
        )

    @staticmethod
    def _ref(row) -> policy.SpaceRef:
        space, _, member_role = row
        return policy.SpaceRef(space.name, space.owner_id, space.sharing, member_role)

    def get_space(self, caller: Caller, name: str) -> dict:
        with self.store.read() as session:
            space, owner, role = self._authorize(session, caller, name, Action.DESCRIBE)
            return self.space_json(space, owner, role)

    def space_id(self, caller: Caller, name: str) -> int:
        """The id of the space now called ``name``, if ``caller`` may see it (else 404).

        Streams and caches follow this id, never the name: once the space is deleted,
        a new space with its name is another space (ids are never reused).
        """
        with self.store.read() as session:
            space, _owner, _role = self._authorize(session, caller, name, Action.DESCRIBE)
            return space.id

    def status_by_id(self, space_id: int) -> dict | None:
        """The events stream's status fields of space ``space_id``; None once it is deleted."""
        with self.store.read() as session:
            space = session.get(Space, space_id)
            return None if space is None else status_of(self.space_json(space, owner="", role=None))

    def _check_catalog(
        self, instance_type: str | None, image: str | None, app_type: str | None, volume_gb: int | None = None
    ) -> None:
        if volume_gb is not None and volume_gb > self.max_volume_gb:
            raise Invalid(f"A volume of {volume_gb} GiB is above this domain's limit of {self.max_volume_gb} GiB.")
        if instance_type is not None and instance_type not in self.catalog.instance_types:
            choices = ", ".join(self.catalog.instance_types)
            raise Invalid(f"Unknown instance type {instance_type!r}; choose one of: {choices}.")
        if image is not None and image not in self.catalog.images:
            raise Invalid(f"Unknown image {image!r}; choose one of: {', '.join(self.catalog.images)}.")
        if app_type is not None:
            available, reason = self.catalog.availability(app_type)
            if not available:
                raise Invalid(reason)

    def create_space(self, caller: Caller, body: SpaceCreate, owner: str | None = None) -> dict:
        """Create a stopped space owned by the caller (or by ``owner``, for the CLI)."""
        with self._change(caller, "space.create", "space", body.name, sharing=body.sharing) as (session, _):
            self._check_catalog(body.instance_type, body.image, body.app_type, body.volume_gb)
            owner_user = self._user(session, owner or caller.name)
            if session.scalar(select(Space.id).where(Space.name == body.name)) is not None:
                # Same answer whether or not the caller could see the existing space:
                # names are unique in the domain, and "taken" says nothing more.
                raise Conflict(f"The name {body.name!r} is taken; choose another.")
            space = Space(
                name=body.name,
                display_name=body.display_name or body.name,
                owner_id=owner_user.id,
                sharing=body.sharing,
                app_type=body.app_type,
                instance_type=body.instance_type or self.catalog.default_instance_type,
                image=body.image or self.catalog.default_image,
                volume_gb=body.volume_gb or self.default_volume_gb,
                idle_timeout_minutes=(
                    body.idle_timeout_minutes
                    if body.idle_timeout_minutes is not None
                    else self.default_idle_timeout_minutes
                ),
                status="stopped",
            )
            session.add(space)
            session.flush()
            role = policy.role_of(caller, self._ref((space, None, None)), self.default_role)
            return self.space_json(space, owner_user.name, role)

    def update_space(
        self, caller: Caller, name: str, body: SpaceUpdate, *, resized_from: str | None = None
    ) -> dict:
        """Apply settings. ``resized_from``: the space is ``updating`` after ``begin_resize``
        and goes back to that status."""
        fields = body.model_dump(exclude_unset=True, exclude_none=True)
        with self._change(caller, "space.update", "space", name, fields=sorted(fields)) as (session, _):
            space, owner, role = self._authorize(session, caller, name, Action.UPDATE)
            self._check_settings(space, fields, allowed=("updating",) if resized_from else STOPPED)
            for key, value in fields.items():
                setattr(space, key, value)
            if resized_from:
                space.status = resized_from
            space.updated = utcnow()
            return self.space_json(space, owner, role)

    def _check_settings(self, space: Space, fields: dict, allowed: tuple[str, ...]) -> None:
        self._check_catalog(fields.get("instance_type"), fields.get("image"), None, fields.get("volume_gb"))
        needs_stop = sorted(k for k in set(fields) - LIVE_FIELDS if fields[k] != getattr(space, k))
        if needs_stop and space.status not in allowed:
            raise Conflict(
                f"Stop space {space.name!r} before changing {', '.join(needs_stop)} "
                f"(it is {space.status})."
            )

    def begin_resize(self, caller: Caller, name: str, body: SpaceUpdate) -> str:
        """Check a settings change that resizes the volume and hold the space in
        ``updating`` while the launcher resizes; returns the status to go back to."""
        fields = body.model_dump(exclude_unset=True, exclude_none=True)
        with self._change(caller, "space.resize", "space", name, volume_gb=body.volume_gb) as (session, _):
            space, _owner, _role = self._authorize(session, caller, name, Action.UPDATE)
            self._check_settings(space, fields, allowed=STOPPED)
            prior, space.status = space.status, "updating"
            return prior

    def begin_delete(self, caller: Caller, name: str) -> int:
        """Mark a stopped space ``deleting``; ``finish_delete`` removes it once its volume is gone.
        Returns the space's id."""
        with self._change(caller, "space.delete", "space", name) as (session, _):
            space, _owner, _role = self._authorize(session, caller, name, Action.DELETE)
            if space.status not in STOPPED:
                raise Conflict(f"Stop space {name!r} before deleting it (it is {space.status}).")
            space.status = "deleting"
            return space.id

    def finish_delete(self, name: str) -> None:
        """Remove the space's row; its tickets and space sessions go with it (foreign keys)."""
        with self.store.write() as session:
            space = session.scalar(select(Space).where(Space.name == name))
            if space is not None:
                session.delete(space)

    # -- lifecycle bookkeeping (the Lifecycle manager drives the launcher) --------

    def begin_start(self, caller: Caller, name: str) -> tuple[dict, dict | None]:
        """Authorize a start and move the space to ``starting``.

        Returns the space and what the launcher needs, or None when it is already
        starting or running (a start is idempotent).
        """
        with self._change(caller, "space.start", "space", name) as (session, _):
            space, owner, role = self._authorize(session, caller, name, Action.START)
            if space.status in ("starting", "running"):
                return self.space_json(space, owner, role), None
            if space.status not in STOPPED:
                raise Conflict(f"Space {name!r} is {space.status}; start it once that is done.")
            available, reason = self.catalog.availability(space.app_type)
            if not available:
                raise Conflict(reason)
            instance_type = self.catalog.instance_types.get(space.instance_type)
            image = self.catalog.images.get(space.image)
            if instance_type is None or image is None:
                raise Conflict(
                    f"Space {name!r} uses an instance type or image this domain no longer offers; "
                    "choose another in its settings."
                )
            space.status = "starting"
            space.failure_reason = None
            space.secret = secrets.token_urlsafe(32)
            space.updated = utcnow()
            launch = {
                "space_id": space.id,
                "name": space.name,
                "app_type": space.app_type,
                "instance_type": instance_type,
                "image": image,
                "volume_gb": space.volume_gb,
                "secret": space.secret,
            }
            return self.space_json(space, owner, role), launch

    def begin_stop(self, caller: Caller, name: str) -> tuple[dict, dict | None]:
        """Authorize a stop and move a running or starting space to ``stopping``.

        Returns the space and ``{"launcher_state", "cancel_start"}``, or None when it is
        already stopped. Stopping a space that is starting cancels the start.
        """
        with self._change(caller, "space.stop", "space", name) as (session, _):
            space, owner, role = self._authorize(session, caller, name, Action.STOP)
            if space.status in STOPPED:
                return self.space_json(space, owner, role), None
            if space.status not in ("running", "starting"):
                raise Conflict(f"Space {name!r} is {space.status}; stop it once that is done.")
            cancel_start = space.status == "starting"
            space.status = "stopping"
            return self.space_json(space, owner, role), {
                "space_id": space.id,
                "launcher_state": space.launcher_state or {},
                "cancel_start": cancel_start,
            }

    def transition(
        self, name: str, *, expect: tuple[str, ...] | None = None, **fields
    ) -> tuple[int, dict] | None:
        """Set a space's lifecycle fields (status, failure_reason, server_url, ...).

        With ``expect``, only when its status is one of those. Returns the space's id
        and public status fields (for the events stream), or None when nothing changed.
        """
        with self.store.write() as session:
            space = session.scalar(select(Space).where(Space.name == name))
            if space is None or (expect and space.status not in expect):
                return None
            for key, value in fields.items():
                setattr(space, key, value)
            if "status" in fields:
                space.updated = utcnow()
            return space.id, status_of(self.space_json(space, owner="", role=None))

    def record(self, action: str, name: str, outcome: str = "ok", **detail) -> None:
        """An audit event for what the domain itself did to a space (idle stop, crash)."""
        self._audit_alone(SYSTEM, action, "space", name, outcome, detail)

    def active_spaces(self) -> list[dict]:
        """Spaces the domain believes have (or are getting) a server."""
        with self.store.read() as session:
            rows = session.scalars(select(Space).where(Space.status.not_in(STOPPED))).all()
            return [
                {
                    "id": s.id,
                    "name": s.name,
                    "status": s.status,
                    "server_url": s.server_url,
                    "secret": s.secret,
                    "launcher_state": s.launcher_state,
                    "idle_timeout_minutes": s.idle_timeout_minutes,
                    "last_activity": s.last_activity,
                }
                for s in rows
            ]

    def open_target(self, caller: Caller, name: str) -> dict:
        """What the proxy needs to forward ``caller`` into space ``name``, once the policy says yes.

        ``identity`` is what the domain signs for the space agent; ``secret`` and
        ``server_url`` are None unless the space runs.
        """
        with self.store.read() as session:
            space, _owner, role = self._authorize(session, caller, name, Action.OPEN)
            user = self._user(session, caller.name)
            return {
                "name": space.name,
                "status": space.status,
                "role": role,
                "server_url": space.server_url,
                "secret": space.secret,
                "identity": {
                    "name": user.name,
                    "display_name": user.display_name,
                    "initials": user.initials,
                    "color": user.color,
                    "role": role,
                },
            }

    # -- members -----------------------------------------------------------------

    def list_members(self, caller: Caller, name: str) -> dict:
        with self.store.read() as session:
            space, _owner, _role = self._authorize(session, caller, name, Action.READ_MEMBERS)
            rows = session.execute(
                select(User, Member.role).join(Member, Member.user_id == User.id)
                .where(Member.space_id == space.id).order_by(User.name)
            ).all()
            items = [{"user": user_json(space.owner), "role": "owner"}]
            items += [{"user": user_json(u), "role": r} for u, r in rows]
            return {"items": items}

    def put_member(self, caller: Caller, name: str, user_name: str, body: MemberPut) -> dict:
        with self._change(caller, "member.put", "space", name, user=user_name, role=body.role) as (session, _):
            space, _owner, _role = self._authorize(session, caller, name, Action.MANAGE_MEMBERS)
            if space.sharing != "shared":
                raise Conflict("A private space has no members; create a shared space to collaborate.")
            user = self._user(session, user_name)
            if user.id == space.owner_id:
                raise Conflict(f"{user_name!r} owns space {name!r}; an owner's role cannot change.")
            member = session.get(Member, (space.id, user.id))
            if member is None:
                session.add(Member(space_id=space.id, user_id=user.id, role=body.role))
            else:
                member.role = body.role
            return {"user": user_json(user), "role": body.role}

    def delete_member(self, caller: Caller, name: str, user_name: str) -> None:
        with self._change(caller, "member.delete", "space", name, user=user_name) as (session, _):
            space, _owner, _role = self._authorize(session, caller, name, Action.MANAGE_MEMBERS)
            if space.sharing != "shared":
                raise Conflict("A private space has no members.")
            user = self._user(session, user_name)
            member = session.get(Member, (space.id, user.id))
            if member is None:
                raise NotFound(f"{user_name!r} is not a member of space {name!r}.")
            session.delete(member)

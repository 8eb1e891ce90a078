"""Who a caller is: API tokens, login links, passwords, browser sessions, and the
tickets and sessions that let a browser into a space on its own origin. A part of
``DomainService`` (:mod:`.service`)."""

from __future__ import annotations

from datetime import datetime
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ..errors import Forbidden, NotFound, SpacesError, TooManyRequests
from . import accounts
from .models import LoginSession, Space, SpaceSession, SpaceTicket, Token, User, utcnow
from .policy import Action, Caller
from .servicebase import (
    ANONYMOUS,
    LOGIN_LINK_TTL,
    SPACE_TICKET_TTL,
    TOKEN_TOUCH_INTERVAL,
    ServiceBase,
    audit_event,
    caller_of,
    printable,
)


def end_login_sessions(session: Session, which) -> int:
    """End the live login sessions ``which`` selects, their space sessions and tickets; how many."""
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


class SessionsService(ServiceBase):
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
        return self.consume_login_link(token)[0]

    def consume_login_link(self, token: str) -> tuple[User | None, str]:
        """``(user, "ok")`` for a live login-link token, which is gone after; else
        ``(None, why)``: ``expired`` (known, past its time: gone now too) or ``unknown``
        (used, its user removed, or never made: one cannot tell them apart)."""
        digest = accounts.token_digest(token)
        with self.store.write() as session:
            tok = session.scalar(select(Token).where(Token.digest == digest, Token.kind == "login"))
            if tok is None:
                return None, "unknown"
            user = tok.user
            expired = tok.expires is not None and tok.expires <= utcnow()
            session.delete(tok)
            if expired:
                return None, "expired"
            user.last_activity = utcnow()
        return user, "ok"

    def check_password(self, name: str, password: str) -> User | None:
        user = self.user_by_name(name)
        if user is None or not accounts.check_password(user.password_hash, password):
            return None
        return user

    def login_link_token(self, caller: Caller, name: str) -> str:
        """A one-time login token for ``name`` (the demo and the CLI print links with it)."""
        return self.new_login_link(caller, name, admin_only=False)[0]

    def new_login_link(self, caller: Caller, name: str, *, admin_only: bool = True) -> tuple[str, datetime]:
        """A one-time login token for ``name`` and when it expires (audited). Through the
        API only an administrator may make one: it signs its holder in as ``name``."""
        token = accounts.new_token()
        expires = utcnow() + LOGIN_LINK_TTL
        with self._change(caller, "user.login_link", "user", name) as (session, _):
            if admin_only and not caller.admin:
                raise Forbidden("Only administrators may make login links.")
            self._self_or_admin(caller, name)
            user = self._user(session, name)
            session.add(
                Token(
                    user_id=user.id,
                    kind="login",
                    digest=accounts.token_digest(token),
                    note="login link",
                    expires=expires,
                )
            )
        return token, expires

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
                session.add(audit_event(ANONYMOUS, "user.login", "user", name, "failed", {"client": client}))
                for scope, seconds in locks:
                    detail = {"client": client, "scope": scope, "seconds": seconds}
                    session.add(audit_event(ANONYMOUS, "user.lockout", "user", name, "locked", detail))
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
            detail = {"client": client, "via": via}
            session.add(audit_event(caller_of(user), "user.login", "user", user.name, "ok", detail))
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
            end_login_sessions(session, LoginSession.id == login.id)
            session.add(audit_event(caller_of(user), "user.logout", "user", user.name, "ok", {"client": login.client}))
            return user.id

    def end_user_sessions(self, user_id: int) -> int:
        """End every session (and so every space session) of user ``user_id``; returns how many."""
        with self.store.write() as session:
            return end_login_sessions(session, LoginSession.user_id == user_id)

    def sign_out_everywhere(self, caller: Caller, name: str) -> int:
        """End all of ``name``'s sessions (self or admin; audited); returns the user's id."""
        with self._change(caller, "user.sign_out", "user", name) as (session, detail):
            self._self_or_admin(caller, name, "sign-ins")
            user = self._user(session, name)
            detail["sessions"] = end_login_sessions(session, LoginSession.user_id == user.id)
            return user.id

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
            space, _owner, _role = self._authorize(session, caller_of(user), space_name, Action.OPEN)
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
                self._authorize(session, caller_of(user), space.name, Action.OPEN)
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

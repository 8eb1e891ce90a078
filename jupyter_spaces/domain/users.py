"""Users, their API tokens, and the audit log's reading. A part of ``DomainService``
(:mod:`.service`)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from ..errors import Conflict, Forbidden, NotFound
from . import accounts, paging
from .models import AuditEvent, LoginSession, Space, Token, User, utcnow
from .policy import Caller
from .schemas import AuditQuery, Page, TokenCreate, UserCreate, UserUpdate
from .servicebase import ServiceBase, audit_json, token_json, user_json
from .sessions import end_login_sessions


class UsersService(ServiceBase):
    # -- audit -------------------------------------------------------------------

    def list_audit(self, caller: Caller, page: Page) -> dict:
        """Newest first; an ``AuditQuery`` filters (the cursor is the last id, so a
        next page keeps the filters it is asked with)."""
        if not caller.admin:
            raise Forbidden("Only administrators may read the audit log.")
        query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(page.limit + 1)
        if isinstance(page, AuditQuery):
            query = query.where(*_audit_filters(page))
        if page.cursor:
            _, last_id = paging.decode_cursor(page.cursor, "audit", value=None, key=int)
            query = query.where(AuditEvent.id < last_id)
        with self.store.read() as session:
            rows = session.scalars(query).all()
        return self._page(rows, page.limit, audit_json, lambda e: paging.encode_cursor("audit", None, e.id))

    # -- users -------------------------------------------------------------------

    def me(self, caller: Caller) -> dict:
        with self.store.read() as session:
            user = session.scalar(select(User).where(User.name == caller.name))
            if user is None:
                # Removed while the identity cache still knew them (cache_seconds): the answer
                # of credentials that match nobody, as the API documents, not a 404 about a user.
                raise Forbidden("Log in first: this user no longer exists.")
            return user_json(user)

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

    def update_user(self, caller: Caller, name: str, body: UserUpdate, keep_session: str | None = None) -> dict:
        """Change a user (self, or any as an admin). A new or removed password ends the
        user's browser sessions, except ``keep_session`` (the caller's own, raw) when the
        caller changes their own: whoever knew the old password is signed out."""
        fields = body.model_dump(exclude_unset=True)
        changed = sorted(k for k in fields if k != "password")
        with self._change(caller, "user.update", "user", name, fields=changed) as (session, detail):
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
                which = LoginSession.user_id == user.id
                if keep_session and caller.name == name:
                    which = and_(which, LoginSession.digest != accounts.token_digest(keep_session))
                detail["sessions_ended"] = end_login_sessions(session, which)
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


def _audit_filters(q: AuditQuery) -> list:
    where = []
    if q.actor is not None:
        where.append(AuditEvent.actor == q.actor)
    if q.action is not None:
        # "space" is every "space.*"; the prefix is matched literally (no LIKE wildcards)
        prefix = q.action.rstrip(".") + "."
        where.append(
            or_(AuditEvent.action == q.action, func.substr(AuditEvent.action, 1, len(prefix)) == prefix)
        )
    if q.target_type is not None:
        where.append(AuditEvent.target_type == q.target_type)
    if q.target is not None:
        where.append(AuditEvent.target == q.target)
    if q.since is not None:
        where.append(AuditEvent.time >= q.since)
    if q.until is not None:
        where.append(AuditEvent.time < q.until)
    return where

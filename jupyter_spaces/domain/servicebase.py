"""What every part of the domain's operations shares (:mod:`.service` puts the parts
together as ``DomainService``): the callers the domain acts as, the JSON of its
records, and :class:`ServiceBase`: the audited write transaction (``_change``), paging,
and finding a user or a space the caller may see (``_authorize`` asks ``policy``).

Plain, synchronous Python over the ``Store``: the CLI calls it directly, the
server from a thread pool. Every method takes the ``Caller`` and asks ``policy``
before it acts; every change writes an audit event in the same transaction, and a
refused change writes one of its own (in a separate transaction, so the refused
change itself leaves nothing behind).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import Conflict, Forbidden, NotFound, SpacesError, space_not_found
from . import policy
from .catalog import Catalog
from .models import AuditEvent, Member, Space, Token, User
from .policy import Action, Caller
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


def caller_of(user: User) -> Caller:
    return Caller(id=user.id, name=user.name, admin=user.admin)


def audit_event(caller: Caller, action: str, target_type: str, target: str, outcome: str, detail: dict) -> AuditEvent:
    return AuditEvent(
        actor=caller.name,
        action=action,
        target_type=target_type,
        target=printable(target)[:256],
        outcome=outcome,
        detail=detail,
    )


class ServiceBase:
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
                session.add(audit_event(caller, action, target_type, target, "ok", detail))
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
            session.add(audit_event(caller, action, target_type, target, outcome, detail))

    @staticmethod
    def _page(rows, limit, to_json, cursor_of) -> dict:
        more = len(rows) > limit
        rows = rows[:limit]
        return {
            "items": [to_json(r) for r in rows],
            "next_cursor": cursor_of(rows[-1]) if more else None,
        }

    # -- finding what the caller may see ---------------------------------------------

    @staticmethod
    def _user(session: Session, name: str) -> User:
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            raise NotFound(f"No user named {name!r}.")
        return user

    @staticmethod
    def _self_or_admin(caller: Caller, name: str, what: str = "tokens") -> None:
        if not caller.admin and caller.name != name:
            raise Forbidden(f"Only the user or an administrator may manage these {what}.")

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

    @staticmethod
    def _ref(row) -> policy.SpaceRef:
        space, _, member_role = row
        return policy.SpaceRef(space.name, space.owner_id, space.sharing, member_role)

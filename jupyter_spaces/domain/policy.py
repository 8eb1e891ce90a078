"""Who may see and do what. Every handler asks here; nothing else decides.

Rules (see docs/api.md):
- a private space exists only for its owner; an admin sees its metadata and may
  stop or delete it, but never opens it, lists its members or reads its presence;
- every domain user sees every shared space, with the role of their membership or
  the domain's default role;
- a refusal for a space the caller may not see is the same 404 as a missing space.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..errors import Forbidden, space_not_found

ROLES = ("owner", "editor", "viewer")


@dataclass(frozen=True)
class Caller:
    id: int
    name: str
    admin: bool


@dataclass(frozen=True)
class SpaceRef:
    """The facts about a space that access decisions need."""

    name: str
    owner_id: int
    sharing: str
    member_role: str | None = None  # the caller's membership, if any


class Action(enum.Enum):
    DESCRIBE = "describe"
    UPDATE = "update"
    DELETE = "delete"
    START = "start"
    STOP = "stop"
    OPEN = "open"  # proxy, files, presence: anything inside the space
    READ_MEMBERS = "read members"
    MANAGE_MEMBERS = "manage members"


# Actions that reach inside a space (its files, people or server).
INSIDE = frozenset({Action.OPEN, Action.READ_MEMBERS, Action.MANAGE_MEMBERS})


def can_see(caller: Caller, space: SpaceRef) -> bool:
    return caller.admin or space.sharing == "shared" or space.owner_id == caller.id


def role_of(caller: Caller, space: SpaceRef, default_role: str) -> str | None:
    """The caller's role inside the space, or None when they may not enter it."""
    if space.owner_id == caller.id:
        return "owner"
    if space.sharing != "shared":
        return None
    return space.member_role or default_role


def check(caller: Caller, space: SpaceRef, action: Action, default_role: str) -> str | None:
    """Raise NotFound/Forbidden unless ``caller`` may do ``action``; return the caller's role."""
    if not can_see(caller, space):
        raise space_not_found(space.name)
    role = role_of(caller, space, default_role)
    manager = role == "owner" or caller.admin
    allowed = {
        Action.DESCRIBE: True,
        Action.UPDATE: manager,
        Action.DELETE: manager,
        Action.STOP: role in ("owner", "editor") or caller.admin,
        Action.START: role in ("owner", "editor") or (caller.admin and space.sharing == "shared"),
        Action.OPEN: role is not None,
        Action.READ_MEMBERS: role is not None,
        Action.MANAGE_MEMBERS: role == "owner" or (caller.admin and space.sharing == "shared"),
    }[action]
    if not allowed:
        if role is None and action in INSIDE:
            # An admin outside someone's private space sees metadata only; the
            # inside of the space stays as invisible as it is to anyone else.
            raise space_not_found(space.name)
        raise Forbidden(f"You may not {action.value} space {space.name!r} as {role or 'admin'}.")
    return role

"""The domain-wide feed: what one caller sees of every space, kept in step.

A feed shows each space as the caller's listing shows it (``GET spaces``: the same
entry, role and all) and nothing else: a user sees the shared spaces and their own,
an admin also the metadata of others' private spaces, never more than the listing
gives. ``FeedView`` remembers what it last sent, by space id, and turns a change
into the events that bring the client up to date:

- ``space``: a space's listing entry (new, or anything of it changed);
- ``deleted``: ``{name}``, the space is gone, or the caller no longer sees it;
- ``progress``: ``{name, percent, message}`` of a space it shows, while it starts or stops.

The queries read the store directly (plain, blocking: run them off the event loop).
"""

from __future__ import annotations

from sqlalchemy import select

from . import policy
from .models import Member, Space, User
from .policy import Caller


def _rows(service, caller: Caller, *where):
    query = (
        select(Space, User.name, Member.role)
        .join(User, Space.owner_id == User.id)
        .outerjoin(Member, (Member.space_id == Space.id) & (Member.user_id == caller.id))
        .where(*where)
    )
    if not caller.admin:
        query = query.where((Space.sharing == "shared") | (Space.owner_id == caller.id))
    with service.store.read() as session:
        return [
            (space.id, service.space_json(space, owner, _role(service, caller, space, member_role)))
            for space, owner, member_role in session.execute(query).all()
        ]


def _role(service, caller: Caller, space: Space, member_role: str | None) -> str | None:
    ref = policy.SpaceRef(space.name, space.owner_id, space.sharing, member_role)
    return policy.role_of(caller, ref, service.default_role)


def visible(service, caller: Caller) -> dict[int, dict]:
    """Every space ``caller`` sees, by id, as their listing shows it."""
    return dict(_rows(service, caller))


def visible_named(service, caller: Caller, name: str) -> tuple[int, dict] | None:
    """``(id, entry)`` of space ``name`` if ``caller`` sees it, else None."""
    rows = _rows(service, caller, Space.name == name)
    return rows[0] if rows else None


class FeedView:
    """What one feed has sent; each method returns the events that follow a change."""

    def __init__(self, snapshot: dict[int, dict]):
        self.known = dict(snapshot)

    def items(self) -> list[dict]:
        return sorted(self.known.values(), key=lambda s: s["name"])

    def resync(self, snapshot: dict[int, dict]) -> list[tuple[str, dict]]:
        """All of it read anew (at keep-alive: changes by other processes, the CLI)."""
        events = [("deleted", {"name": self.known.pop(i)["name"]}) for i in sorted(set(self.known) - set(snapshot))]
        for space_id, entry in snapshot.items():
            if self.known.get(space_id) != entry:
                self.known[space_id] = entry
                events.append(("space", entry))
        return events

    def named(self, name: str, found: tuple[int, dict] | None) -> list[tuple[str, dict]]:
        """Space ``name`` read anew (``found``: ``visible_named``)."""
        events = []
        for space_id, entry in list(self.known.items()):
            if entry["name"] == name and (found is None or found[0] != space_id):
                del self.known[space_id]  # deleted, hidden, or another space has its name now
                events.append(("deleted", {"name": name}))
        if found is not None and self.known.get(found[0]) != found[1]:
            self.known[found[0]] = found[1]
            events.append(("space", found[1]))
        return events

    def progress(self, space_id: int | None, data: dict) -> list[tuple[str, dict]]:
        entry = self.known.get(space_id)
        if entry is None or entry["role"] is None:
            return []  # not a space this caller sees, or (an admin) only its listing entry
        return [("progress", {"name": entry["name"], "percent": data["percent"], "message": data["message"]})]

"""Entering a space's own origin: ticket → space session, and who a space session is.

Plain functions over the service's tickets and space sessions
(``DomainService.consume_space_ticket`` and friends) that add what only the
space's host knows: which space it is. A ticket or space session of another
space is worth nothing here.
"""

from __future__ import annotations

from .models import Space, User


def _space_name(service, space_id: int) -> str | None:
    with service.store.read() as session:
        space = session.get(Space, space_id)
        return space.name if space is not None else None


def enter_space(service, ticket: str, space_name: str, client: str = "") -> str | None:
    """The raw id of a new space session for the ticket's holder, or None (unknown, used,
    expired, or a ticket into another space)."""
    entered = service.consume_space_ticket(ticket)
    if entered is None:
        return None
    user, space_id, parent_session_id = entered
    if _space_name(service, space_id) != space_name:
        return None
    return service.create_space_session(user.id, space_id, parent_session_id, client)


def space_session_user(service, raw: str, space_name: str) -> tuple[User, int] | None:
    """``(user, space session id)`` of a live session of space ``space_name``, else None."""
    found = service.space_session(raw)
    if found is None:
        return None
    user, space_id, session_id = found
    if _space_name(service, space_id) != space_name:
        return None
    return user, session_id

"""Domain operations: users, tokens, sessions, spaces, members and the audit log.

``DomainService`` is the one object the rest of the domain (handlers, lifecycle, CLI)
calls; it is made of one part per concern, each a module of its own:

- :mod:`.servicebase` — the callers the domain acts as, records as JSON, the audited
  write transaction, finding what a caller may see;
- :mod:`.sessions` — who a caller is: API tokens, login links, passwords, browser
  sessions, space tickets and space sessions;
- :mod:`.users` — users, their API tokens, the audit log;
- :mod:`.spaces` — spaces, their settings and members, the lifecycle's bookkeeping.

Plain, synchronous Python over the ``Store``: the CLI calls it directly, the
server from a thread pool. Every method takes the ``Caller`` and asks ``policy``
before it acts; every change writes an audit event in the same transaction, and a
refused change writes one of its own.
"""

from __future__ import annotations

from .servicebase import (
    ANONYMOUS,
    LIVE_FIELDS,
    LOGIN_LINK_TTL,
    SPACE_TICKET_TTL,
    STATUS_FIELDS,
    STOPPED,
    SYSTEM,
    TOKEN_TOUCH_INTERVAL,
    audit_json,
    iso,
    printable,
    status_of,
    token_json,
    user_json,
)
from .sessions import SessionsService
from .spaces import SpacesService
from .users import UsersService

__all__ = [
    "ANONYMOUS",
    "LIVE_FIELDS",
    "LOGIN_LINK_TTL",
    "SPACE_TICKET_TTL",
    "STATUS_FIELDS",
    "STOPPED",
    "SYSTEM",
    "TOKEN_TOUCH_INTERVAL",
    "DomainService",
    "audit_json",
    "iso",
    "printable",
    "status_of",
    "token_json",
    "user_json",
]


class DomainService(SpacesService, UsersService, SessionsService):
    """Every operation of the domain, each checked against the policy and audited."""

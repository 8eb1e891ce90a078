"""Opaque keyset cursors: ``(sort, last value, last name)`` in URL-safe base64."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from sqlalchemy import and_, or_

from ..errors import BadRequest


def encode_cursor(sort: str, value, name: str | int) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([sort, value, name], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str, *, value: type | None = str, key: type = str):
    """Return ``(value, key)`` of the last row of the previous page.

    ``value`` is the sort column's type (``datetime``, ``str``, or None when the
    listing sorts by its key alone); anything else in the cursor is refused.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        got_sort, got_value, got_key = json.loads(raw)
        if got_sort != sort or type(got_key) is not key:
            raise ValueError("not this listing's cursor")
        if key is int and not 0 <= got_key < 2**63:
            raise ValueError("id out of range")
        if value is None:
            got_value = None
        elif value is datetime:
            got_value = datetime.fromisoformat(got_value)
        elif type(got_value) is not value:
            raise ValueError("wrong value type")
        return got_value, got_key
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as e:
        raise BadRequest("The cursor is not one this server gave for this listing.") from e


def after(column, tiebreak, value, name, *, descending: bool):
    """Rows strictly after ``(value, name)`` in (column, tiebreak) order."""
    if descending:
        return or_(column < value, and_(column == value, tiebreak < name))
    return or_(column > value, and_(column == value, tiebreak > name))

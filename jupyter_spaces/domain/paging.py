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


def decode_cursor(cursor: str, sort: str, *, datetime_value: bool = False):
    """Return ``(value, name)`` of the last row of the previous page."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        got_sort, value, name = json.loads(raw)
        if got_sort != sort:
            raise ValueError("sort changed")
        if datetime_value:
            value = datetime.fromisoformat(value)
        return value, name
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as e:
        raise BadRequest("The cursor is not one this server gave for this listing.") from e


def after(column, tiebreak, value, name, *, descending: bool):
    """Rows strictly after ``(value, name)`` in (column, tiebreak) order."""
    if descending:
        return or_(column < value, and_(column == value, tiebreak < name))
    return or_(column > value, and_(column == value, tiebreak > name))

"""pydantic's validation errors in words for people: a sentence and the field it is about.

pydantic words its errors for programmers ("String should match pattern '^[a-z0-9]…'");
a form shows the API's message next to the field, so the message must say the rule.
"""

from __future__ import annotations

from pydantic import ValidationError

from .schemas import SPACE_NAME, USER_NAME

# How each request field is named in a sentence.
LABELS = {
    "name": "The name",
    "display_name": "The display name",
    "sharing": "Sharing",
    "app_type": "The app type",
    "instance_type": "The instance type",
    "image": "The image",
    "volume_gb": "The volume size",
    "idle_timeout_minutes": "The idle timeout",
    "role": "The role",
    "admin": "Admin",
    "password": "The password",
    "color": "The colour",
    "note": "The note",
    "expires_in_days": "The expiry",
    "limit": "The limit",
    "cursor": "The cursor",
}

# Units of the numeric fields, so a bound reads "at most 100 GiB".
UNITS = {
    "volume_gb": " GiB",
    "idle_timeout_minutes": " minutes",
    "expires_in_days": " days",
}

# The rules behind the patterns, in words.
PATTERN_RULES = {
    SPACE_NAME: (
        "may contain only lowercase letters (a-z), digits and single hyphens, "
        "must start and end with a letter or digit, and be at most 63 characters long"
    ),
    USER_NAME: (
        "may contain only lowercase letters (a-z), digits, dots, underscores and hyphens, "
        "must start and end with a letter or digit, and be at most 64 characters long"
    ),
    r"^#[0-9a-f]{6}$": "must be a colour such as #1a2b3c (lowercase hex digits)",
}


def field_of(error: dict) -> str:
    """The top-level request field an error is about ('' for the body as a whole)."""
    loc = error.get("loc") or ()
    return str(loc[0]) if loc else ""


def _rule(error: dict, field: str) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    unit = UNITS.get(field, "")
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a field of this request"
    if kind == "string_pattern_mismatch":
        return PATTERN_RULES.get(ctx.get("pattern"), "is not in the expected form")
    if kind == "string_too_short":
        return "must not be empty" if ctx.get("min_length") == 1 else f"must be at least {ctx['min_length']} characters long"
    if kind == "string_too_long":
        return f"must be at most {ctx['max_length']} characters long"
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        return f"must be at least {bound}{unit}" if kind == "greater_than_equal" else f"must be more than {bound}{unit}"
    if kind in ("less_than_equal", "less_than"):
        bound = ctx.get("le", ctx.get("lt"))
        return f"must be at most {bound}{unit}" if kind == "less_than_equal" else f"must be less than {bound}{unit}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "must be a whole number" + (f" ({unit.strip()})" if unit else "")
    if kind in ("bool_type", "bool_parsing"):
        return "must be true or false"
    if kind in ("string_type",):
        return "must be a string"
    if kind == "literal_error":
        return f"must be one of {ctx['expected']}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return error["msg"][:1].lower() + error["msg"][1:]


def describe(error: ValidationError) -> tuple[str, str]:
    """``(field, sentence)`` of the first error, e.g. ``("volume_gb", "The volume size must be at least 1 GiB.")``."""
    first = error.errors(include_url=False)[0]
    field = field_of(first)
    rule = _rule(first, field)
    if first["type"] == "extra_forbidden":
        subject = f"{field!r}"
    else:
        subject = LABELS.get(field, f"{field!r}" if field else "The request body")
    sentence = f"{subject} {rule}".rstrip(".") + "."
    return field, sentence[:1].upper() + sentence[1:]

"""Request bodies and query parameters, validated by pydantic.

Bodies forbid unknown fields and coerce nothing (``"5"`` is not a number).
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

SPACE_NAME = r"^[a-z0-9](-?[a-z0-9]){0,62}$"
# Space names share the URL namespace <base_url>spaces/<name>/ with the domain's own pages.
RESERVED_SPACE_NAMES = frozenset({"api", "home", "static"})
USER_NAME = r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$"
MAX_BODY_BYTES = 64 * 1024

Sharing = Literal["private", "shared"]
AppType = Literal["jupyterlab", "code-editor", "mlflow", "rstudio"]  # apps.APPS (a test keeps them in step)
MemberRole = Literal["editor", "viewer"]
SpaceSort = Literal["name", "-name", "created", "-created", "last_activity", "-last_activity"]
SpaceStatus = Literal[
    "stopped", "starting", "running", "stopping", "updating", "failed", "deleting"
]


def _printable(value: str) -> str:
    """Refuse control characters (NUL breaks PostgreSQL; the rest break display)."""
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise ValueError("must not contain control characters")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


DisplayName = Annotated[
    str, Field(min_length=1, max_length=256), AfterValidator(_printable), AfterValidator(_not_blank)
]
Password = Annotated[str, Field(min_length=8, max_length=1024), AfterValidator(_printable)]
CatalogName = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_printable)]
Note = Annotated[str, Field(max_length=256), AfterValidator(_printable)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class UserCreate(Body):
    name: Annotated[str, Field(pattern=USER_NAME, max_length=64)]
    display_name: DisplayName | None = None
    admin: bool = False
    password: Password | None = None


class UserUpdate(Body):
    display_name: DisplayName | None = None
    admin: bool | None = None
    password: Password | None = None
    color: Annotated[str, Field(pattern=r"^#[0-9a-f]{6}$")] | None = None


class TokenCreate(Body):
    note: Note = ""
    expires_in_days: Annotated[int, Field(ge=1, le=3650)] | None = None


def _not_reserved(name: str) -> str:
    if name in RESERVED_SPACE_NAMES:
        raise ValueError(f"{name!r} is reserved; choose another name")
    return name


class SpaceCreate(Body):
    name: Annotated[str, Field(pattern=SPACE_NAME, max_length=63), AfterValidator(_not_reserved)]
    sharing: Sharing
    app_type: AppType = "jupyterlab"  # what the home's form and the CLI default to
    display_name: DisplayName | None = None
    instance_type: CatalogName | None = None
    image: CatalogName | None = None
    volume_gb: Annotated[int, Field(ge=1, le=16384)] | None = None
    idle_timeout_minutes: Annotated[int, Field(ge=0, le=10080)] | None = None


class SpaceUpdate(Body):
    display_name: DisplayName | None = None
    instance_type: CatalogName | None = None
    image: CatalogName | None = None
    volume_gb: Annotated[int, Field(ge=1, le=16384)] | None = None
    idle_timeout_minutes: Annotated[int, Field(ge=0, le=10080)] | None = None


class MemberPut(Body):
    role: MemberRole


class Page(BaseModel):
    """Paging query parameters (strings from the URL, so coercion is on)."""

    model_config = ConfigDict(extra="forbid")
    limit: Annotated[int, Field(ge=1, le=500)] = 50
    cursor: Annotated[str, Field(max_length=1024)] | None = None


class SpaceQuery(Page):
    sharing: Sharing | None = None
    app_type: AppType | None = None
    owner: Annotated[str, Field(max_length=64)] | None = None
    status: SpaceStatus | None = None
    name_contains: Annotated[str, Field(max_length=64)] | None = None
    sort: SpaceSort = "name"


class AuditQuery(Page):
    """The audit log's filters: each given one must match (``action`` also matches the
    actions under it: ``space`` is every ``space.*``); ``since``/``until`` are ISO 8601
    times with a zone, ``since`` inclusive, ``until`` exclusive."""

    actor: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    action: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    target_type: Literal["user", "space"] | None = None
    target: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None

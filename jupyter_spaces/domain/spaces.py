"""Spaces: their records, settings, members, and the lifecycle's bookkeeping (the
``Lifecycle`` drives the launcher; this says which transitions are allowed and what the
proxy may open). A part of ``DomainService`` (:mod:`.service`)."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select, union_all

from ..errors import Conflict, Invalid, NotFound
from . import paging, policy
from .models import Member, Space, User, utcnow
from .policy import Action, Caller
from .schemas import MemberPut, SpaceCreate, SpaceQuery, SpaceUpdate
from .servicebase import LIVE_FIELDS, STOPPED, SYSTEM, ServiceBase, status_of, user_json


class SpacesService(ServiceBase):
    # -- spaces ------------------------------------------------------------------

    def list_spaces(self, caller: Caller, q: SpaceQuery) -> dict:
        conditions = []
        if q.sharing:
            conditions.append(Space.sharing == q.sharing)
        if q.app_type:
            conditions.append(Space.app_type == q.app_type)
        if q.status:
            conditions.append(Space.status == q.status)
        if q.owner:
            conditions.append(User.name == q.owner)
        if q.name_contains:
            conditions.append(Space.name.contains(q.name_contains, autoescape=True))
        key = q.sort.lstrip("-")
        descending = q.sort.startswith("-")
        column = getattr(Space, key)
        if q.cursor:
            value, last = paging.decode_cursor(q.cursor, q.sort, value=str if key == "name" else datetime)
            conditions.append(paging.after(column, Space.name, value, last, descending=descending))
        order = (column.desc(), Space.name.desc()) if descending else (column, Space.name)
        if key == "name":
            order = order[:1]

        def page(*where):
            return (
                select(Space.id).join(User, Space.owner_id == User.id)
                .where(*conditions, *where).order_by(*order).limit(q.limit + 1)
            )

        query = (
            select(Space, User.name, Member.role)
            .join(User, Space.owner_id == User.id)
            .outerjoin(Member, (Member.space_id == Space.id) & (Member.user_id == caller.id))
        )
        if caller.admin:
            query = query.where(*conditions)
        else:
            # What a user sees is the shared spaces and their own private ones: one page
            # of each, each read in index order, then merged. (One query with an OR
            # reads and sorts every shared space for each page.)
            shared = page(Space.sharing == "shared").subquery()
            own = page(Space.owner_id == caller.id, Space.sharing != "shared").subquery()
            query = query.where(Space.id.in_(union_all(select(shared.c.id), select(own.c.id))))
        query = query.order_by(*order).limit(q.limit + 1)
        with self.store.read() as session:
            rows = session.execute(query).all()
        return self._page(
            rows,
            q.limit,
            lambda r: self.space_json(r[0], r[1], policy.role_of(caller, self._ref(r), self.default_role)),
            lambda r: paging.encode_cursor(q.sort, getattr(r[0], key), r[0].name),
        )

    def get_space(self, caller: Caller, name: str) -> dict:
        with self.store.read() as session:
            space, owner, role = self._authorize(session, caller, name, Action.DESCRIBE)
            return self.space_json(space, owner, role)

    def space_id(self, caller: Caller, name: str) -> int:
        """The id of the space now called ``name``, if ``caller`` may see it (else 404).

        Streams and caches follow this id, never the name: once the space is deleted,
        a new space with its name is another space (ids are never reused).
        """
        with self.store.read() as session:
            space, _owner, _role = self._authorize(session, caller, name, Action.DESCRIBE)
            return space.id

    def status_by_id(self, space_id: int) -> dict | None:
        """The events stream's status fields of space ``space_id``; None once it is deleted."""
        with self.store.read() as session:
            space = session.get(Space, space_id)
            return None if space is None else status_of(self.space_json(space, owner="", role=None))

    def _check_catalog(
        self, instance_type: str | None, image: str | None, app_type: str | None, volume_gb: int | None = None
    ) -> None:
        if volume_gb is not None and volume_gb > self.max_volume_gb:
            raise Invalid(
                f"A volume of {volume_gb} GiB is above this domain's limit of {self.max_volume_gb} GiB.",
                detail={"field": "volume_gb"},
            )
        if instance_type is not None and instance_type not in self.catalog.instance_types:
            choices = ", ".join(self.catalog.instance_types)
            raise Invalid(
                f"Unknown instance type {instance_type!r}; choose one of: {choices}.", detail={"field": "instance_type"}
            )
        if image is not None and image not in self.catalog.images:
            raise Invalid(
                f"Unknown image {image!r}; choose one of: {', '.join(self.catalog.images)}.", detail={"field": "image"}
            )
        if app_type is not None:
            available, reason = self.catalog.availability(app_type)
            if not available:
                raise Invalid(reason, detail={"field": "app_type"})

    def create_space(self, caller: Caller, body: SpaceCreate, owner: str | None = None) -> dict:
        """Create a stopped space owned by the caller (or by ``owner``, for the CLI)."""
        with self._change(caller, "space.create", "space", body.name, sharing=body.sharing) as (session, _):
            self._check_catalog(body.instance_type, body.image, body.app_type, body.volume_gb)
            owner_user = self._user(session, owner or caller.name)
            if session.scalar(select(Space.id).where(Space.name == body.name)) is not None:
                # Same answer whether or not the caller could see the existing space:
                # names are unique in the domain, and "taken" says nothing more.
                raise Conflict(f"The name {body.name!r} is taken; choose another.")
            space = Space(
                name=body.name,
                display_name=body.display_name or body.name,
                owner_id=owner_user.id,
                sharing=body.sharing,
                app_type=body.app_type,
                instance_type=body.instance_type or self.catalog.default_instance_type,
                image=body.image or self.catalog.default_image,
                volume_gb=body.volume_gb or self.default_volume_gb,
                idle_timeout_minutes=(
                    body.idle_timeout_minutes
                    if body.idle_timeout_minutes is not None
                    else self.default_idle_timeout_minutes
                ),
                status="stopped",
            )
            session.add(space)
            session.flush()
            role = policy.role_of(caller, self._ref((space, None, None)), self.default_role)
            return self.space_json(space, owner_user.name, role)

    def update_space(
        self, caller: Caller, name: str, body: SpaceUpdate, *, resized_from: str | None = None
    ) -> dict:
        """Apply settings. ``resized_from``: the space is ``updating`` after ``begin_resize``
        and goes back to that status."""
        fields = body.model_dump(exclude_unset=True, exclude_none=True)
        with self._change(caller, "space.update", "space", name, fields=sorted(fields)) as (session, _):
            space, owner, role = self._authorize(session, caller, name, Action.UPDATE)
            self._check_settings(space, fields, allowed=("updating",) if resized_from else STOPPED)
            for key, value in fields.items():
                setattr(space, key, value)
            if resized_from:
                space.status = resized_from
            space.updated = utcnow()
            return self.space_json(space, owner, role)

    def _check_settings(self, space: Space, fields: dict, allowed: tuple[str, ...]) -> None:
        self._check_catalog(fields.get("instance_type"), fields.get("image"), None, fields.get("volume_gb"))
        needs_stop = sorted(k for k in set(fields) - LIVE_FIELDS if fields[k] != getattr(space, k))
        if needs_stop and space.status not in allowed:
            raise Conflict(
                f"Stop space {space.name!r} before changing {', '.join(needs_stop)} "
                f"(it is {space.status})."
            )

    def begin_resize(self, caller: Caller, name: str, body: SpaceUpdate) -> str:
        """Check a settings change that resizes the volume and hold the space in
        ``updating`` while the launcher resizes; returns the status to go back to."""
        fields = body.model_dump(exclude_unset=True, exclude_none=True)
        with self._change(caller, "space.resize", "space", name, volume_gb=body.volume_gb) as (session, _):
            space, _owner, _role = self._authorize(session, caller, name, Action.UPDATE)
            self._check_settings(space, fields, allowed=STOPPED)
            prior, space.status = space.status, "updating"
            return prior

    def begin_delete(self, caller: Caller, name: str) -> int:
        """Mark a stopped space ``deleting``; ``finish_delete`` removes it once its volume is gone.
        Returns the space's id."""
        with self._change(caller, "space.delete", "space", name) as (session, _):
            space, _owner, _role = self._authorize(session, caller, name, Action.DELETE)
            if space.status not in STOPPED:
                raise Conflict(f"Stop space {name!r} before deleting it (it is {space.status}).")
            space.status = "deleting"
            return space.id

    def finish_delete(self, name: str) -> None:
        """Remove the space's row; its tickets and space sessions go with it (foreign keys)."""
        with self.store.write() as session:
            space = session.scalar(select(Space).where(Space.name == name))
            if space is not None:
                session.delete(space)

    # -- lifecycle bookkeeping (the Lifecycle manager drives the launcher) --------

    def begin_start(self, caller: Caller, name: str) -> tuple[dict, dict | None]:
        """Authorize a start and move the space to ``starting``.

        Returns the space and what the launcher needs, or None when it is already
        starting or running (a start is idempotent).
        """
        with self._change(caller, "space.start", "space", name) as (session, _):
            space, owner, role = self._authorize(session, caller, name, Action.START)
            if space.status in ("starting", "running"):
                return self.space_json(space, owner, role), None
            if space.status not in STOPPED:
                raise Conflict(f"Space {name!r} is {space.status}; start it once that is done.")
            available, reason = self.catalog.availability(space.app_type)
            if not available:
                raise Conflict(reason)
            instance_type = self.catalog.instance_types.get(space.instance_type)
            image = self.catalog.images.get(space.image)
            if instance_type is None or image is None:
                raise Conflict(
                    f"Space {name!r} uses an instance type or image this domain no longer offers; "
                    "choose another in its settings."
                )
            space.status = "starting"
            space.failure_reason = None
            space.secret = secrets.token_urlsafe(32)
            space.updated = utcnow()
            launch = {
                "space_id": space.id,
                "name": space.name,
                "app_type": space.app_type,
                "instance_type": instance_type,
                "image": image,
                "volume_gb": space.volume_gb,
                "secret": space.secret,
            }
            return self.space_json(space, owner, role), launch

    def begin_stop(self, caller: Caller, name: str) -> tuple[dict, dict | None]:
        """Authorize a stop and move a running or starting space to ``stopping``.

        Returns the space and ``{"launcher_state", "cancel_start"}``, or None when it is
        already stopped. Stopping a space that is starting cancels the start.
        """
        with self._change(caller, "space.stop", "space", name) as (session, _):
            space, owner, role = self._authorize(session, caller, name, Action.STOP)
            if space.status in STOPPED:
                return self.space_json(space, owner, role), None
            if space.status not in ("running", "starting"):
                raise Conflict(f"Space {name!r} is {space.status}; stop it once that is done.")
            cancel_start = space.status == "starting"
            space.status = "stopping"
            return self.space_json(space, owner, role), {
                "space_id": space.id,
                "launcher_state": space.launcher_state or {},
                "cancel_start": cancel_start,
            }

    def transition(
        self, name: str, *, expect: tuple[str, ...] | None = None, **fields
    ) -> tuple[int, dict] | None:
        """Set a space's lifecycle fields (status, failure_reason, server_url, ...).

        With ``expect``, only when its status is one of those. Returns the space's id
        and public status fields (for the events stream), or None when nothing changed.
        """
        with self.store.write() as session:
            space = session.scalar(select(Space).where(Space.name == name))
            if space is None or (expect and space.status not in expect):
                return None
            for key, value in fields.items():
                setattr(space, key, value)
            if "status" in fields:
                space.updated = utcnow()
            return space.id, status_of(self.space_json(space, owner="", role=None))

    def record(self, action: str, name: str, outcome: str = "ok", **detail) -> None:
        """An audit event for what the domain itself did to a space (idle stop, crash)."""
        self._audit_alone(SYSTEM, action, "space", name, outcome, detail)

    def active_spaces(self) -> list[dict]:
        """Spaces the domain believes have (or are getting) a server."""
        with self.store.read() as session:
            rows = session.scalars(select(Space).where(Space.status.not_in(STOPPED))).all()
            return [
                {
                    "id": s.id,
                    "name": s.name,
                    "status": s.status,
                    "server_url": s.server_url,
                    "secret": s.secret,
                    "launcher_state": s.launcher_state,
                    "idle_timeout_minutes": s.idle_timeout_minutes,
                    "last_activity": s.last_activity,
                }
                for s in rows
            ]

    def open_target(self, caller: Caller, name: str) -> dict:
        """What the proxy needs to forward ``caller`` into space ``name``, once the policy says yes.

        ``identity`` is what the domain signs for the space agent; ``secret`` and
        ``server_url`` are None unless the space runs.
        """
        with self.store.read() as session:
            space, _owner, role = self._authorize(session, caller, name, Action.OPEN)
            user = self._user(session, caller.name)
            return {
                "name": space.name,
                "status": space.status,
                "role": role,
                "server_url": space.server_url,
                "secret": space.secret,
                "image": space.image,
                "identity": {
                    "name": user.name,
                    "display_name": user.display_name,
                    "initials": user.initials,
                    "color": user.color,
                    "role": role,
                },
            }

    # -- members -----------------------------------------------------------------

    def list_members(self, caller: Caller, name: str) -> dict:
        with self.store.read() as session:
            space, _owner, _role = self._authorize(session, caller, name, Action.READ_MEMBERS)
            rows = session.execute(
                select(User, Member.role).join(Member, Member.user_id == User.id)
                .where(Member.space_id == space.id).order_by(User.name)
            ).all()
            items = [{"user": user_json(space.owner), "role": "owner"}]
            items += [{"user": user_json(u), "role": r} for u, r in rows]
            # What everyone else in the domain may do here, so role texts can say it.
            others = self.default_role if space.sharing == "shared" else None
            return {"items": items, "default_role": others}

    def put_member(self, caller: Caller, name: str, user_name: str, body: MemberPut) -> dict:
        with self._change(caller, "member.put", "space", name, user=user_name, role=body.role) as (session, _):
            space, _owner, _role = self._authorize(session, caller, name, Action.MANAGE_MEMBERS)
            if space.sharing != "shared":
                raise Conflict("A private space has no members; create a shared space to collaborate.")
            user = self._user(session, user_name)
            if user.id == space.owner_id:
                raise Conflict(f"{user_name!r} owns space {name!r}; an owner's role cannot change.")
            member = session.get(Member, (space.id, user.id))
            if member is None:
                session.add(Member(space_id=space.id, user_id=user.id, role=body.role))
            else:
                member.role = body.role
            return {"user": user_json(user), "role": body.role}

    def delete_member(self, caller: Caller, name: str, user_name: str) -> None:
        with self._change(caller, "member.delete", "space", name, user=user_name) as (session, _):
            space, _owner, _role = self._authorize(session, caller, name, Action.MANAGE_MEMBERS)
            if space.sharing != "shared":
                raise Conflict("A private space has no members.")
            user = self._user(session, user_name)
            member = session.get(Member, (space.id, user.id))
            if member is None:
                raise NotFound(f"{user_name!r} is not a member of space {name!r}.")
            session.delete(member)

"""Routes: spaces, their lifecycle, members and presence."""

import asyncio
import json

from jupyter_server.auth.decorator import authorized
from tornado import web
from tornado.iostream import StreamClosedError

from ..schemas import MemberPut, SpaceCreate, SpaceQuery, SpaceUpdate
from .base import DomainHandler
from .streams import EventStreamHandler

NAME = r"(?P<name>[^/]+)"


class SpacesHandler(DomainHandler):
    @web.authenticated
    @authorized
    async def get(self):
        q = self.query(SpaceQuery)
        self.reply(await self.call(self.domain.service.list_spaces, self.caller, q))

    @web.authenticated
    @authorized
    async def post(self):
        body = self.body(SpaceCreate)
        space = await self.call(self.domain.service.create_space, self.caller, body)
        self.domain.lifecycle.hub.changed(space["name"])
        self.set_header("Location", f"{self.base_url}spaces/api/spaces/{space['name']}")
        self.reply(space, 201)


class SpaceHandler(DomainHandler):
    @web.authenticated
    @authorized
    async def get(self, name):
        self.reply(await self.call(self.domain.service.get_space, self.caller, name))

    @web.authenticated
    @authorized
    async def patch(self, name):
        body = self.body(SpaceUpdate)
        self.reply(await self.domain.lifecycle.update_space(self.caller, name, body))

    @web.authenticated
    @authorized
    async def delete(self, name):
        await self.domain.lifecycle.delete_space(self.caller, name)
        self.no_content()


class LifecycleHandler(DomainHandler):
    @web.authenticated
    @authorized
    async def post(self, name, verb):
        lifecycle = self.domain.lifecycle
        action = lifecycle.start_space if verb == "start" else lifecycle.stop_space
        self.reply(await action(self.caller, name), 202)


class EventsHandler(EventStreamHandler):
    """Server-sent events: ``status`` (the space's state) and ``progress`` ({percent, message}).

    The stream follows the space, not the name: the name is resolved to the space's
    id once, and when that space is deleted the stream sends ``status`` ``deleted``
    and ends (a later space with the same name is another space). A deletion by
    another process (the CLI) is noticed at the next keep-alive.
    """

    def stream_space(self) -> str:
        return self.path_kwargs["name"]

    @web.authenticated
    @authorized
    async def get(self, name):
        service = self.domain.service
        space_id = await self.call(service.space_id, self.caller, name)
        hub = self.domain.lifecycle.hub
        queue = hub.subscribe(space_id)
        self.start_stream()
        gone = {"name": name, "status": "deleted"}
        try:
            # Read after subscribing, so no change between the two is lost.
            status = await self.call(service.status_by_id, space_id)
            event, data = "status", (self.domain.lifecycle.with_cause(name, status) if status else gone)
            while True:
                self._send(event, data)
                await self.flush()
                if event == "status" and data["status"] == "deleted":
                    return
                event, data = await self._next(queue, space_id, gone)
        except StreamClosedError:
            pass
        finally:
            hub.unsubscribe(space_id, queue)

    async def _next(self, queue, space_id: int, gone: dict) -> tuple[str, dict]:
        """The next event; keep-alives meanwhile, each after a check that the space still exists."""
        while True:
            try:
                return await asyncio.wait_for(queue.get(), self.keepalive_seconds)
            except asyncio.TimeoutError:
                if await self.call(self.domain.service.status_by_id, space_id) is None:
                    return "status", gone
                self.write(": keep-alive\n\n")
                await self.flush()

    def _send(self, event: str, data: dict) -> None:
        self.write(f"event: {event}\ndata: {json.dumps(data)}\n\n")


class PresenceHandler(DomainHandler):
    @web.authenticated
    @authorized
    async def get(self, name):
        self.reply(await self.domain.lifecycle.presence(self.caller, name))


class MembersHandler(DomainHandler):
    @web.authenticated
    @authorized
    async def get(self, name):
        self.reply(await self.call(self.domain.service.list_members, self.caller, name))


class MemberHandler(DomainHandler):
    @web.authenticated
    @authorized
    async def put(self, name, user):
        body = self.body(MemberPut)
        member = await self.call(self.domain.service.put_member, self.caller, name, user, body)
        self.domain.lifecycle.hub.changed(name)
        await self.domain.revocations.member_changed(name, user, body.role)
        self.reply(member)

    @web.authenticated
    @authorized
    async def delete(self, name, user):
        await self.call(self.domain.service.delete_member, self.caller, name, user)
        self.domain.lifecycle.hub.changed(name)
        await self.domain.revocations.member_changed(name, user, None)
        self.no_content()


handlers = [
    (r"/spaces/api/spaces", SpacesHandler),
    (rf"/spaces/api/spaces/{NAME}", SpaceHandler),
    (rf"/spaces/api/spaces/{NAME}/(?P<verb>start|stop)", LifecycleHandler),
    (rf"/spaces/api/spaces/{NAME}/events", EventsHandler),
    (rf"/spaces/api/spaces/{NAME}/presence", PresenceHandler),
    (rf"/spaces/api/spaces/{NAME}/members", MembersHandler),
    (rf"/spaces/api/spaces/{NAME}/members/(?P<user>[^/]+)", MemberHandler),
]

"""Routes: spaces, their lifecycle, members and presence."""

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..policy import Action
from ..schemas import MemberPut, SpaceCreate, SpaceQuery, SpaceUpdate
from .base import DomainHandler

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
        self.reply(await self.call(self.domain.service.update_space, self.caller, name, body))

    @web.authenticated
    @authorized
    async def delete(self, name):
        await self.call(self.domain.service.delete_space, self.caller, name)
        self.set_status(204)
        self.finish()


class LifecycleHandler(DomainHandler):
    @web.authenticated
    @authorized
    async def post(self, name, verb):
        action = Action.START if verb == "start" else Action.STOP
        space = await self.call(self.domain.service.lifecycle, self.caller, name, action)
        self.reply(space, 202)


class EventsHandler(DomainHandler):
    @web.authenticated
    @authorized
    async def get(self, name):
        await self.call(self.domain.service.events, self.caller, name)


class PresenceHandler(DomainHandler):
    @web.authenticated
    @authorized
    async def get(self, name):
        self.reply(await self.call(self.domain.service.presence, self.caller, name))


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
        self.reply(await self.call(self.domain.service.put_member, self.caller, name, user, body))

    @web.authenticated
    @authorized
    async def delete(self, name, user):
        await self.call(self.domain.service.delete_member, self.caller, name, user)
        self.set_status(204)
        self.finish()


handlers = [
    (r"/spaces/api/spaces", SpacesHandler),
    (rf"/spaces/api/spaces/{NAME}", SpaceHandler),
    (rf"/spaces/api/spaces/{NAME}/(?P<verb>start|stop)", LifecycleHandler),
    (rf"/spaces/api/spaces/{NAME}/events", EventsHandler),
    (rf"/spaces/api/spaces/{NAME}/presence", PresenceHandler),
    (rf"/spaces/api/spaces/{NAME}/members", MembersHandler),
    (rf"/spaces/api/spaces/{NAME}/members/(?P<user>[^/]+)", MemberHandler),
]

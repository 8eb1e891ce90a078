"""Routes: the catalogues a space is made from."""

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import DomainHandler


class InstanceTypesHandler(DomainHandler):
    @web.authenticated
    @authorized
    async def get(self):
        self.reply({"items": self.domain.catalog.instance_types_json()})


class ImagesHandler(DomainHandler):
    @web.authenticated
    @authorized
    async def get(self):
        check = self.domain.lifecycle.launcher.image_availability
        self.reply({"items": await self.domain.catalog.images_json(check)})


class AppTypesHandler(DomainHandler):
    @web.authenticated
    @authorized
    async def get(self):
        self.reply({"items": self.domain.catalog.app_types_json()})


handlers = [
    (r"/spaces/api/instance-types", InstanceTypesHandler),
    (r"/spaces/api/images", ImagesHandler),
    (r"/spaces/api/app-types", AppTypesHandler),
]

"""HTTP handlers of the domain REST API: parse, call the service, reply."""

from . import catalog, spaces, users
from .base import NotFoundHandler

default_handlers = [*users.handlers, *spaces.handlers, *catalog.handlers, (r"/spaces/api/.*", NotFoundHandler)]

"""HTTP handlers of the domain REST API: parse, call the service, reply."""

from . import catalog, feed, spaces, users
from .base import NotFoundHandler

default_handlers = [*users.handlers, *spaces.handlers, *feed.handlers, *catalog.handlers, (r"/spaces/api/.*", NotFoundHandler)]

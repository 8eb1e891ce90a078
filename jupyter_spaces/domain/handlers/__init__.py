"""HTTP handlers of the domain REST API: parse, call the service, reply."""

from ..proxy import proxy_handlers
from . import catalog, spaces, users
from .base import NotFoundHandler

default_handlers = [*users.handlers, *spaces.handlers, *catalog.handlers, (r"/spaces/api/.*", NotFoundHandler)]
# The proxy last: its spaces/<name>/... pattern must never shadow spaces/api/...
default_handlers += proxy_handlers

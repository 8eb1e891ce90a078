"""``GET <space>/api/spaces-agent/presence``: who is in this space, and in which documents.

The domain asks here (signed, like every request) to answer its own
``GET spaces/{name}/presence``; the data comes from the collaboration service's
registry, so it never leaves the space except through the domain's policy check.
"""

from __future__ import annotations

import json

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..collab import get_service

FIELDS = ("username", "display_name", "initials", "color", "role", "documents", "since")


class PresenceHandler(APIHandler):
    auth_resource = "contents"

    @web.authenticated
    @authorized
    def get(self):
        service = get_service(self.serverapp)
        people = service.presence.snapshot() if service else []
        self.finish(json.dumps({"items": [{k: p.get(k) for k in FIELDS} for p in people]}))


handlers = [(r"/api/spaces-agent/presence", PresenceHandler)]

"""``GET <space>/api/spaces-agent/identity``: which space this server is, and with what.

The launcher asks here, signed like a user's request through the domain proxy,
before it calls a space running: only a server with the agent loaded can answer
(anything else refuses the signature), and the answer says which space it serves
and whether the collaboration service is loaded.
"""

from __future__ import annotations

import json

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from .._version import __version__
from ..collab import get_service


class IdentityHandler(APIHandler):
    auth_resource = "spaces-agent"

    @web.authenticated
    @authorized
    def get(self):
        self.finish(
            json.dumps(
                {
                    "space": self.identity_provider.verifier.space,
                    "agent": __version__,
                    "collaboration": get_service(self.serverapp) is not None,
                    "caller": self.current_user.username,
                }
            )
        )


handlers = [(r"/api/spaces-agent/identity", IdentityHandler)]

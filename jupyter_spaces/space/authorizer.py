"""Authorization inside a space server, by the caller's role in the space.

jupyter_server asks ``is_authorized(handler, user, action, resource)`` before
every REST call and websocket (``action`` is ``read`` for GET/HEAD/OPTIONS,
``write`` for POST/PUT/PATCH/DELETE, ``execute`` for kernel and terminal
websockets) and answers 403 with a JSON message such as
``User is not authorized to write on resource: contents.`` when it says no.

* owner, editor: everything.
* viewer: ``read`` only. They list and read files, open notebooks, read
  kernelspecs, sessions and the like; they cannot write, rename or delete
  files, create or run kernels and sessions, or open terminals
  (creating a terminal is a ``write``, attaching to one an ``execute``).

Routes that jupyter_server extensions expose without ``@authorized`` are not
seen here; JupyterLab's own settings and workspaces are made per-user instead
(see :mod:`.personal`).
"""

from __future__ import annotations

from jupyter_server.auth.authorizer import Authorizer


class SpaceAuthorizer(Authorizer):
    """Owner and editor may do anything; a viewer may only read."""

    def is_authorized(self, handler, user, action: str, resource: str) -> bool:
        role = getattr(user, "role", None)
        if role in ("owner", "editor"):
            return True
        # Unknown or missing roles get nothing (fail closed).
        allowed = role == "viewer" and action == "read"
        if not allowed:
            # debug, not info: api/me?permissions= asks hypothetically, too.
            self.log.debug(
                "Refusing %s on %s to %s (role %s in this space)",
                action,
                resource,
                getattr(user, "username", "?"),
                role,
            )
        return allowed

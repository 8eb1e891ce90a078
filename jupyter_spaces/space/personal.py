"""Each collaborator's own JupyterLab settings and workspace layout, on the space's volume.

A space server is one JupyterLab for several people: every settings or workspaces
request goes to ``<lab dir>/users/<name>/{user-settings,workspaces}`` (see
:mod:`jupyter_spaces.labsettings`), so one person's theme or closed tab does not
change anyone else's. Viewers read theirs; writing is for owners and editors (see
:mod:`.routes`). Admin overrides (``overrides.json``) still apply to all.
"""

from __future__ import annotations

import os

from ..labsettings import scope_to, shared_dir


def scope_to_user(handler, user: str) -> None:
    """Point a JupyterLab settings or workspaces request at ``user``'s own directories."""
    shared = shared_dir(handler)
    if shared is not None:
        # shared is <lab dir>/user-settings or <lab dir>/workspaces; user names are the
        # domain's (lowercase letters, digits, dashes), so they are safe path parts.
        scope_to(handler, os.path.join(os.path.dirname(os.path.normpath(shared)), "users", user))

"""Each collaborator's own JupyterLab settings and workspace layout.

A space server is one JupyterLab for several people. Left alone, JupyterLab keeps
one ``user-settings`` and one ``workspaces`` directory per server, so one person's
theme or closed tab would change everyone's, and a viewer could rearrange the
owner's layout. Its settings and workspaces handlers do not ask the authorizer,
so instead every request to them is pointed at the caller's own directories,
``<lab dir>/users/<name>/{user-settings,workspaces}`` on the space's volume:
everyone, viewers included, changes only their own view. Admin overrides
(``overrides.json``) still apply to all.
"""

from __future__ import annotations

import os

from jupyterlab_server.settings_handler import SettingsHandler
from jupyterlab_server.workspaces_handler import WorkspacesHandler, WorkspacesManager


def _own_dir(shared_dir: str, user: str, kind: str) -> str:
    # shared_dir is <lab dir>/user-settings or <lab dir>/workspaces; user names are
    # the domain's (lowercase letters, digits, dashes), so they are safe path parts.
    return os.path.join(os.path.dirname(os.path.normpath(shared_dir)), "users", user, kind)


def scope_to_user(handler, user: str) -> None:
    """Point a JupyterLab settings or workspaces request at ``user``'s own directories."""
    if isinstance(handler, SettingsHandler) and handler.settings_dir:
        handler.settings_dir = _own_dir(handler.settings_dir, user, "user-settings")
    elif isinstance(handler, WorkspacesHandler):
        handler.manager = WorkspacesManager(_own_dir(handler.manager.workspaces_dir, user, "workspaces"))

"""Each user's own JupyterLab settings and workspaces.

JupyterLab keeps one ``user-settings`` and one ``workspaces`` directory per server,
and its settings and workspaces handlers never ask the authorizer. A server with
several users (the domain, a shared space) points each of those requests at the
caller's own directory instead: one person's theme or layout is theirs alone.
"""

from __future__ import annotations

import os

from jupyterlab_server.settings_handler import SettingsHandler
from jupyterlab_server.workspaces_handler import WorkspacesHandler, WorkspacesManager


def shared_dir(handler) -> str | None:
    """The server-wide directory a settings or workspaces handler would use (else None)."""
    if isinstance(handler, SettingsHandler):
        return handler.settings_dir or None
    if isinstance(handler, WorkspacesHandler):
        return str(handler.manager.workspaces_dir)
    return None


def scope_to(handler, user_dir: str) -> None:
    """Point a settings or workspaces request at ``user_dir/{user-settings,workspaces}``."""
    if isinstance(handler, SettingsHandler):
        handler.settings_dir = os.path.join(user_dir, "user-settings")
    elif isinstance(handler, WorkspacesHandler):
        handler.manager = WorkspacesManager(os.path.join(user_dir, "workspaces"))

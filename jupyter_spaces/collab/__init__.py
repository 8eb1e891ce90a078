"""Real-time collaboration for spaces: jupyter-collaboration's wire protocol served by our
own rooms (pycrdt + jupyter_ydoc models), with a durable journal, file sync with
out-of-band merge, role enforcement and presence.

Enable on a server with ``ServerApp.jpserver_extensions = {"jupyter_spaces.collab": True}``.
The running service is ``get_service(serverapp)`` (``.presence`` for who is here).
"""

from __future__ import annotations

from typing import Any

from .service import CollabService


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": "jupyter_spaces.collab", "app": CollabService}]


def get_service(serverapp: Any) -> CollabService | None:
    """The running collaboration service of ``serverapp`` (None if not loaded)."""
    return serverapp.web_app.settings.get("jupyter_spaces_collab")


__all__ = ["CollabService", "get_service"]

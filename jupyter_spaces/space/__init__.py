"""The space agent, loaded into every space server (see ``app.py``)."""

from .app import SpaceAgentApp

__all__ = ["SpaceAgentApp"]


def _jupyter_server_extension_points():
    return [{"module": "jupyter_spaces.space", "app": SpaceAgentApp}]

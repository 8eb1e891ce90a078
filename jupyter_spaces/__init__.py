"""jupyter-spaces: self-hosted, SageMaker-Studio-style spaces for Jupyter."""

from ._version import __version__

__all__ = ["__version__"]


def _jupyter_server_extension_points():
    from .domain.app import DomainApp

    return [{"module": "jupyter_spaces", "app": DomainApp}]


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "jupyter-spaces"}]

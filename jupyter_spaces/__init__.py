"""jupyter-spaces: self-hosted, SageMaker-Studio-style spaces for Jupyter."""

from ._version import __version__

__all__ = ["__version__"]

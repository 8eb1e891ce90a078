"""Launchers: how a space gets compute and a volume.

- :mod:`.base` — the :class:`Launcher` contract (read its docstring: state rules).
- :mod:`.local` — :class:`LocalLauncher`: a bubblewrap-sandboxed, cgroup-limited
  ``jupyter lab`` per space on this machine, volumes as loop-mounted ext4 images.
- Parts any launcher can reuse: :mod:`.spaceserver` (the server's command line,
  environment and config), :mod:`.insandbox` (the programs run inside a space with
  ``python -m``), :mod:`.readiness` (running once the agent answers),
  :mod:`.processes` (a local process tree: alive, ended), :mod:`.adoption` (a space
  found again from a persisted state).

The domain picks the class from config (``launcher_class``); other launchers
(JupyterHub spawners, Kubernetes) implement the same contract.
"""

from .base import (
    EXIT_UNKNOWN,
    AgentSpec,
    Capability,
    Image,
    InstanceType,
    LaunchError,
    Launched,
    Launcher,
    LaunchSpec,
    VolumeError,
    VolumeTooSmall,
)

__all__ = [
    "EXIT_UNKNOWN",
    "AgentSpec",
    "Capability",
    "Image",
    "InstanceType",
    "LaunchError",
    "LaunchSpec",
    "Launched",
    "Launcher",
    "LocalLauncher",
    "VolumeError",
    "VolumeTooSmall",
]


def __getattr__(name):  # import the local launcher lazily (it probes nothing until used)
    if name == "LocalLauncher":
        from .local import LocalLauncher

        return LocalLauncher
    raise AttributeError(name)

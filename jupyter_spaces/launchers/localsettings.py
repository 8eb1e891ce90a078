"""The local launcher's settings (``c.LocalLauncher.*``), apart from what it does with
them (:mod:`.local`)."""

from __future__ import annotations

import os

from traitlets import Bool, Enum, Float, Integer, List, Tuple, Unicode, default

from .. import apps
from .base import Launcher


class LocalSettings(Launcher):
    """Settings of :class:`~jupyter_spaces.launchers.local.LocalLauncher`."""

    volumes_dir = Unicode(
        config=True,
        help="Directory holding the spaces' volumes (<space>.img, or <space>/ without root). "
        "Never visible inside a space.",
    )

    @default("volumes_dir")
    def _default_volumes_dir(self):
        if os.geteuid() == 0:
            return "/var/lib/jupyter-spaces/volumes"
        return os.path.join(os.path.expanduser("~"), ".local", "share", "jupyter-spaces", "volumes")

    run_dir = Unicode(
        config=True,
        help="Directory for runtime files: mount points, per-space state, generated "
        "passwd and server config, server logs. Never visible inside a space.",
    )

    @default("run_dir")
    def _default_run_dir(self):
        if os.geteuid() == 0:
            return "/run/jupyter-spaces"
        return os.path.join(os.environ.get("XDG_RUNTIME_DIR") or "/tmp", f"jupyter-spaces-{os.getuid()}")

    uid_range = Tuple(
        Integer(),
        Integer(),
        default_value=(600000, 699999),
        config=True,
        help="Inclusive range of uids (and gids) for spaces. Each space gets a uid derived "
        "stably from its name (next free one on a collision). Must not overlap real users.",
    )
    port_range = Tuple(
        Integer(),
        Integer(),
        default_value=(40000, 49999),
        config=True,
        help="Inclusive range of 127.0.0.1 ports for space servers.",
    )
    start_timeout = Float(60.0, config=True, help="Seconds a space server may take to answer HTTP.")
    stop_timeout = Float(
        5.0, config=True, help="Seconds between asking a space server to stop (SIGTERM) and killing it."
    )
    bwrap = Unicode("bwrap", config=True, help="bubblewrap executable (name on PATH or path).")
    home_dir = Unicode("/home/jovyan", config=True, help="Path of the volume ($HOME) inside the sandbox.")
    sandbox_user = Unicode("jovyan", config=True, help="User name of the space's uid inside the sandbox.")
    cgroup_parent = Unicode(
        "",
        config=True,
        help="Cgroup holding the spaces' cgroups: a name (created under the launcher's own cgroup) "
        "or an absolute cgroup path such as '/jupyter-spaces.slice/domain' (on cgroup v2 use a "
        "delegated, process-free cgroup). Default: 'jupyter-spaces-<hash of run_dir>' under our "
        "own cgroup, so two domains on one host never touch each other's spaces.",
    )
    protected_paths = List(
        Unicode(),
        config=True,
        help="Paths that must never be visible inside a space (add the domain's data directory). "
        "A start whose image would expose one of them fails. volumes_dir and run_dir always are.",
    )
    allow_unsandboxed = Bool(
        True,
        config=True,
        help="When bubblewrap is unusable, still run spaces (without a filesystem sandbox; "
        "logged and reported by capabilities()). Set False to refuse to start instead.",
    )
    volume_mode = Enum(
        ["auto", "image", "directory"],
        "auto",
        config=True,
        help="How spaces' volumes are made. 'image': a sparse ext4 image per space, loop-mounted "
        "while it runs; its size is a hard limit (needs root, loop devices and e2fsprogs; a start "
        "fails without them). 'directory': a plain directory per space; its size is a soft quota "
        "(saves through Jupyter past it are refused with 507, kernels and terminals can still "
        "write past it); works without root. 'auto': image when the host allows it, else "
        "directory. Changing it does not convert existing volumes.",
    )
    server_oom_score_adj = Integer(
        -500,
        config=True,
        help="oom_score_adj of the space server, inherited by its children. Lowering it needs "
        "CAP_SYS_RESOURCE; without it the server stays at 0 (silently). Python processes started "
        "in the space (kernels, scripts) raise theirs to kernel_oom_score_adj, so when a space hits "
        "its memory limit the kernel is killed and the server survives.",
    )
    kernel_oom_score_adj = Integer(
        500,
        config=True,
        help="oom_score_adj that Python processes in a space (kernels) set for themselves at "
        "start (through a sitecustomize the launcher puts on their PYTHONPATH).",
    )
    extra_args = List(Unicode(), config=True, help="Extra command-line arguments for every space server.")
    apps_dir = Unicode(
        config=True,
        help="Where the apps other than JupyterLab are installed (<apps_dir>/bin/code-server, "
        "<apps_dir>/bin/mlflow; scripts/install-apps.sh puts them there). Default: "
        "$JUPYTER_SPACES_APPS_DIR, else /opt/jupyter-spaces/apps as root, else "
        "~/.local/share/jupyter-spaces/apps; an app found nowhere there is looked up on PATH.",
    )

    @default("apps_dir")
    def _default_apps_dir(self):
        return apps.default_apps_dir()

    image_recheck_seconds = Float(
        10.0, config=True, help="Seconds an image found unusable is reported so before it is checked again."
    )

"""The domain's own settings, shared by the server (``DomainApp``) and the CLI.

Kept apart from the server so the CLI starts without importing jupyter_server.
``DomainApp`` inherits these traits, so ``c.DomainApp.data_dir`` configures both.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from jupyter_core.paths import jupyter_data_dir
from traitlets import Bool, Dict, Enum, Float, Int, List, Type, Unicode, default
from traitlets.config import Config, Configurable

from ..launchers.base import Launcher

from .catalog import DEFAULT_IMAGES, DEFAULT_INSTANCE_TYPES, Catalog
from .service import DomainService
from .store import Store, sqlite_url


def server_url_file(data_dir) -> Path:
    """The file where a running domain server says where browsers reach it."""
    return Path(data_dir) / "server-url"


class DomainConfig(Configurable):
    data_dir = Unicode(
        config=True,
        help="Directory holding all of the domain's state: database, secrets, volumes.",
    )

    @default("data_dir")
    def _data_dir_default(self):
        return os.path.join(jupyter_data_dir(), "spaces")

    db_url = Unicode(
        "",
        config=True,
        help="SQLAlchemy URL of the store, e.g. postgresql+psycopg://... "
        "Default: an SQLite database in data_dir.",
    )
    default_role = Enum(
        ["editor", "viewer"],
        "editor",
        config=True,
        help="Role in a shared space for domain users who are not members of it.",
    )
    instance_types = List(
        default_value=DEFAULT_INSTANCE_TYPES,
        config=True,
        help="Instance types: dicts with name, display_name, cpus, memory_gb, max_processes. "
        "The first is the default.",
    )
    images = List(
        default_value=DEFAULT_IMAGES,
        config=True,
        help="Images: dicts with name, display_name, description and python (the interpreter "
        "of an environment with jupyter_spaces and jupyterlab). The first is the default.",
    )
    default_volume_gb = Int(5, config=True, help="Volume size of a new space, in GiB.")
    max_volume_gb = Int(
        1024,
        config=True,
        help="Largest volume a space may ask for, in GiB (sizes above it are refused with 422). "
        "Volumes are sparse, but creating and growing a huge one still takes time and host disk.",
    )
    default_idle_timeout_minutes = Int(
        60, config=True, help="Idle timeout of a new space in minutes; 0 means never."
    )
    store_threads = Int(4, config=True, help="Threads that run store queries off the event loop.")

    launcher_class = Type(
        "jupyter_spaces.launchers.local.LocalLauncher",
        klass=Launcher,
        config=True,
        help="The Launcher that gives spaces compute and volumes (see jupyter_spaces.launchers.base).",
    )
    poll_interval = Float(
        1.0, config=True, help="Seconds between checks that running space servers are alive."
    )
    idle_check_interval = Float(
        30.0, config=True, help="Seconds between checks for spaces idle past their timeout."
    )
    max_concurrent_starts = Int(
        config=True,
        help="Space servers starting at the same time; more wait their turn "
        "(starting is CPU-bound). Default: the number of CPUs.",
    )

    @default("max_concurrent_starts")
    def _max_concurrent_starts_default(self):
        return os.cpu_count() or 2

    proxy_fast_path = Bool(
        True,
        config=True,
        help="Serve a caller's repeat GET/HEAD requests to a running space from the proxy's "
        "caches, without a tornado RequestHandler (see jupyter_spaces.domain.proxy.fast). "
        "False: every request goes through the proxy handler.",
    )

    space_origin = Enum(
        ["auto", "own", "path"],
        "auto",
        config=True,
        help="Where a space is served from. 'own': its own origin (see space_host). 'path': "
        "the domain's origin, under <base_url>spaces/<name>/ (HTML written by a space's editors "
        "then runs with the credentials of whoever opens it: only for single-user or fully "
        "trusted domains). 'auto': 'own' when space_host is set or the server listens on "
        "loopback, else 'path' with a warning.",
    )
    space_host = Unicode(
        "",
        config=True,
        help="Host name of a space's own origin, as a template: '{space}.spaces.example.org' "
        "(needs wildcard DNS and a wildcard certificate for *.spaces.example.org); the domain "
        "itself is then served on spaces.example.org. Empty: '{space}.localhost' (browsers "
        "resolve *.localhost to loopback themselves), for a server listening on loopback.",
    )

    share_lab_assets = Bool(
        True,
        config=True,
        help="Serve each image's JupyterLab assets once for every space, at "
        "<base_url>spaces/_assets/<content key>/ with immutable caching, so a browser reuses "
        "them from space to space (jupyter_spaces.domain.shared_assets). Only for images whose "
        "Python runs on the domain's host. False: each space serves its own.",
    )

    space_agent_config = Dict(
        # Real-time collaboration (and presence) in every space.
        default_value={"ServerApp": {"jpserver_extensions": {"jupyter_spaces.collab": True}}},
        config=True,
        help="Extra traitlets config given to every space server (the space agent and JupyterLab).",
    )

    def make_launcher(self) -> Launcher:
        """The configured launcher; its files default to live under data_dir."""
        data = Path(self.data_dir).resolve()
        defaults = Config()
        defaults[self.launcher_class.__name__] = Config(
            volumes_dir=str(data / "volumes"),
            run_dir=str(data / "run"),
        )
        defaults.merge(self.config)
        # DomainApp has an application log; the CLI's plain settings object does not.
        log = getattr(self, "log", None) or logging.getLogger("jupyter_spaces")
        launcher = self.launcher_class(config=defaults, log=log)
        if hasattr(launcher, "protected_paths"):
            # Never visible inside a space: the store, the cookie secret, the volumes.
            launcher.protected_paths = [*launcher.protected_paths, str(data)]
        return launcher

    def make_service(self, base_url: str = "/", launcher: Launcher | None = None) -> DomainService:
        """The domain's service over its (migrated) store; the CLI uses this too."""
        Path(self.data_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
        store = Store(self.db_url or sqlite_url(Path(self.data_dir) / "spaces.sqlite"))
        store.migrate()
        catalog = (
            Catalog(self.instance_types, self.images, launcher.app_type_availability, launcher.capabilities())
            if launcher
            else Catalog(self.instance_types, self.images)
        )
        return DomainService(
            store,
            catalog,
            base_url=base_url,
            default_role=self.default_role,
            default_volume_gb=self.default_volume_gb,
            max_volume_gb=self.max_volume_gb,
            default_idle_timeout_minutes=self.default_idle_timeout_minutes,
        )


"""The domain's own settings, shared by the server (``DomainApp``) and the CLI.

Kept apart from the server so the CLI starts without importing jupyter_server.
``DomainApp`` inherits these traits, so ``c.DomainApp.data_dir`` configures both.
"""

from __future__ import annotations

import os
from pathlib import Path

from jupyter_core.paths import jupyter_data_dir
from traitlets import Enum, Int, List, Unicode, default
from traitlets.config import Configurable

from .catalog import DEFAULT_IMAGES, DEFAULT_INSTANCE_TYPES, Catalog
from .service import DomainService
from .store import Store, sqlite_url


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
    default_idle_timeout_minutes = Int(
        60, config=True, help="Idle timeout of a new space in minutes; 0 means never."
    )
    store_threads = Int(4, config=True, help="Threads that run store queries off the event loop.")

    def make_service(self, base_url: str = "/") -> DomainService:
        """The domain's service over its (migrated) store; the CLI uses this too."""
        Path(self.data_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
        store = Store(self.db_url or sqlite_url(Path(self.data_dir) / "spaces.sqlite"))
        store.migrate()
        return DomainService(
            store,
            Catalog(self.instance_types, self.images),
            base_url=base_url,
            default_role=self.default_role,
            default_volume_gb=self.default_volume_gb,
            default_idle_timeout_minutes=self.default_idle_timeout_minutes,
        )


"""The domain server: a Jupyter server whose users are the domain's users.

``jupyter spaces`` launches it (``DomainApp.launch_instance``). Loaded as an
extension into an ordinary Jupyter server it stays dormant: a domain needs its own
identity provider, and handing the spaces API to a single-user server would be wrong.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool

from .. import __version__, rootfiles
from ..routes import guard
from . import loopback, routes
from .auth import SETTINGS_KEY, DomainAuthorizer, DomainIdentityProvider
from .config import DomainConfig, server_url_file
from .handlers import default_handlers
from .handlers.home import HomeHandler, domain_page_config
from .lifecycle import Lifecycle
from .origins import LOOPBACK_TEMPLATE, SpaceOrigins, listens_on_loopback
from .proxy import Proxy, install_fast_path, proxy_handlers
from .revocation import Revocations
from .service import DomainService
from .shared_assets import SETTINGS_KEY as ASSETS_KEY
from .shared_assets import SharedAssets
from .shared_assets import handlers as shared_asset_handlers
from .space_host import space_host_handlers

DEMO_USERS = (
    # name, display name, admin
    ("ada", "Ada Lovelace", True),
    ("grace", "Grace Hopper", False),
    ("linus", "Linus Pauling", False),
)


class Domain:
    """What handlers reach through ``settings``: service, catalogue, lifecycle, the proxy's
    state, a thread pool; ``lab_dir``: the users' JupyterLab settings and workspaces."""

    lab_dir = ""

    def __init__(self, service: DomainService, launcher, threads: int, origins: SpaceOrigins, **lifecycle_options):
        self.service = service
        self.origins = origins
        self.catalog = service.catalog
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="spaces-store")
        # A lambda: the proxy reaches note_activity as it is at the time (tests replace it).
        self.proxy = Proxy(on_activity=lambda name: self.note_activity(name))
        self.lifecycle = Lifecycle(service, launcher, self.run, on_change=self.forget, **lifecycle_options)
        self.revocations = Revocations(self)

    async def run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._executor, partial(fn, *args))

    def note_activity(self, name: str) -> None:
        self.lifecycle.note_activity(name)

    def forget(self, name: str) -> None:
        """A space's state changed: the proxy must ask again, and no relay outlives its server."""
        self.proxy.forget(name)
        self.revocations.space_changed(name)

    async def close(self) -> None:
        await self.lifecycle.stop()
        self.proxy.shutdown()
        self._executor.shutdown(wait=True)
        self.service.store.close()


# DomainConfig first: its data_dir (the domain's state) overrides JupyterApp's.
class DomainApp(DomainConfig, ExtensionApp):
    name = "jupyter_spaces"
    description = "Start a Jupyter Spaces domain server."
    version = __version__
    extension_url = "/lab"
    load_other_extensions = True

    serverapp_config = {
        "identity_provider_class": DomainIdentityProvider,
        "authorizer_class": DomainAuthorizer,
        "allow_unauthenticated_access": False,
        "open_browser": False,
        "ip": "127.0.0.1",
        "default_url": "/lab",
        # The domain runs no user code; it runs as root where the launcher needs
        # root for sandboxes, cgroups and loop-mounted volumes.
        "allow_root": True,
        # Only what the domain needs: no language servers, no terminals.
        "jpserver_extensions": {"jupyterlab": True},
        "terminals_enabled": False,
    }

    demo = Bool(False, config=True, help="Create demo users and print their login links.")

    aliases = {
        "data-dir": "DomainApp.data_dir",
        "db-url": "DomainApp.db_url",
    }
    flags = {
        "demo": (
            {"DomainApp": {"demo": True}},
            "Create three demo users (ada is an admin) and print a login link for each.",
        ),
    }

    def _config_file_name_default(self):
        # ExtensionApp's default would be jupyter_jupyter_spaces_config (from the name).
        return "jupyter_spaces_config"

    @classmethod
    def make_serverapp(cls, **kwargs):
        serverapp = super().make_serverapp(**kwargs)
        # ExtensionApp passes our aliases to the server's parser, but not our flags.
        serverapp.flags = {**serverapp.flags, **cls.flags}
        return serverapp

    @property
    def is_domain(self) -> bool:
        return issubclass(self.serverapp.identity_provider_class, DomainIdentityProvider)

    def _jupyter_server_config(self):
        # Called only when `jupyter spaces` starts the server (this is the starter
        # extension), after our own config and command line are parsed.
        config = super()._jupyter_server_config()
        data = Path(self.data_dir)
        data.mkdir(parents=True, exist_ok=True, mode=0o700)
        # The domain serves no files: its root is an empty directory of its own.
        root = data / "empty-root"
        root.mkdir(exist_ok=True, mode=0o700)
        config["ServerApp"].update(root_dir=str(root), cookie_secret_file=str(data / "cookie_secret"))
        # The server's default (the working directory) was read before root_dir changed.
        config["ContentsManager"] = {"preferred_dir": ""}
        return config

    def _load_jupyter_server_extension(self, serverapp):
        # jupyter_server logs an extension that fails to load and serves on without it; a
        # domain server without its extension would refuse every request, so it exits.
        try:
            super()._load_jupyter_server_extension(serverapp)
        except Exception:
            if not self.is_domain:
                raise
            self.log.critical("jupyter_spaces: the domain could not start", exc_info=True)
            raise SystemExit(1) from None

    def initialize_settings(self):
        if not self.is_domain:
            self.log.info(
                "jupyter_spaces: not a domain server (start one with `jupyter spaces`); "
                "the spaces API is not served here."
            )
            return
        launcher = self.make_launcher()
        for capability in launcher.capabilities():
            if not capability.available:
                self.log.warning("Launcher: no %s here: %s", capability.name, capability.reason)
        service = self.make_service(self.serverapp.base_url, launcher)
        assets = SharedAssets(self.serverapp.base_url) if self.share_lab_assets else None
        self.settings[ASSETS_KEY] = assets
        self.domain = Domain(
            service,
            launcher,
            self.store_threads,
            self.make_origins(),
            base_url=self.serverapp.base_url,
            poll_interval=self.poll_interval,
            idle_check_interval=self.idle_check_interval,
            agent_config=self.space_agent_config,
            max_concurrent_starts=self.max_concurrent_starts,
            image_agent_config=assets.agent_config if assets else None,
        )
        self.domain.lab_dir = str(Path(self.data_dir) / "lab")
        self.settings[SETTINGS_KEY] = self.domain
        self.settings["page_config_hook"] = domain_page_config
        if self.demo:
            ensure_demo_users(service)

    def make_origins(self) -> SpaceOrigins:
        if self.space_origin == "path":
            self.log.warning(
                "jupyter_spaces: path mode (DomainApp.space_origin = 'path'): every space is served "
                "on the domain's own origin, where HTML written by a space's editors acts with the "
                "credentials of whoever opens it."
            )
            return SpaceOrigins("")
        if self.space_host:
            return SpaceOrigins(self.space_host)
        if self.space_origin == "own" or listens_on_loopback(self.serverapp.ip):
            return SpaceOrigins(LOOPBACK_TEMPLATE)
        self.log.warning(
            "jupyter_spaces: path mode: no DomainApp.space_host is set and the server does not "
            "listen on loopback, so every space is served on the domain's own origin. HTML "
            "written by a space's editors can then act with the credentials of whoever opens it. "
            "Set c.DomainApp.space_host = '{space}.spaces.example.org' (wildcard DNS and TLS)."
        )
        return SpaceOrigins("")

    def initialize_handlers(self):
        if self.is_domain:
            origins = self.domain.origins
            if origins.isolated:
                # First of all the application's rules (a ".*$" host rule of an extension
                # loaded earlier matches a space's host too): on a space's host only these.
                web_app = self.serverapp.web_app
                web_app.add_handlers(origins.host_pattern, space_host_handlers(self.serverapp.base_url))
                rules = web_app.default_router.rules
                rules.insert(0, rules.pop(-2))
            self.handlers.extend(default_handlers)
            self.handlers.append((r"/spaces/home", HomeHandler))
            self.handlers.extend(rootfiles.handlers(self.serverapp.web_app))
            if self.share_lab_assets:
                self.handlers.extend(shared_asset_handlers())
            # The proxy last: its spaces/<name>/... must never shadow spaces/api/ or spaces/home.
            self.handlers.extend(proxy_handlers)
            if self.proxy_fast_path:
                install_fast_path(self.serverapp.web_app)
            if origins.template == LOOPBACK_TEMPLATE:
                loopback.install(self.serverapp.web_app, origins.domain_host)
            # Every extension's routes, checked against the domain's table (routes.py).
            guard(self.serverapp.web_app, self.serverapp.base_url, routes.enforcement(self.domain.lab_dir))

    def domain_url(self) -> str:
        """Where browsers open the domain: on the host its spaces' origins hang off (a login
        cookie of 127.0.0.1 is no help on {space}.localhost's way back home)."""
        url = self.serverapp.connection_url
        origins = self.domain.origins
        if not origins.isolated:
            return url
        parts = urlsplit(url)
        return origins.domain_origin(parts.scheme, parts.netloc) + parts.path

    async def _start_jupyter_server_extension(self, serverapp):
        if not self.is_domain:
            return
        await self.domain.lifecycle.start()
        # Where the running server is, for `jupyter spaces user login-link` without --url.
        server_url_file(self.data_dir).write_text(self.domain_url() + "\n")
        if self.demo:
            await self.domain.run(print_login_links, self.domain.service, self.domain_url())

    async def stop_extension(self):
        domain = getattr(self, "domain", None)
        if domain is not None:
            server_url_file(self.data_dir).unlink(missing_ok=True)
            await domain.close()


def ensure_demo_users(service: DomainService) -> None:
    from .schemas import UserCreate
    from .service import SYSTEM

    for name, display_name, admin in DEMO_USERS:
        if service.user_by_name(name) is None:
            service.create_user(SYSTEM, UserCreate(name=name, display_name=display_name, admin=admin))


def print_login_links(service: DomainService, connection_url: str) -> None:
    from .service import SYSTEM

    lines = ["", "Jupyter Spaces demo domain. Log in as:"]
    for name, display_name, admin in DEMO_USERS:
        token = service.login_link_token(SYSTEM, name)
        role = " (admin)" if admin else ""
        lines.append(f"  {display_name}{role}: {connection_url}login?token={token}")
    lines.append("Each link works once, for 24 hours.")
    print("\n".join(lines), flush=True)


main = launch_new_instance = DomainApp.launch_instance

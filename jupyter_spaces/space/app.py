"""The space agent: a jupyter_server extension loaded into every space server.

It replaces jupyter_server's authentication and authorization for the whole
server (``ServerApp.identity_provider_class`` and ``authorizer_class``) with
:class:`~.identity.SpaceIdentityProvider` (only requests signed by the domain)
and :class:`~.authorizer.SpaceAuthorizer` (owner / editor / viewer).

How the launcher gives the agent its secret
-------------------------------------------
Kernels and terminals inherit the server's environment and run as the same
uid, so the secret is never put in the environment or on the command line.
The launcher passes it one of two ways (exactly one):

``--SpaceAgentApp.secret_fd=N`` (preferred)
    An inherited file descriptor, typically the read end of a pipe: the
    launcher writes the secret, closes its write end and starts the server
    with ``pass_fds=(N,)`` (bubblewrap passes inherited descriptors through).
    The agent reads it to EOF and closes it, so nothing is left on disk.

``--SpaceAgentApp.secret_file=PATH``
    A file readable by the server (mode 0600), outside the space's volume.
    The agent reads it once at start and deletes it; if deletion fails it
    says so in the log, and the launcher must remove the file itself.

The secret is text (for example ``jupyter_spaces.signing.generate_secret()``),
surrounding whitespace is ignored, at least 16 bytes. On Linux the agent also
marks its process non-dumpable, so code in kernels (same uid) cannot read the
secret from the server's memory or ``/proc`` entries.

Without ``space_name`` and a readable secret the agent exits the server with
status 1 before it listens: a space server must never run unprotected.

Starting a space server (what the launcher runs)::

    jupyter lab --no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port=PORT \\
        --ServerApp.base_url=<domain base_url>spaces/<name>/ \\
        --ServerApp.root_dir=<volume> \\
        --ServerApp.jpserver_extensions jupyter_spaces=False \\
        --ServerApp.jpserver_extensions jupyter_spaces.space=True \\
        --SpaceAgentApp.space_name=<name> --SpaceAgentApp.secret_fd=3

(``--ServerApp.jpserver_extensions`` is repeated, one ``module=bool`` each:
the domain extension must not load inside a space.) ``base_url`` must equal
the path prefix under which the domain proxies the space, because the signed
path is the request target the server receives. jupyter_server refuses a
``Host`` header that is not local unless ``--ServerApp.allow_remote_access=True``;
pass that if the proxy forwards the browser's ``Host`` (the check guards
unauthenticated local servers against DNS rebinding, and every request here
must be signed anyway). Every route answers 403 until signed, so a readiness
probe either signs ``GET <base_url>api/status`` or takes any HTTP answer as
"listening".
"""

from __future__ import annotations

import ctypes
import os
import re
import sys

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Float, Int, Unicode

from .. import rootfiles
from ..routes import guard
from ..signing import Verifier, control_space
from . import labpage, presence, revocation, routes, shared_assets, whoami
from .authorizer import SpaceAuthorizer
from .contents import SpaceContentsManager
from .identity import SpaceIdentityProvider

_SPACE_NAME_RE = re.compile(r"^[a-z0-9](-?[a-z0-9]){0,62}$")


#: the space's pages may be framed by the space's own pages only (jupyter_server's default)
FRAME_POLICY = "frame-ancestors 'self'"


class AgentConfigError(Exception):
    """The agent is not configured well enough to protect the server."""


class SpaceAgentApp(ExtensionApp):
    """Accept only domain-signed requests and authorize them by role."""

    name = "jupyter_spaces_space"
    description = "jupyter-spaces space agent"
    load_other_extensions = True

    space_name = Unicode(
        "",
        config=True,
        help="Name of the space this server runs (part of every signature). Required.",
    )
    secret_fd = Int(
        -1,
        config=True,
        help=(
            "Inherited file descriptor to read the per-space secret from (to EOF); "
            "closed after reading. Use this or secret_file."
        ),
    )
    secret_file = Unicode(
        "",
        config=True,
        help=(
            "Path of a file holding the per-space secret; read once at start, then "
            "deleted. Use this or secret_fd."
        ),
    )
    max_clock_skew = Float(
        30.0,
        config=True,
        help="Seconds a signed request's timestamp may differ from this server's clock.",
    )
    nonce_cache_size = Int(
        100_000,
        config=True,
        help="Nonces remembered to refuse replays within the clock-skew window.",
    )
    shared_assets_url = Unicode(
        "",
        config=True,
        help=(
            "Path on the domain's origin where it serves this image's JupyterLab assets to "
            "every space (set by the domain); the lab page loads them from there when "
            "shared_assets_check matches. Empty: the page loads this server's own."
        ),
    )
    shared_assets_check = Unicode(
        "",
        config=True,
        help=(
            "Stat digest of the asset files the domain serves at shared_assets_url "
            "(jupyter_spaces.labassets); used only if this server's own scan agrees."
        ),
    )
    protect_process_memory = Bool(
        True,
        config=True,
        help=(
            "On Linux, mark the server process non-dumpable so kernels running as the "
            "same uid cannot read the secret from its memory or /proc entries."
        ),
    )

    def _link_jupyter_server_extension(self, serverapp):
        super()._link_jupyter_server_extension(serverapp)
        # Exit here, before anything listens: the extension manager only logs
        # exceptions from linking and would start the server without us.
        try:
            self.verifier, self.notice_verifier = self._make_verifiers()
        except AgentConfigError as e:
            self.log.critical("jupyter-spaces agent: %s; refusing to start the space server.", e)
            raise SystemExit(1) from None
        # Linking precedes ServerApp.init_configurables, which instantiates these.
        serverapp.identity_provider_class = SpaceIdentityProvider
        serverapp.authorizer_class = SpaceAuthorizer
        serverapp.contents_manager_class = SpaceContentsManager
        if self.protect_process_memory:
            self._make_non_dumpable()

    def initialize_settings(self):
        server = self.serverapp
        if not isinstance(server.identity_provider, SpaceIdentityProvider) or not isinstance(
            server.authorizer, SpaceAuthorizer
        ):
            # Something configured after us replaced them: do not run half-protected.
            self.log.critical(
                "jupyter-spaces agent: identity provider %s / authorizer %s were overridden; "
                "refusing to start the space server.",
                type(server.identity_provider).__name__,
                type(server.authorizer).__name__,
            )
            raise SystemExit(1)
        server.identity_provider.verifier = self.verifier
        self.settings[revocation.SETTINGS_KEY] = self.notice_verifier
        shared_assets.install(self)
        labpage.install(self)
        # No report-uri: the browser's reports are unsafe POSTs without an XSRF header, which
        # the domain's proxy refuses (it could exempt them only by letting any page of the
        # space post there). The policy itself, what a report would be about, stays.
        headers = self.serverapp.web_app.settings.setdefault("headers", {})
        headers.setdefault("Content-Security-Policy", FRAME_POLICY)
        self.log.info("jupyter-spaces agent: serving space %r to signed requests only", self.space_name)

    def initialize_handlers(self):
        # Every extension's routes, checked against the space's table (routes.py).
        guard(self.serverapp.web_app, self.serverapp.base_url, routes.ENFORCEMENT)
        self.handlers.extend(presence.handlers)
        self.handlers.extend(whoami.handlers)
        self.handlers.extend(revocation.handlers)
        self.handlers.extend(rootfiles.handlers(self.serverapp.web_app))
        # Notebook trust is kept on the volume (the launcher points NotebookNotary.data_dir
        # there); the notary writes its files but does not create their directory.
        os.makedirs(os.path.join(os.path.expanduser("~"), ".local", "share", "jupyter"), exist_ok=True)

    def _make_verifiers(self) -> tuple[Verifier, Verifier]:
        """Of users' requests (signed by the proxy), and of the domain's own notices."""
        if not _SPACE_NAME_RE.match(self.space_name):
            raise AgentConfigError(f"SpaceAgentApp.space_name is missing or invalid: {self.space_name!r}")
        secret = self._read_secret().strip()
        try:
            return tuple(
                Verifier(secret, space, max_skew=self.max_clock_skew, nonce_cache_size=self.nonce_cache_size)
                for space in (self.space_name, control_space(self.space_name))
            )
        except ValueError as e:
            raise AgentConfigError(str(e)) from None

    def _read_secret(self) -> str:
        if (self.secret_fd >= 0) == bool(self.secret_file):
            raise AgentConfigError("set exactly one of SpaceAgentApp.secret_fd and SpaceAgentApp.secret_file")
        try:
            if self.secret_fd >= 0:
                with os.fdopen(self.secret_fd, "rb") as f:
                    return f.read().decode()
            with open(self.secret_file, "rb") as f:
                secret = f.read().decode()
        except (OSError, UnicodeDecodeError) as e:
            raise AgentConfigError(f"cannot read the space secret: {e}") from None
        try:
            os.unlink(self.secret_file)
        except OSError as e:
            self.log.warning("jupyter-spaces agent: could not delete the secret file: %s", e)
        return secret

    def _make_non_dumpable(self):
        if not sys.platform.startswith("linux"):
            return
        pr_set_dumpable = 4
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(pr_set_dumpable, 0, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
        except (OSError, AttributeError) as e:
            self.log.warning("jupyter-spaces agent: could not mark the process non-dumpable: %s", e)

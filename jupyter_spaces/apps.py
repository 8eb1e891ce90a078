"""What each space application is: one description per app, read by every part.

The catalogue lists them (``domain/catalog.py``), the launchers start them
(``launchers/``), the proxy and the in-space gate route to them (``space/appgate.py``),
and the frontend and R addin show them (``GET app-types``). Adding an app is a new
:class:`App` in :data:`APPS` plus its tests.

JupyterLab runs as the space server itself, with the space agent loaded into it.
Every other app runs behind the **gate** (``jupyter_spaces.space.appgate``): a small
server of ours in the same sandbox that listens where a space server listens, checks
the domain's signature on every request (as the agent does), applies the app's
viewer rule, and relays to the app over a unix socket in the sandbox's private
``/tmp``. The app itself listens on no TCP port: the sandbox shares the host's
loopback, and code-server or MLflow without authentication on a port would be open
to every other space.

Plain Python, no imports from the parts: each part reads this.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote

#: where scripts/install-apps.sh puts the apps (``bin/<program>``) as root
DEFAULT_APPS_DIR = "/opt/jupyter-spaces/apps"


def default_apps_dir() -> str:
    """The folder ``scripts/install-apps.sh`` installs into by default."""
    if env := os.environ.get("JUPYTER_SPACES_APPS_DIR"):
        return env
    if os.geteuid() == 0:
        return DEFAULT_APPS_DIR
    return os.path.join(
        os.path.expanduser("~"), ".local", "share", "jupyter-spaces", "apps"
    )


@dataclass(frozen=True)
class AppContext:
    """What an app's command is made from, as seen inside the sandbox."""

    home: str  # the volume ($HOME)
    base_url: str  # the space's prefix, "/spaces/<name>/"
    socket: str  # the unix socket the app must listen on
    program: str  # the app's executable (resolved on the host, bound read-only)


@dataclass(frozen=True)
class App:
    name: str  # the app_type of a space
    display_name: str
    description: str
    icon: str  # the frontend's icon name for it
    #: "base_url": the app serves under the space's prefix (JupyterLab's base_url,
    #: MLflow's --static-prefix), the request target is forwarded unchanged;
    #: "strip": the app serves at "/" with relative URLs (code-server), the gate strips the prefix
    prefix: str
    #: the app's own readiness path, as the app sees it (after the prefix rule)
    ready_path: str
    co_edits: bool  # several users in it at once, each with their own cursor
    #: what a viewer of a shared space may do: "read-only" (the app or gate refuses
    #: writes) or "refused" (the app cannot be opened by a viewer, with ``viewer_reason``)
    viewers: str
    viewer_reason: str = ""
    #: how idle shutdown knows the app is used: a file the app touches while in use
    #: (relative to $HOME), else the gate's own last relayed request
    heartbeat_file: str = ""
    writes: dict[str, str] = field(default_factory=dict)  # path on the volume -> what
    program: str = (
        ""  # the executable to find (apps dir, then PATH); "" = runs from the image
    )
    install_hint: str = ""  # said when the program is missing
    unavailable: str = (
        ""  # a fixed reason it cannot run anywhere (no registry ships it)
    )
    command: Callable[[AppContext], list[str]] | None = None
    env: dict[str, str] = field(default_factory=dict)
    #: files the gate writes on the volume (relative to $HOME) before the app starts,
    #: only where none is: the app's defaults, which its user may then change
    seed_files: dict[str, str] = field(default_factory=dict)
    #: POST routes that only read, relative to the space's URL (no query): a viewer may
    #: send exactly these (tests/apps/test_mlflow_routes.py checks them against the app's table)
    viewer_read_posts: tuple[str, ...] = ()
    #: where the frontend opens it: "jupyterlab" (the space's JupyterLab replaces the
    #: page, with the switcher) or "tab" (an app of its own, in a new browser tab)
    opens_in: str = "tab"
    #: POST routes (relative to the space's URL, no query) whose JSON body names who did
    #: it, and ``stamp_caller(route, body, user)``, which returns the body with the
    #: caller the domain signed in that place: the gate applies it, so no member of a
    #: shared space acts in another's name. It raises ``PermissionError`` to refuse, and
    #: ``ValueError`` for a body it cannot read.
    caller_routes: tuple[str, ...] = ()
    stamp_caller: Callable[[str, dict, str], dict] | None = None

    @property
    def gated(self) -> bool:
        """Runs behind the gate (everything but JupyterLab)."""
        return self.command is not None

    def find_program(self, apps_dir: str | None = None) -> str | None:
        """The app's executable on this host: ``<apps_dir>/bin/<program>``, else PATH."""
        if not self.program:
            return None
        candidate = os.path.join(apps_dir or default_apps_dir(), "bin", self.program)
        if os.access(candidate, os.X_OK):
            return candidate
        return shutil.which(self.program)

    def app_path(self, target: str, base_url: str) -> str | None:
        """The request target as the app must receive it; None when outside the space."""
        if not target.startswith(base_url):
            return None
        if self.prefix == "strip":
            return "/" + target[len(base_url) :]
        return target

    def viewer_may(self, method: str, rel_path: str) -> bool:
        """What a viewer may send; ``rel_path`` is the request's path relative to the
        space's URL. Only exact routes: a write whose path merely ends like a read (an
        artifact upload to ``.../mlflow/runs/search``) is refused."""
        if self.viewers == "refused":
            return False
        if method in ("GET", "HEAD", "OPTIONS"):
            return True
        return method == "POST" and rel_path.split("?", 1)[0] in self.viewer_read_posts

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "display_name": self.display_name,
            "description": self.description,
            "icon": self.icon,
            "co_edits": self.co_edits,
            "viewers": self.viewers,
            "viewer_reason": self.viewer_reason,
            "opens_in": self.opens_in,
        }


def _api_routes(*routes: str) -> tuple[str, ...]:
    """An MLflow REST route as its clients send it (``api/``) and as its UI does (``ajax-api/``)."""
    return tuple(f"{prefix}/{r}" for r in routes for prefix in ("api", "ajax-api"))


def _code_server(c: AppContext) -> list[str]:
    data = f"{c.home}/.local/share/code-server"
    return [
        c.program,
        "--auth", "none",  # the gate checked the domain's signature already
        "--socket", c.socket,
        "--socket-mode", "600",
        "--disable-telemetry",
        "--disable-update-check",
        "--disable-workspace-trust",
        "--config", f"{c.home}/.config/code-server/config.yaml",
        "--user-data-dir", data,
        "--extensions-dir", f"{data}/extensions",
        c.home,
    ]  # fmt: skip


def _mlflow(c: AppContext) -> list[str]:
    return [
        c.program, "server",
        "--workers", "1",
        "--static-prefix",
        unquote(c.base_url).rstrip("/"),  # matched against the decoded path
        # the gate checked who asks; MLflow's own DNS-rebinding check would refuse the
        # space's own host name ({space}.localhost, or the domain's)
        "--allowed-hosts", "*",
        "--uvicorn-opts", f"--uds {c.socket}",
        "--backend-store-uri", f"sqlite:///{c.home}/mlflow/mlflow.db",
        # artifacts go through the server (mlflow-artifacts:/), so a client in another
        # space logs them over HTTP, not into a path it cannot see
        "--serve-artifacts",
        "--artifacts-destination", f"{c.home}/mlflow/artifacts",
    ]  # fmt: skip


#: MLflow's tag for a run's author: its client sets it, with ``user_id``, from the OS user
MLFLOW_USER_TAG = "mlflow.user"


def _mlflow_stamp_caller(route: str, body: dict, user: str) -> dict:
    """A run's author is its caller. MLflow takes it from its client (``user_id``, and
    the ``mlflow.user`` tag its UI shows), so the gate writes the signed caller there when
    a run is created, and refuses any later change of the tag."""
    tags = body.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, dict) for t in tags):
        raise ValueError("tags must be a list of objects with a key and a value.")
    if route.endswith("/runs/create"):
        tags = [t for t in tags if t.get("key") != MLFLOW_USER_TAG]
        return {**body, "user_id": user, "tags": [*tags, {"key": MLFLOW_USER_TAG, "value": user}]}
    if body.get("key") == MLFLOW_USER_TAG or any(t.get("key") == MLFLOW_USER_TAG for t in tags):
        raise PermissionError("A run's author (the mlflow.user tag) is set by the domain when the run is created.")
    return body


JUPYTERLAB = App(
    name="jupyterlab",
    display_name="JupyterLab",
    description="Notebooks, consoles, terminals and files, co-edited in real time in shared spaces.",
    icon="jupyter",
    opens_in="jupyterlab",
    prefix="base_url",
    ready_path="api/spaces-agent/identity",
    co_edits=True,
    viewers="read-only",
    writes={
        ".jupyter/": "JupyterLab settings and workspaces",
        "": "notebooks and files",
    },
)

CODE_EDITOR = App(
    name="code-editor",
    display_name="Code Editor",
    description="VS Code in the browser (code-server), with its extensions and settings on the space's volume.",
    icon="code",
    prefix="strip",
    ready_path="/healthz",
    co_edits=False,
    viewers="refused",
    viewer_reason=(
        "The Code Editor has no read-only mode: anyone who opens it can edit files and run "
        "commands in its terminal. Ask the owner for the editor role to open it."
    ),
    heartbeat_file=".local/share/code-server/heartbeat",
    writes={
        "": "the workspace folder",
        ".local/share/code-server/": "VS Code user data, settings, extensions, heartbeat",
        ".config/code-server/": "code-server's config file",
    },
    program="code-server",
    install_hint="install it with scripts/install-apps.sh (code-server from npm)",
    command=_code_server,
    # --disable-telemetry does not reach extensions: the built-in git and GitHub ones
    # post to Microsoft's telemetry endpoint unless the user setting is off
    # (coder/code-server#5306); a space's user data starts with it off.
    seed_files={
        ".local/share/code-server/User/settings.json": '{\n  "telemetry.telemetryLevel": "off"\n}\n',
    },
)

MLFLOW = App(
    name="mlflow",
    display_name="MLflow",
    description="An MLflow tracking server: experiments, runs and artifacts on the space's volume.",
    icon="mlflow",
    prefix="base_url",
    ready_path="health",  # under the static prefix
    co_edits=False,
    viewers="read-only",
    writes={
        "mlflow/mlflow.db": "the tracking store (SQLite)",
        "mlflow/artifacts/": "run artifacts",
    },
    program="mlflow",
    install_hint="install it with scripts/install-apps.sh (mlflow from PyPI, in a venv of its own)",
    command=_mlflow,
    env={
        # else it starts a pool of job workers (about 2 GB) for features a tracking server does not need
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    },
    # the UI searches with POST, and asks for a run's page with POST graphql (whose
    # every field reads, in the pinned MLflow: tests/apps/test_mlflow_routes.py)
    viewer_read_posts=_api_routes(
        "2.0/mlflow/experiments/search",
        "2.0/mlflow/runs/search",
        "2.0/mlflow/logged-models/search",
        "2.0/mlflow/registered-models/get-latest-versions",
        "3.0/mlflow/traces/search",
        "3.0/mlflow/traces/batchGetInfos",
        "3.0/mlflow/traces/metrics",
        "3.0/mlflow/datasets/search",
        "3.0/mlflow/issues/search",
        "3.0/mlflow/prompt-optimization/jobs/search",
    )
    + ("ajax-api/2.0/mlflow/experiments/search-datasets", "graphql"),  # the UI's only
    caller_routes=_api_routes(
        "2.0/mlflow/runs/create",
        "2.0/mlflow/runs/set-tag",
        "2.0/mlflow/runs/log-batch",
        "2.0/mlflow/runs/delete-tag",
    ),
    stamp_caller=_mlflow_stamp_caller,
)

RSTUDIO = App(
    name="rstudio",
    display_name="RStudio",
    description="RStudio Server.",
    icon="rstudio",
    prefix="strip",
    ready_path="/",
    co_edits=False,
    viewers="refused",
    viewer_reason="RStudio has no read-only mode.",
    unavailable=(
        "RStudio Server is in none of the package registries this domain installs from; "
        "use the R kernel in JupyterLab, or the jupyterspaces R addin from RStudio Desktop."
    ),
)

#: every app, in the order the create dialog lists them
APPS: dict[str, App] = {a.name: a for a in (JUPYTERLAB, CODE_EDITOR, MLFLOW, RSTUDIO)}


def get(name: str) -> App:
    try:
        return APPS[name]
    except KeyError:
        raise ValueError(
            f"Unknown app type {name!r}; known: {', '.join(APPS)}."
        ) from None

"""How a space server is started: its command line, environment and config files.

For any launcher that runs a space's JupyterLab from an image's Python: the server is
``python -I -m jupyter_spaces.launchers.insandbox.labserver <args>``
(:data:`SERVER_MODULE`, run with
:meth:`~jupyter_spaces.launchers.environments.Environment.module_command`).

- **Secret and agent config**: the per-space secret goes through an inherited pipe
  (the agent's ``secret_fd`` setting, named by ``spec.agent``): the launcher writes it
  and closes its end, the agent reads it to EOF and closes it; it is never in the
  environment, on disk or on the command line. ``spec.agent_config`` (traitlets config,
  not secret) is written to ``jupyter_server_config.json`` in a read-only
  ``JUPYTER_CONFIG_DIR`` (:func:`write_config_dir`). Settings that protect the server
  (extensions, base_url, port, space name, secret fd) are on the command line
  (:func:`server_args`), which wins over any config file; the server runs with
  ``python -I`` (no user site-packages, no cwd on ``sys.path``), and with a read-only
  ``JUPYTER_DATA_DIR``, so nothing a kernel writes into ``$HOME`` changes how the
  next server starts (user settings and workspaces still live in ``$HOME/.jupyter/lab``).
- **Which process dies first**: every Python process but the server (kernels,
  scripts) raises its ``oom_score_adj`` to the launcher's ``kernel_oom_score_adj``
  through a ``sitecustomize`` on its ``PYTHONPATH`` (:mod:`.insandbox.sitecustomize`;
  the server ignores it: ``python -I``), so when a space hits its memory limit the
  kernel that allocates is killed and the server survives, even when it is bigger.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import shutil

from .base import LaunchSpec
from .environments import Environment

#: the module a space server runs (inside the sandbox)
SERVER_MODULE = "jupyter_spaces.launchers.insandbox.labserver"
OPT = "/opt/jupyter-spaces"  # where launcher-provided files appear inside a sandbox
_SITECUSTOMIZE = os.path.join(os.path.dirname(__file__), "insandbox", "sitecustomize.py")


def server_args(spec: LaunchSpec, port: int, home: str, secret_fd: int, soft_quota_bytes: int | None) -> list[str]:
    """The space server's arguments: JupyterLab on ``127.0.0.1:port`` under the space's
    base_url, rooted at ``home``, with the agent ``spec.agent`` names."""
    base_url = spec.base_url if spec.base_url.endswith("/") else spec.base_url + "/"
    return [
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.base_url={base_url}",
        f"--ServerApp.root_dir={home}",
        f"--LabApp.user_settings_dir={home}/.jupyter/lab/user-settings",
        f"--LabApp.workspaces_dir={home}/.jupyter/lab/workspaces",
        # kernels talk over unix sockets in the private /tmp: the network namespace is
        # shared, and a TCP iopub socket would let other spaces subscribe to outputs
        "--KernelManager.transport=ipc",
        *spec.agent.server_args(secret_fd, soft_quota_bytes),
    ]


def server_environment(spec_env: dict, image: Environment, home: str, space: str, user: str, oom_adj: int) -> dict:
    """The server's environment variables (its kernels inherit them)."""
    bins = [os.path.join(p, "bin") for p in image.prefixes]
    path = ":".join(dict.fromkeys([*bins, "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]))
    env = {
        "PATH": path,
        "HOME": home,
        "USER": user,
        "LOGNAME": user,
        "SHELL": "/bin/bash",
        "LANG": "C.UTF-8",
        "TERM": "xterm-256color",
        "JUPYTER_CONFIG_DIR": f"{OPT}/etc/jupyter",
        "JUPYTER_DATA_DIR": f"{OPT}/share/jupyter",
        "JUPYTER_RUNTIME_DIR": "/tmp/jupyter-runtime",
        "JUPYTER_SPACES_SPACE": space,
        # kernels and scripts (not the server: it runs with python -I) load our sitecustomize
        "PYTHONPATH": f"{OPT}/pylib",
        "JUPYTER_SPACES_OOM_SCORE_ADJ": str(oom_adj),
    }
    env.update({k: str(v) for k, v in (spec_env or {}).items()})
    return env


def kernel_config(space: str, image: Environment, path: list[str], sandboxed: bool, log: logging.Logger) -> dict:
    """Hide the kernelspecs whose program a space cannot run (e.g. an R kernel whose R
    is outside the sandbox): JupyterLab's launcher would show them, and they would die
    at start. Read at every start, so a kernel installed since shows at the next."""
    kernels = image.kernelspecs(path, sandboxed=sandboxed)
    hidden = {name: why for name, why in kernels.items() if why}
    if not hidden:
        return {}
    for name, why in sorted(hidden.items()):
        log.info("Space %s: kernel %r not offered: %s", space, name, why)
    runnable = sorted({"python3", *(name for name, why in kernels.items() if not why)} - set(hidden))
    return {"KernelSpecManager": {"allowed_kernelspecs": runnable or ["(none)"]}}  # [] would allow all


def server_config(spec: LaunchSpec, home: str, kernels: dict) -> dict:
    """The server's ``jupyter_server_config.json``: ours, then ``spec.agent_config`` over it."""
    return deep_merge(
        {
            "LabApp": {"news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"},
            # No JupyterLab build in a space (the image is read-only): no build prompt, and
            # no build check at every page load (about a second of the server's CPU).
            "ServerApp": {"tornado_settings": {"page_config_data": {"buildAvailable": False, "buildCheck": False}}},
            # Notebook trust lives on the volume: the Jupyter data dir is read-only.
            "NotebookNotary": {"data_dir": os.path.join(home, ".local", "share", "jupyter")},
            **kernels,
        },
        spec.agent_config or {},
    )


def write_config_dir(sdir: str, config: dict) -> None:
    """Write ``config`` into ``<sdir>/etc/jupyter`` (the server's read-only
    ``JUPYTER_CONFIG_DIR``) and make ``sdir``'s files readable by the space's uid,
    except its state and log."""
    with open(os.path.join(sdir, "etc", "jupyter", "jupyter_server_config.json"), "w") as f:
        json.dump(config, f, indent=1)
    # jupyter_core would otherwise try to write this marker into the read-only config dir
    # when $HOME has an ~/.ipython (IPython 3 migration) and crash
    with open(os.path.join(sdir, "etc", "jupyter", "migrated"), "w") as f:
        f.write("")
    for root, dirs, files in os.walk(sdir):
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o755)
        for fn in files:
            if fn not in ("state.json", "server.log"):
                os.chmod(os.path.join(root, fn), 0o644)
    os.chmod(sdir, 0o711)


def install_sitecustomize(pylib: str) -> None:
    """Put the kernels' ``sitecustomize.py`` into ``pylib`` (bound at ``OPT/pylib``)."""
    os.makedirs(pylib, exist_ok=True)
    target = os.path.join(pylib, "sitecustomize.py")
    shutil.copyfile(_SITECUSTOMIZE, target)
    os.chmod(pylib, 0o755)
    os.chmod(target, 0o644)


def deep_merge(a: dict, b: dict) -> dict:
    out = copy.deepcopy(a)
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out

"""Spaces whose app is not JupyterLab (``apps.App.gated``): what a launcher needs to
start one. The space server is then the gate (:mod:`.insandbox.appgate`), run with the
image's Python like JupyterLab would be, which starts the app; the sandbox must also
show the app's own files, read-only.

Where the app's executable is: ``<apps_dir>/bin/<program>`` (``scripts/install-apps.sh``),
else on the domain's ``PATH``.
"""

from __future__ import annotations

import os

from .. import apps
from .base import LaunchSpec

#: the module the gate runs (inside the sandbox)
GATE_MODULE = "jupyter_spaces.launchers.insandbox.appgate"


def availability(app_type: str, apps_dir: str) -> tuple[bool, str]:
    """(available, reason) of a gated app on this host."""
    try:
        app = apps.get(app_type)
    except ValueError as e:
        return False, str(e)
    if app.unavailable:
        return False, app.unavailable
    if app.find_program(apps_dir) is None:
        return (
            False,
            f"{app.display_name} needs {app.program}, not found on this host: {app.install_hint}.",
        )
    return True, ""


def gate_args(
    spec: LaunchSpec, port: int, home: str, secret_fd: int, program: str
) -> list[str]:
    """The gate's command-line arguments for ``spec``'s app on ``127.0.0.1:port``."""
    return [
        "--space", spec.space,
        "--app", spec.app_type,
        "--port", str(port),
        "--base-url", spec.base_url if spec.base_url.endswith("/") else spec.base_url + "/",
        "--secret-fd", str(secret_fd),
        "--program", program,
        "--home", home,
    ]  # fmt: skip


def program_binds(program: str, apps_dir: str) -> list[tuple[str, str]]:
    """Read-only binds that show the app's files at the same paths inside the sandbox:
    the apps folder when the program is installed there, else the folder its real file
    is in (a program under /usr is there already)."""
    binds = []
    apps_dir = os.path.realpath(apps_dir)
    real = os.path.realpath(program)
    for path in (program, real):
        if os.path.realpath(path).startswith(apps_dir + os.sep) or path.startswith(
            apps_dir + os.sep
        ):
            binds.append((apps_dir, apps_dir))
        elif not path.startswith(("/usr/", "/bin/", "/sbin/", "/lib")):
            top = os.path.dirname(os.path.dirname(os.path.realpath(path)))
            binds.append((top, top))
    return list(dict.fromkeys(binds))


def program_python(program: str) -> str | None:
    """The Python of the venv a Python app is installed in (its script's folder has one),
    whose own directories the sandbox must show too."""
    folder = os.path.dirname(os.path.realpath(program))
    python = os.path.join(folder, "python")
    return (
        python
        if os.path.exists(python)
        and os.path.exists(os.path.join(os.path.dirname(folder), "pyvenv.cfg"))
        else None
    )

"""The installed package exposes its JupyterLab and server extensions.

These check the *installed* project (``pip install .`` or ``pip install -e .``):
the prebuilt labextension is in a Jupyter data directory and the
``jupyter-config`` file enables the server extension. They skip only when the
package metadata is not installed at all.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

DIST_NAME = "jupyter-spaces"
LABEXTENSION_NAME = "jupyter-spaces"
SERVER_EXTENSION = "jupyter_spaces"

try:
    DIST = metadata.distribution(DIST_NAME)
except metadata.PackageNotFoundError:
    DIST = None

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        DIST is None,
        reason=f"the {DIST_NAME!r} package is not installed (pip install -e .)",
    ),
]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


#: The apps behind ``jupyter labextension`` and ``jupyter server extension``,
#: run as modules of this interpreter so that a ``jupyter`` script of another
#: environment earlier on PATH cannot answer for this one.
LABEXTENSION_APP = "jupyterlab.labextensions"
SERVEREXTENSION_APP = "jupyter_server.extension.serverextension"


def _jupyter(module: str, *args: str, cwd: Path) -> str:
    """Run a jupyter app of this interpreter; return stdout + stderr.

    Runs outside the work tree so that the installed package is the one found.
    """
    env = dict(os.environ)
    env.pop("JUPYTER_PLATFORM_DIRS", None)
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        check=False,
    )
    output = _ANSI.sub("", proc.stdout + proc.stderr)
    assert proc.returncode == 0, f"{module} {' '.join(args)} failed:\n{output}"
    return output


def test_labextension_is_enabled_and_ok(tmp_path: Path) -> None:
    output = _jupyter(LABEXTENSION_APP, "list", cwd=tmp_path)
    lines = [
        line.strip()
        for line in output.splitlines()
        if line.strip().startswith(f"{LABEXTENSION_NAME} ")
    ]
    assert lines, f"{LABEXTENSION_NAME} not listed:\n{output}"
    version = DIST.version if DIST else ""
    pattern = re.compile(
        rf"^{re.escape(LABEXTENSION_NAME)} v\S+ enabled\s+OK\b.*\(python, {re.escape(DIST_NAME)}\)"
    )
    assert any(pattern.search(line) for line in lines), (
        f"{LABEXTENSION_NAME} is not reported 'enabled OK' (python, {DIST_NAME}) "
        f"(package {version}):\n{output}"
    )


def test_server_extension_is_enabled_and_ok(tmp_path: Path) -> None:
    output = _jupyter(SERVEREXTENSION_APP, "list", cwd=tmp_path)
    lines = [line.strip() for line in output.splitlines()]
    assert f"{SERVER_EXTENSION} enabled" in lines, (
        f"{SERVER_EXTENSION} is not enabled:\n{output}"
    )
    ok = re.compile(rf"^{re.escape(SERVER_EXTENSION)} \S+ OK$")
    assert any(ok.match(line) for line in lines), (
        f"{SERVER_EXTENSION} did not validate OK:\n{output}"
    )


def test_installed_files_are_in_place() -> None:
    """The wheel's shared data landed: labextension package.json and the server config."""
    assert DIST is not None
    names = {str(f).replace("\\", "/") for f in (DIST.files or [])}
    editable = any(n.endswith(".pth") or "__editable__" in n for n in names)
    if editable:
        # An editable install points at the work tree: the build output is there.
        import jupyter_spaces

        built = Path(jupyter_spaces.__file__).parent / "labextension" / "package.json"
        assert built.is_file(), f"{built} missing: the labextension was not built"
        data = json.loads(built.read_text())
        assert data["name"] == LABEXTENSION_NAME
        assert "_build" in data["jupyterlab"], "package.json is not the built one"
    else:
        assert any(
            n.endswith(f"share/jupyter/labextensions/{LABEXTENSION_NAME}/package.json")
            for n in names
        ), sorted(names)
        assert any(
            n.endswith("etc/jupyter/jupyter_server_config.d/jupyter_spaces.json")
            for n in names
        ), sorted(names)

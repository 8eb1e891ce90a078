"""The installed package exposes its JupyterLab and server extensions.

Most check the *installed* project (``pip install .`` or ``pip install -e .``):
the prebuilt labextension is in a Jupyter data directory and the
``jupyter-config`` file enables the server extension. They skip only when the
package metadata is not installed at all. ``test_wheel_from_a_clean_clone`` builds
a wheel from a clone of the repository's HEAD and installs it into a fresh venv.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
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


def _jupyter(module: str, *args: str, cwd: Path, python: str = sys.executable, env: dict | None = None) -> str:
    """Run a jupyter app of this interpreter (or ``python``); return stdout + stderr.

    Runs outside the work tree so that the installed package is the one found.
    """
    env = {**os.environ, **(env or {})}
    env.pop("JUPYTER_PLATFORM_DIRS", None)
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(
        [python, "-m", module, *args],
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


def _run(*cmd, cwd: Path) -> None:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout[-5000:]}\n{proc.stderr[-5000:]}"


@pytest.mark.timeout(900)
def test_wheel_from_a_clean_clone(tmp_path: Path) -> None:
    """The wheel carries the labextension built from labextension/ and the config that enables
    the server extension; installed into a fresh venv, both are listed enabled and OK there.

    Built without build isolation (the test environment has the build requirements), so no
    package index is needed; jlpm installs the frontend's modules from yarn's global cache.
    """
    root = Path(__file__).resolve().parents[1]
    src, dist, venv = tmp_path / "src", tmp_path / "dist", tmp_path / "venv"
    _run("git", "clone", "--quiet", root, src, cwd=tmp_path)
    assert not (src / "jupyter_spaces" / "labextension").exists()  # nothing prebuilt
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", dist, src, cwd=tmp_path)
    (wheel,) = dist.glob("jupyter_spaces-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        data = next(n.split("/data/")[0] for n in names if "/data/" in n) + "/data/"
        ext = f"{data}share/jupyter/labextensions/{LABEXTENSION_NAME}/"
        package = json.loads(z.read(ext + "package.json"))
        assert ext + package["jupyterlab"]["_build"]["load"] in names, sorted(names)
        assert json.loads(z.read(ext + "install.json"))["packageName"] == LABEXTENSION_NAME
        config = json.loads(z.read(f"{data}etc/jupyter/jupyter_server_config.d/{SERVER_EXTENSION}.json"))
        assert config["ServerApp"]["jpserver_extensions"] == {SERVER_EXTENSION: True}
        # the package's modules and nothing else (test helpers stay under tests/): what
        # tests/test_runtime_imports.py checks in the tree is what the wheel ships
        modules = {n for n in names if n.endswith(".py")}
        assert modules == {str(p.relative_to(src)) for p in (src / SERVER_EXTENSION).rglob("*.py")}, modules

    # The venv sees the test environment's dependencies, but only its own Jupyter config.
    _run(sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    _run(python, "-m", "pip", "install", "--quiet", "--no-deps", wheel, cwd=tmp_path)
    isolated = {"JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_DATA_DIR": str(tmp_path / "data")}
    where = subprocess.run([python, "-c", "import jupyter_spaces; print(jupyter_spaces.__file__)"], cwd=tmp_path,
                           capture_output=True, text=True, check=True, timeout=60).stdout
    assert where.startswith(str(venv)), where
    servers = _jupyter(SERVEREXTENSION_APP, "list", cwd=tmp_path, python=str(python), env=isolated)
    section = servers.split(f"Config dir: {venv}/etc/jupyter\n")[1].split("Config dir:")[0]
    assert f"{SERVER_EXTENSION} enabled" in section and re.search(rf"{SERVER_EXTENSION} \S+ OK", section), servers
    labs = _jupyter(LABEXTENSION_APP, "list", cwd=tmp_path, python=str(python), env=isolated)
    section = labs.split(f"{venv}/share/jupyter/labextensions\n")[1]
    assert re.search(rf"{LABEXTENSION_NAME} v\S+ enabled\s+OK\s+\(python, {DIST_NAME}\)", section), labs


def test_dependencies_have_lower_bounds_and_tests_an_extra() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    from packaging.requirements import Requirement

    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    for spec in [*project["dependencies"], *(s for group in extras.values() for s in group)]:
        req = Requirement(spec)
        assert any(s.operator in (">=", "~=", "==") for s in req.specifier), f"{spec}: no lower bound"
    tests = {Requirement(s).name for s in extras["test"]}
    assert {"pytest", "pytest-jupyter", "pytest-timeout", "schemathesis"} <= tests
    assert not tests & {Requirement(s).name for s in project["dependencies"]}

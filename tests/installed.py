"""The project as users install it: a wheel, installed non-editable into a fresh venv.

What a user installs is what is tested. ``pip install <checkout>`` builds this same
wheel (the labextension already built is reused: hatch-jupyter-builder skips a
build whose output exists), and the venv gets it with its dependencies from the
package index (pip's cache makes that quick). The session-scoped fixtures
``project_wheel`` and ``installed_python`` in ``tests/conftest.py`` build them once
per test session; the space servers of the tests run on that interpreter (the
launcher's image, or a subprocess), so they import the installed package, never the
checkout's.

A process started on ``installed_python`` must not have the checkout on its
``sys.path``: not on ``PYTHONPATH``, and not as its working directory (``python -m``
puts the working directory first). Use :func:`installed_env` and a ``cwd`` outside the
checkout; a test-only extension under ``tests/`` is reachable through
:func:`pythonpath_of_tests`, which holds ``tests`` and nothing else of the checkout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PIP_ENV = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def run(argv, **kw) -> subprocess.CompletedProcess:
    out = subprocess.run(argv, capture_output=True, text=True, check=False, **kw)
    assert out.returncode == 0, f"{argv}: {out.stdout[-2000:]}{out.stderr[-2000:]}"
    return out


def build_wheel(dest: Path) -> str:
    """The project's wheel in ``dest``, built as ``pip install <checkout>`` builds it
    (without build isolation: the build tools are the test machine's, installed by
    scripts/install-test-deps.sh)."""
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dest), str(REPO)],
        env=PIP_ENV, timeout=300)  # fmt: skip
    (path,) = Path(dest).glob("jupyter_spaces-*.whl")
    return str(path)


def make_venv(path, wheel: str | None = None, copies: bool = False) -> str:
    """A fresh venv at ``path`` (the wheel and its dependencies installed); its python."""
    run([sys.executable, "-m", "venv", *(["--copies"] if copies else []), str(path)], timeout=120)
    python = os.path.join(path, "bin", "python")
    if wheel:
        started = time.monotonic()
        run([python, "-m", "pip", "install", "-q", wheel], env=PIP_ENV, timeout=600, cwd="/")
        print(f"installed into {path} in {time.monotonic() - started:.1f} s")
    return python


def package_dir(python: str) -> str:
    """Where ``python`` imports jupyter_spaces from (asked outside the checkout)."""
    code = "import os, jupyter_spaces; print(os.path.dirname(jupyter_spaces.__file__))"
    return run([python, "-I", "-c", code], cwd="/", timeout=60).stdout.strip()


def pythonpath_of_tests(dest: Path) -> str:
    """A directory for ``PYTHONPATH`` that holds the checkout's ``tests`` (for test-only
    extensions such as tests.security.routecheck) and nothing else of the checkout."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    link = dest / "tests"
    if not link.exists():
        link.symlink_to(REPO / "tests")
    return str(dest)


def installed_env(base: dict | None = None, pythonpath: str | None = None) -> dict:
    """``base`` (default: this process's environment) for a process on ``installed_python``:
    no checkout on ``PYTHONPATH`` (only ``pythonpath`` if given)."""
    env = dict(os.environ if base is None else base)
    env.pop("PYTHONPATH", None)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return env

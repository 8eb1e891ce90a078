"""An image's Python environment: where it lives, and what a sandbox must show of it.

An image is a Python environment: a venv (its interpreter a symlink to a base
Python elsewhere, e.g. ``/root/.pyenv/versions/3.11.7``), a conda-style
environment (the interpreter copied in), or the system's Python. A space runs the
interpreter **by the path configured**, never by the path its symlinks resolve to:
Python finds its venv (``pyvenv.cfg``) next to the path it was started as, so the
resolved base interpreter would run without the venv's packages.

Inside the sandbox, read-only and at their own paths, are only:

- each prefix (``sys.prefix``, ``sys.base_prefix`` and the exec ones), resolved
  and as written: the venv's packages, the base Python's stdlib and libpython;
- the directory of each hop of the interpreter's symlinks (usually in a prefix);
- the image's ``jupyter_spaces`` package when it lies outside every prefix (an
  editable install): that package's directory alone, at ``/opt/jupyter-spaces/lib``
  (put first on ``sys.path`` by :meth:`Environment.command`), not the checkout around it.

Their parents are empty directories inside the sandbox: binding
``/root/.pyenv/versions/3.11.7`` shows nothing else of ``/root``.
What is under the host's system directories (``/usr``, ``/lib`` ...) is there anyway.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from dataclasses import dataclass

from .base import LaunchError
from .sandbox import SYSTEM_TOP

# Run on the host (as the domain) to find the environment; imports nothing heavy.
_PROBE = r"""
import importlib.util, json, os, sys
s = importlib.util.find_spec("jupyter_spaces")
print(json.dumps({
    "executable": sys.executable,
    "prefixes": sorted({sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}),
    "package": os.path.dirname(s.origin) if s and s.origin else None,
}))
"""

#: What a space server imports, checked where it will run (inside the sandbox, as an
#: unprivileged uid): the first that fails is printed as ``module: error`` and exits 3.
AGENT_MODULES = ("jupyter_spaces.space", "jupyter_spaces.collab", "jupyterlab")
AGENT_CHECK = (
    "import importlib, sys\n"
    f"for m in {AGENT_MODULES!r}:\n"
    "    try:\n"
    "        importlib.import_module(m)\n"
    "    except BaseException as e:\n"
    "        print(f'{m}: {type(e).__name__}: {e}'); sys.exit(3)\n"
)

PACKAGE_DIR = "/opt/jupyter-spaces/lib"  # where an editable install's package appears

_HOST_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8"}


@dataclass(frozen=True)
class Environment:
    python: str  # the interpreter a space runs, as its environment names it (unresolved)
    prefixes: tuple[str, ...]
    package: str | None  # where the environment's jupyter_spaces package is

    @property
    def editable(self) -> bool:
        """Its jupyter_spaces package is outside its prefixes (an editable install)."""
        return bool(self.package) and not any(_within(os.path.realpath(self.package), os.path.realpath(p))
                                              for p in self.prefixes)  # fmt: skip

    def command(self, code: str) -> list[str]:
        """argv that runs ``code`` in this environment inside a sandbox (isolated mode:
        no user site-packages, no environment variables, no cwd on ``sys.path``)."""
        path = [PACKAGE_DIR] if self.editable else []
        return [self.python, "-I", "-c", f"import sys; sys.path[:0] = {path!r}\n{code}"]

    def binds(self) -> list[tuple[str, str]]:
        """(host path, sandbox path) pairs to bind read-only; see the module docstring."""
        binds: list[tuple[str, str]] = []

        def need(path: str) -> None:
            if _is_system(path) or any(_within(path, dest) for _src, dest in binds):
                return
            binds.append((os.path.realpath(path), path))

        for p in self.prefixes:
            need(os.path.realpath(p))
            need(p)
        for hop in _symlink_chain(self.python):
            need(os.path.dirname(hop))
        if self.editable:
            binds.append((os.path.realpath(self.package), f"{PACKAGE_DIR}/jupyter_spaces"))
        return binds


async def probe(python: str) -> Environment:
    """Ask the image's interpreter where its environment is (on the host)."""
    if "/" not in python:
        python = shutil.which(python) or python
    try:
        cp = await asyncio.to_thread(
            subprocess.run, [python, "-I", "-c", _PROBE], capture_output=True, text=True,
            timeout=60, cwd="/", env=_HOST_ENV, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError) as e:
        raise LaunchError(f"The image's Python {python} cannot run: {e}.") from e
    if cp.returncode != 0:
        tail = (cp.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise LaunchError(f"The image's Python {python} cannot run: {tail}")
    info = json.loads(cp.stdout.strip().splitlines()[-1])
    # a venv is only itself when started by its own path: keep python as configured
    # (absolute), unless that is a wrapper (a pyenv shim) around the real interpreter
    exe = os.path.abspath(python)
    if os.path.realpath(exe) != os.path.realpath(info["executable"]):
        exe = info["executable"]
    return Environment(exe, tuple(info["prefixes"]), info["package"])


def import_failure(python: str, returncode: int, output: str) -> str:
    """The reason a space cannot run on an image whose :data:`AGENT_CHECK` failed."""
    last = (output.strip().splitlines() or [f"exit status {returncode}"])[-1]
    module, sep, error = last.partition(": ")
    if returncode == 3 and sep:
        return (
            f"The image's Python {python} cannot import {module}: {error}. "
            "Install jupyter-spaces into that environment."
        )
    return f"The image's Python {python} cannot run in a space: {last}"


def _symlink_chain(path: str) -> list[str]:
    """``path`` and every path its symlinks lead through, up to the real file."""
    chain = [path]
    for _ in range(40):
        if not os.path.islink(path):
            break
        path = os.path.normpath(os.path.join(os.path.dirname(path), os.readlink(path)))
        chain.append(path)
    return chain


def _within(path: str, ancestor: str) -> bool:
    return path == ancestor or path.startswith(ancestor.rstrip("/") + "/")


def _is_system(path: str) -> bool:
    return path == "/" or any(_within(path, "/" + top) for top in SYSTEM_TOP)

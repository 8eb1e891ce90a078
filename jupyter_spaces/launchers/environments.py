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

Kernels: a space's JupyterLab finds kernelspecs in the image's prefixes
(``share/jupyter/kernels``) and in the system's (``/usr/local/share/jupyter/kernels``,
``/usr/share/jupyter/kernels``; the user's own are not read). IRkernel from Debian
(``r-cran-irkernel``) is in the last, runs ``R`` from ``/usr/bin`` with
``/usr/lib/R``, ``/usr/share/R``, ``/usr/local/lib/R`` (all under ``/usr``) and
``/etc/R`` (bound by ``sandbox.py``): the "R" kernel is there, as the space's uid.
:meth:`Environment.kernelspecs` says which kernelspecs' programs a space cannot run
(not on its ``PATH``, or outside the sandbox, e.g. an R under ``/opt/R``), so
that the launcher hides them rather than show a launcher tile that cannot start.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import stat
import subprocess
from dataclasses import dataclass

from .base import LaunchError
from .insandbox.imagecheck import AGENT_MODULES
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

#: The program that checks an image where a space runs (exit status 3: it cannot import
#: one of :data:`AGENT_MODULES`).
IMAGE_CHECK = "jupyter_spaces.launchers.insandbox.imagecheck"

PACKAGE_DIR = "/opt/jupyter-spaces/lib"  # where an editable install's package appears

#: Where jupyter_client looks for kernelspecs on Linux besides the image's prefixes
SYSTEM_KERNEL_DIRS = ("/usr/local/share/jupyter/kernels", "/usr/share/jupyter/kernels")
#: argv[0] jupyter_client replaces with the server's own interpreter (native kernels)
_PYTHON = re.compile(r"^python(\d+(\.\d+)?)?$")

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

    def module_command(self, module: str, args: list[str] | tuple[str, ...] = ()) -> list[str]:
        """argv that runs ``module`` (as ``python -m`` does) in this environment inside a
        sandbox, in isolated mode: no user site-packages, no environment variables, no
        cwd on ``sys.path``. An editable install's package is at :data:`PACKAGE_DIR`,
        which isolated mode leaves off ``sys.path``: runpy then runs the module after
        putting it first."""
        if not self.editable:
            return [self.python, "-I", "-m", module, *args]
        run = (
            f"import runpy, sys; sys.path[:0] = [{PACKAGE_DIR!r}]; "
            f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)"
        )
        return [self.python, "-I", "-c", run, *args]

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

    def kernelspecs(self, path: list[str], sandboxed: bool = True) -> dict[str, str | None]:
        """Each kernelspec a space on this image finds: ``None`` when a space can run its
        program, else why not. ``path`` is the space's ``PATH``; with ``sandboxed``, a
        program must also be visible in the sandbox (under the system's directories or
        this environment's binds) and executable by others (the space's uid)."""
        dests = [dest for _src, dest in self.binds()]

        def visible(p: str) -> bool:
            return not sandboxed or _is_system(p) or any(_within(p, d) for d in dests)

        def why_not(program: str, path: list[str]) -> str | None:
            candidates = [program] if "/" in program else [os.path.join(d, program) for d in path if d]
            for c in candidates:
                real = os.path.realpath(c)
                try:
                    st = os.stat(real)
                except OSError:
                    continue
                if not stat.S_ISREG(st.st_mode):
                    continue
                if not all(visible(hop) for hop in [*_symlink_chain(c), real]):
                    continue  # like execvp: a later directory on PATH may have it
                if sandboxed and not st.st_mode & stat.S_IXOTH:
                    return f"{real} is not executable by a space's user"
                return None
            if "/" in program:
                return f"{program} is not there in a space"
            return f"{program} is not on a space's PATH ({':'.join(path)})"

        dirs = [os.path.join(p, "share", "jupyter", "kernels") for p in self.prefixes] + list(SYSTEM_KERNEL_DIRS)
        found: dict[str, str | None] = {}
        for d in dirs:
            try:
                names = sorted(os.listdir(d))
            except OSError:
                continue
            for name in names:
                spec_file = os.path.join(d, name, "kernel.json")
                if name.lower() in found or not os.path.isfile(spec_file):
                    continue
                try:
                    with open(spec_file) as f:
                        spec = json.load(f)
                    program = str(spec["argv"][0]).replace("{resource_dir}", os.path.join(d, name))
                    kernel_path = (spec.get("env") or {}).get("PATH")
                except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError) as e:
                    found[name.lower()] = f"its kernel.json cannot be read: {e}"
                    continue
                if _PYTHON.match(program):
                    found[name.lower()] = None  # run by the server's own interpreter
                else:
                    found[name.lower()] = why_not(program, str(kernel_path).split(":") if kernel_path else path)
        return found


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
    """The reason a space cannot run on an image whose :data:`IMAGE_CHECK` failed."""
    last = (output.strip().splitlines() or [f"exit status {returncode}"])[-1]
    missing = re.search(r"finding module specification for .*No module named '(jupyter_spaces[^']*)'", last)
    if returncode != 3 and missing:  # the check itself is missing: so is what it would import
        returncode, last = 3, f"{AGENT_MODULES[0]}: ModuleNotFoundError: No module named '{missing[1]}'"
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

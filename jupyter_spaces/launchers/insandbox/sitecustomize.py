"""jupyter-spaces: Python processes in a space other than the server (kernels,
scripts) make themselves likelier OOM victims than the server; in a venv image
they see the user's packages on the volume, and pip installs there; then they
defer to any other sitecustomize on the path.

The launcher copies this file to ``sitecustomize.py`` in a directory on the kernels'
``PYTHONPATH``; it acts only when Python imports it under that name (imported as
``jupyter_spaces.launchers.insandbox.sitecustomize`` it only defines its functions).
It imports nothing of jupyter_spaces: kernels need not have it on their path."""

import os as _os
import sys as _sys


def _raise_oom_score():
    try:
        with open("/proc/self/oom_score_adj", "w") as _f:
            _f.write(_os.environ.get("JUPYTER_SPACES_OOM_SCORE_ADJ", "500"))
    except (OSError, ValueError):
        pass


def _user_packages_in_a_venv():
    # A venv turns the user site off (and pip refuses --user there), and the image is
    # read-only: what `pip install` gets goes to ~/.local on the volume all the same,
    # ahead of the image's packages, as the user site would be.
    import site

    if _sys.prefix == _sys.base_prefix or site.ENABLE_USER_SITE:
        return
    _os.environ.setdefault("PIP_PREFIX", site.getuserbase())
    first = next((i for i, p in enumerate(_sys.path) if p.startswith(_sys.prefix)), len(_sys.path))
    before = list(_sys.path)
    site.addsitedir(site.getusersitepackages())
    added = [p for p in _sys.path if p not in before]
    _sys.path[:] = before[:first] + added + before[first:]


def _chain():
    import importlib.machinery
    import importlib.util

    here = _os.path.dirname(_os.path.abspath(__file__))
    path = [p for p in _sys.path if _os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is not None and spec.loader is not None:
        mod = importlib.util.module_from_spec(spec)
        _sys.modules["sitecustomize"] = mod
        spec.loader.exec_module(mod)


def _run():
    _raise_oom_score()
    for step in (_user_packages_in_a_venv, _chain):
        try:
            step()
        except Exception:  # never break a kernel start
            pass


if __name__ == "sitecustomize":
    _run()

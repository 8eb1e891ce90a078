"""Whether a space server can run on an image, checked where it will run (inside the
sandbox, as an unprivileged uid): ``python -I -m jupyter_spaces.launchers.insandbox.imagecheck``
imports what a space server imports; the first that fails is printed as
``module: error`` and the exit status is 3
(:func:`~jupyter_spaces.launchers.environments.import_failure` reads it)."""

from __future__ import annotations

import importlib
import sys

#: What a space server imports.
AGENT_MODULES = ("jupyter_spaces.space", "jupyter_spaces.collab", "jupyterlab")


def main(modules=AGENT_MODULES) -> int:
    for m in modules:
        try:
            importlib.import_module(m)
        except BaseException as e:
            print(f"{m}: {type(e).__name__}: {e}")
            return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())

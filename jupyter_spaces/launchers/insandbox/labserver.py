"""The space server's entry point: ``python -I -m jupyter_spaces.launchers.insandbox.labserver
<server arguments>`` runs JupyterLab, which loads the space agent named on its command
line (:meth:`~jupyter_spaces.launchers.base.AgentSpec.server_args`)."""

from __future__ import annotations

import sys


def main() -> int:
    sys.argv[0] = "jupyter-lab"  # as the jupyter-lab script would be: the name the server logs
    from jupyterlab.labapp import main as lab

    return lab()


if __name__ == "__main__":
    sys.exit(main())

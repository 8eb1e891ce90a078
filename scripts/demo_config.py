"""`make demo`'s domain config: two images, the environments a space chooses from.

- ``default``: the domain's own environment (where ``make demo`` installed jupyter-spaces);
- ``data-science``: a venv that ``make demo`` builds beside the checkout (``.demo/``) with
  jupyter-spaces, pandas and matplotlib.
"""

import os
import sys

c = get_config()  # noqa: F821 (given by traitlets' config loader)
here = os.path.dirname(os.path.abspath(__file__))
c.DomainApp.images = [
    {
        "name": "default",
        "display_name": f"Python {sys.version_info.major}.{sys.version_info.minor}",
        "description": "JupyterLab, and the libraries of the domain's own environment.",
        "python": sys.executable,
    },
    {
        "name": "data-science",
        "display_name": "Data science",
        "description": "JupyterLab with pandas and matplotlib.",
        "python": os.path.join(os.path.dirname(here), ".demo", "data-science", "bin", "python"),
    },
]

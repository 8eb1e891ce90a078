#!/usr/bin/env bash
# Everything the test suite needs on a fresh Debian machine: system packages, the
# project in editable mode with its test extra, and the frontend's node modules.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends \
    bubblewrap libseccomp2 e2fsprogs util-linux chromium postgresql \
    r-base-core r-cran-httr2 r-cran-jsonlite r-cran-cli r-cran-curl r-cran-shiny \
    r-cran-miniui r-cran-testthat r-cran-withr r-cran-rstudioapi r-cran-roxygen2 r-cran-irkernel >/dev/null
  # Slurm and munge for the SlurmLauncher's two-node test cluster (tests/slurm/): the
  # daemons are run by the tests' fixture, never as services.
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
else
  echo "install-test-deps: not root or no apt-get; install bubblewrap and R yourself" >&2
fi

python3 -m pip install -q --upgrade pip
# Build requirements first, so the editable install can skip build isolation
# (which would download and install JupyterLab a second time).
python3 -m pip install -q "hatchling>=1.21" "hatch-jupyter-builder>=0.9" "jupyterlab>=4.2,<5" editables
python3 -m pip install -q --no-build-isolation -e ".[test]"
(cd labextension && jlpm install --immutable)
# JupyterLab's document models on y-websocket under Node, the collaboration client that is not
# ours (tests/collab/test_collab_yclient.py);
# --omit=optional: y-websocket's optional server-side leveldb is not needed.
(cd tests/collab/yclient && npm ci --omit=optional --no-audit --no-fund >/dev/null)
# The space apps beside JupyterLab (code-server, MLflow), from npm and PyPI, outside
# the project's dependencies; about two minutes the first time, then seconds.
bash scripts/install-apps.sh >/dev/null

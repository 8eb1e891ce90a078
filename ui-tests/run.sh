#!/usr/bin/env bash
# CI entry point of the browser tests: install, build the labextension, make
# the domain serve it, and run the Playwright tests headless in Debian's
# chromium against a real domain server. Exits non-zero on any failure.
#
# Assumes the project's Python side is installed (scripts/install-test-deps.sh:
# `pip install --no-build-isolation -e ".[test]"`). Environment:
#   PYTHON         the interpreter that runs the domain (default python3)
#   CHROMIUM_PATH  the browser (default /usr/bin/chromium; never downloaded)
#   extra arguments are passed to `playwright test` (e.g. --update-snapshots)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
PYTHON="${PYTHON:-python3}"
export PYTHON
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export CI="${CI:-1}"

if [ ! -x "$CHROMIUM_PATH" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "run.sh: no browser at $CHROMIUM_PATH (apt-get install chromium)" >&2
    exit 2
  fi
fi

echo "== labextension: install and build"
(cd "$ROOT/labextension" && jlpm install --immutable && jlpm build)

echo "== serve the built labextension from this interpreter's prefix"
# A symlink share/jupyter/labextensions/jupyter-spaces -> jupyter_spaces/labextension
# (what `pip install -e .` intends; the editable wheel copies a stale build).
(cd "$ROOT" && "$PYTHON" -m jupyterlab.labextensions develop --overwrite . >/dev/null)
(cd "$ROOT" && "$PYTHON" -m jupyterlab.labextensions list 2>&1 | grep -q "jupyter-spaces.*enabled") || {
  echo "run.sh: jupyter-spaces is not listed as an enabled labextension" >&2
  exit 2
}

echo "== ui-tests: install"
cd "$HERE"
npm ci --no-audit --no-fund

echo "== ui-tests: run"
npx playwright test "$@"

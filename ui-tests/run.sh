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
# A copy in share/jupyter/labextensions/jupyter-spaces (the editable wheel
# copies a stale build). Not the symlink `labextension develop` makes: its
# target, the repository, is not visible inside a space's sandbox (only the
# interpreter's prefix is), so a space's JupyterLab would lack the switcher.
LABEXT_DIR="$("$PYTHON" -c 'import sys, os; print(os.path.join(sys.prefix, "share", "jupyter", "labextensions"))')"
mkdir -p "$LABEXT_DIR"
rm -rf "$LABEXT_DIR/jupyter-spaces.tmp"
cp -r "$ROOT/jupyter_spaces/labextension" "$LABEXT_DIR/jupyter-spaces.tmp"
# As the wheel installs it: without install.json it is no longer "(python, jupyter-spaces)".
cp "$ROOT/labextension/install.json" "$LABEXT_DIR/jupyter-spaces.tmp/"
rm -rf "$LABEXT_DIR/jupyter-spaces"
mv "$LABEXT_DIR/jupyter-spaces.tmp" "$LABEXT_DIR/jupyter-spaces"
(cd "$ROOT" && "$PYTHON" -m jupyterlab.labextensions list 2>&1 | grep -q "jupyter-spaces.*enabled") || {
  echo "run.sh: jupyter-spaces is not listed as an enabled labextension" >&2
  exit 2
}

echo "== ui-tests: install"
cd "$HERE"
npm ci --no-audit --no-fund

echo "== ui-tests: run"
npx playwright test "$@"

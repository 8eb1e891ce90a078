#!/bin/sh
# Build and check the R package `jupyterspaces` with the live-server tests on.
#
#   rstudio_addin/check.sh
#
# Needs R and the packages from Debian (see README.md) and the jupyter_spaces
# Python package (installed, or importable from this repository's root, which
# is added to PYTHONPATH when it is not installed). Fails on any ERROR or
# WARNING of R CMD check, and when NAMESPACE/man are out of date with the
# roxygen comments.
#
# Environment:
#   JUPYTER_SPACES_LIVE_TESTS  true (default): live tests must run;
#                              auto: skipped when the domain server is absent
#   JUPYTER_SPACES_PYTHON      Python with jupyter_spaces (default python3)
#   JUPYTER_SPACES_CLI         server command, e.g. "jupyter spaces"
#   CHECK_DIR                  where to build and check (default: a temp dir)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
export JUPYTER_SPACES_LIVE_TESTS="${JUPYTER_SPACES_LIVE_TESTS:-true}"
# tests/testthat/collab-present.py uses the checkout's test client (tests/collab/client.py)
export JUPYTER_SPACES_CHECKOUT="$repo"
py="${JUPYTER_SPACES_PYTHON:-$(command -v python3 || command -v python || true)}"
if [ -n "$py" ]; then
  export JUPYTER_SPACES_PYTHON="$py"
  if ! "$py" -c 'import jupyter_spaces' >/dev/null 2>&1; then
    export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
  fi
fi
# No network time check (a NOTE offline), no spurious CRAN incoming checks.
export _R_CHECK_SYSTEM_CLOCK_=0
export _R_CHECK_CRAN_INCOMING_=false
export _R_CHECK_CRAN_INCOMING_REMOTE_=false

work="${CHECK_DIR:-$(mktemp -d)}"
mkdir -p "$work"
echo "check.sh: building and checking in $work (live tests: $JUPYTER_SPACES_LIVE_TESTS)"

# 1. Generated files are up to date with the roxygen comments.
if Rscript -e 'quit(status = !requireNamespace("roxygen2", quietly = TRUE))' >/dev/null 2>&1; then
  rm -rf "$work/roxy" && mkdir -p "$work/roxy"
  cp -R "$here" "$work/roxy/pkg"
  rm -rf "$work/roxy/pkg/"*.Rcheck
  (cd "$work/roxy/pkg" && Rscript -e 'invisible(roxygen2::roxygenise())' >/dev/null 2>&1)
  if ! diff -r "$here/man" "$work/roxy/pkg/man" >/dev/null || \
     ! diff "$here/NAMESPACE" "$work/roxy/pkg/NAMESPACE" >/dev/null; then
    echo "check.sh: NAMESPACE or man/ are stale; run roxygen2::roxygenise() in rstudio_addin" >&2
    diff -r "$here/man" "$work/roxy/pkg/man" >&2 || true
    diff "$here/NAMESPACE" "$work/roxy/pkg/NAMESPACE" >&2 || true
    exit 1
  fi
fi

# 2. R CMD build + R CMD check.
cd "$work"
rm -f jupyterspaces_*.tar.gz
R CMD build --no-manual "$here"
tarball=$(ls jupyterspaces_*.tar.gz)
status=0
R CMD check --no-manual "$tarball" || status=$?

log="$work/jupyterspaces.Rcheck/00check.log"
if [ ! -f "$log" ]; then
  echo "check.sh: R CMD check wrote no log" >&2
  exit 1
fi
for f in "$work"/jupyterspaces.Rcheck/tests/testthat.Rout*; do
  [ -f "$f" ] && { echo "===== $f (tail)"; tail -n 60 "$f"; }
done
if [ "$status" -ne 0 ] || grep -Eq '^Status:.*(ERROR|WARNING)' "$log"; then
  echo "check.sh: R CMD check found ERRORs or WARNINGs (see $log)" >&2
  grep -E '(ERROR|WARNING)' "$log" >&2 || true
  exit 1
fi
# With the live tests on, nothing may be skipped: every test really ran.
rout="$work/jupyterspaces.Rcheck/tests/testthat.Rout"
if [ "$JUPYTER_SPACES_LIVE_TESTS" = true ]; then
  summary=$(grep -E '^\[ FAIL [0-9]+ \| WARN [0-9]+ \| SKIP [0-9]+ \| PASS [0-9]+ \]' "$rout" | tail -n 1 || true)
  case "$summary" in
    *"| SKIP 0 |"*) ;;
    *) echo "check.sh: tests were skipped or did not report (${summary:-no testthat summary in $rout})" >&2
       exit 1 ;;
  esac
fi
echo "check.sh: OK ($(grep -E '^Status:' "$log"); tests: $(grep -E '^\[ FAIL' "$rout" | tail -n 1))"

#!/usr/bin/env bash
# Installs the space applications beside JupyterLab from the package registries:
# code-server (Code Editor spaces, from npm) and MLflow (MLflow spaces, from PyPI,
# in a venv of its own so its large install stays out of the project's dependencies).
#
#   bash scripts/install-apps.sh [code-server] [mlflow]     (default: both)
#
# Where: $JUPYTER_SPACES_APPS_DIR, else /opt/jupyter-spaces/apps as root, else
# ~/.local/share/jupyter-spaces/apps. The domain finds them there (the same default,
# or c.LocalLauncher.apps_dir). Idempotent: an app whose stamp file is there is skipped;
# versions are pinned, so a new pin installs beside the old one.
set -euo pipefail

CODE_SERVER_VERSION=4.100.3 # the last code-server whose engine is Node 20 (the machine's)
MLFLOW_VERSION=3.17.2

if [ -n "${JUPYTER_SPACES_APPS_DIR:-}" ]; then
  APPS="$JUPYTER_SPACES_APPS_DIR"
elif [ "$(id -u)" = 0 ]; then
  APPS=/opt/jupyter-spaces/apps
else
  APPS="$HOME/.local/share/jupyter-spaces/apps"
fi
mkdir -p "$APPS/bin"
apps=("$@")
[ ${#apps[@]} -gt 0 ] || apps=(code-server mlflow)

log() { echo "install-apps: $*" >&2; }

install_code_server() {
  local dest="$APPS/code-server-$CODE_SERVER_VERSION"
  if [ -e "$dest/.installed" ]; then
    log "code-server $CODE_SERVER_VERSION already in $dest"
  else
    local major
    major=$(node -p 'process.versions.node.split(".")[0]')
    if [ "$major" != 20 ]; then
      log "code-server $CODE_SERVER_VERSION needs Node 20, this is Node $major: skipped"
      return 0
    fi
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && ! command -v rg >/dev/null; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ripgrep >/dev/null
    fi
    command -v rg >/dev/null || { log "code-server needs ripgrep (rg): skipped"; return 0; }
    rm -rf "$dest" && mkdir -p "$dest"
    # Node headers come from the machine's Node (no download), and the package's own
    # postinstall is replaced by its steps below: as shipped it downloads ripgrep from
    # outside the registries, which fails here.
    export npm_config_nodedir="${npm_config_nodedir:-$(dirname "$(dirname "$(command -v node)")")}"
    export npm_config_yes=true npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
    npm install --ignore-scripts --no-save --prefix "$dest" "code-server@$CODE_SERVER_VERSION" >&2
    local pkg="$dest/node_modules/code-server"
    (cd "$dest/node_modules/argon2" && ../.bin/node-pre-gyp rebuild --build-from-source >/dev/null)
    (
      cd "$pkg/lib/vscode"
      npm install --omit=dev --ignore-scripts >&2
      # the native modules a Linux server loads; kerberos (proxy Negotiate auth) is
      # left out: it needs krb5 headers and is only loaded behind such a proxy
      npm rebuild node-pty @vscode/spdlog native-watchdog @vscode/deviceid >&2
      ln -sfn node_modules node_modules.asar
      (cd bin/remote-cli && ln -sfn code-linux.sh code-server)
      (cd bin/helpers && ln -sfn browser-linux.sh browser.sh)
      # Debian's ripgrep where @vscode/ripgrep's download would have put it (copied,
      # so that a sandbox that binds only this folder still finds it)
      mkdir -p node_modules/@vscode/ripgrep/bin
      cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
      cd extensions && npm install --omit=dev >&2
    )
    "$dest/node_modules/.bin/code-server" --version >/dev/null
    touch "$dest/.installed"
  fi
  ln -sfn "../code-server-$CODE_SERVER_VERSION/node_modules/.bin/code-server" "$APPS/bin/code-server"
  log "code-server $("$APPS/bin/code-server" --version | head -1)"
}

install_mlflow() {
  local dest="$APPS/mlflow-$MLFLOW_VERSION"
  if [ -e "$dest/.installed" ]; then
    log "mlflow $MLFLOW_VERSION already in $dest"
  else
    rm -rf "$dest"
    python3 -m venv "$dest"
    "$dest/bin/pip" install -q --disable-pip-version-check "mlflow==$MLFLOW_VERSION" >&2
    touch "$dest/.installed"
  fi
  ln -sfn "../mlflow-$MLFLOW_VERSION/bin/mlflow" "$APPS/bin/mlflow"
  log "$("$APPS/bin/mlflow" --version)"
}

for app in "${apps[@]}"; do
  case "$app" in
    code-server) install_code_server ;;
    mlflow) install_mlflow ;;
    *) log "unknown app '$app' (code-server, mlflow)"; exit 2 ;;
  esac
done
echo "$APPS"

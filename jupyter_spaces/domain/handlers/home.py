"""The spaces home is JupyterLab on the domain (``<base_url>lab``), where the
labextension opens the Spaces panel; ``spaces/home`` stays as a stable address for it."""

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web

from ..auth import SETTINGS_KEY


class HomeHandler(JupyterHandler):
    auth_resource = "spaces"

    @web.authenticated
    def get(self):
        self.redirect(url_path_join(self.base_url, "lab"))


# JupyterLab plugins that would call what the domain refuses (contents, kernels,
# sessions, terminals, the events socket, collaboration, announcements ...): work happens inside a
# space. Whole packages where nothing of them is useful in the home; the
# service managers of events, kernels, kernel specs and sessions are replaced by the
# labextension's managers that never ask (jupyter-spaces:domain-*-manager).
DOMAIN_DISABLED_EXTENSIONS = (
    "@jupyterlab/apputils-extension:announcements",
    "@jupyterlab/apputils-extension:workspaces",
    "@jupyterlab/celltags-extension",
    "@jupyterlab/codemirror-extension:commands",
    "@jupyterlab/completer-extension",
    "@jupyterlab/console-extension",
    "@jupyterlab/csvviewer-extension",
    "@jupyterlab/debugger-extension",
    "@jupyterlab/extensionmanager-extension",
    "@jupyterlab/filebrowser-extension",
    "@jupyterlab/fileeditor-extension",
    "@jupyterlab/htmlviewer-extension",
    "@jupyterlab/imageviewer-extension",
    "@jupyterlab/inspector-extension",
    "@jupyterlab/launcher-extension",
    "@jupyterlab/logconsole-extension",
    "@jupyterlab/lsp-extension",
    "@jupyterlab/markdownviewer-extension",
    "@jupyterlab/metadataform-extension",
    "@jupyterlab/notebook-extension",
    "@jupyterlab/pluginmanager-extension",
    "@jupyterlab/running-extension",
    "@jupyterlab/services-extension:event-manager",
    "@jupyterlab/services-extension:kernel-manager",
    "@jupyterlab/services-extension:kernel-spec-manager",
    "@jupyterlab/services-extension:session-manager",
    "@jupyterlab/terminal-extension",
    "@jupyterlab/toc-extension",
    "@jupyterlab/tooltip-extension",
    "@jupyterlab/workspaces-extension",
    "@jupyter/collaboration-extension",
    "@jupyter/docprovider-extension",
    "@jupyter-notebook/lab-extension",
)


def domain_page_config(handler, page_config: dict) -> dict:
    """Tell the frontend it runs in the domain (not in a space), so it opens the
    home, and leave out the plugins that would call the APIs the domain refuses."""
    page_config["spacesContext"] = "domain"
    # "path": spaces share the domain's origin; the home warns admins (see domain.origins).
    domain = handler.settings.get(SETTINGS_KEY) if handler is not None else None
    page_config["spacesOrigins"] = "own" if domain is None or domain.origins.isolated else "path"
    disabled = page_config.get("disabledExtensions")
    if isinstance(disabled, dict):
        disabled.update(dict.fromkeys(DOMAIN_DISABLED_EXTENSIONS, True))
    else:
        disabled = list(disabled or [])
        disabled.extend(name for name in DOMAIN_DISABLED_EXTENSIONS if name not in disabled)
        page_config["disabledExtensions"] = disabled
    return page_config

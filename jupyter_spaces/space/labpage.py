"""The lab page of a space: no news prompt for anyone, and quiet for viewers.

The announcements plugin asks every user "get notified about official Jupyter
news?" (its ``fetchNews`` setting starts as ``none``), though a space fetches no
news (``LabApp.news_url`` is None, see launchers/spaceserver.py) and never
checks for updates: the plugin is left out of every space's page, as the home
leaves it out of its own.

A viewer may not run code (see :mod:`.authorizer`), yet JupyterLab's own service
managers would connect to the kernels editors run, start sessions and poll
terminals; every refused websocket is retried, so the browser console and the
server log fill up and the kernel indicator says "Connecting" forever. For a
viewer's page this hook tells the labextension the role (``spacesRole``) and
leaves out JupyterLab's event, kernel, session, terminal and workspace
managers: the labextension provides ones that never connect and never write
(labextension/src/viewerservices.ts).

JupyterLab's state plugin makes every page wait 0.5–1 s for a save of the workspace
it has just loaded, and its window resolver 0.2–0.5 s for other tabs to object to
the workspace name (issue 17); where the page has this project's labextension, its
own (labextension/src/statedb.ts, windowname.ts), which do not wait, take their place.
There too, the labextension's avatars of the people present stand in for
collaboration's user menu in the top bar (it showed the caller's initials a second time),
and its File menu's Log Out for JupyterLab's Log Out and Shut Down: Shut Down asks the
space server to end itself (``api/shutdown``), which it refuses (only the domain stops a
space), and JupyterLab shows both or neither (``quitButton``).

A viewer is offered nothing the space would refuse: no Launcher (its cards create
notebooks, consoles and files); the labextension's viewer plugin leaves out File > New
and the file browser's New Folder, Upload and other writing items
(labextension/src/viewermenus.ts).
"""

from __future__ import annotations

# JupyterLab plugins no space page needs.
DISABLED_EXTENSIONS = ("@jupyterlab/apputils-extension:announcements",)

# JupyterLab's plugins replaced by the labextension's where the page has it.
REPLACED_BY_LABEXTENSION = (
    "@jupyterlab/apputils-extension:state",  # labextension/src/statedb.ts
    "@jupyterlab/apputils-extension:resolver",  # labextension/src/windowname.ts
    # collaboration's avatar of the current user in the top bar, beside the labextension's
    # avatars of everyone present (labextension/src/avatars.tsx): one is enough (issue 16)
    "@jupyter/collaboration-extension:user-menu-bar",
)
LABEXTENSION = "jupyter-spaces"

# JupyterLab plugins a viewer's page goes without.
VIEWER_DISABLED_EXTENSIONS = (
    "@jupyterlab/services-extension:event-manager",
    "@jupyterlab/services-extension:kernel-manager",
    "@jupyterlab/services-extension:session-manager",
    "@jupyterlab/services-extension:terminal-manager",
    "@jupyterlab/services-extension:workspace-manager",
    "@jupyterlab/terminal-extension",  # all its plugins; its launcher card said "Not implemented"
    "@jupyterlab/launcher-extension",  # all its plugins: the Launcher, its + button, File > New Launcher
    "@jupyterlab/filebrowser-extension:create-new-language-file",  # "New Python File" ... in the file browser
)


def disable(page_config: dict, names) -> None:
    """Add ``names`` to the page's disabled extensions (list or dict form), in place."""
    disabled = page_config.get("disabledExtensions")
    if isinstance(disabled, dict):
        page_config["disabledExtensions"] = {**disabled, **dict.fromkeys(names, True)}
    else:
        disabled = list(disabled or [])
        disabled.extend(name for name in names if name not in disabled)
        page_config["disabledExtensions"] = disabled


def has_labextension(page_config: dict) -> bool:
    """Whether the page loads this project's labextension with all its plugins (an
    image may lack it, a configuration may disable it or one of them)."""
    found = page_config.get("federated_extensions") or []
    if not any(isinstance(e, dict) and e.get("name") == LABEXTENSION for e in found):
        return False
    disabled = page_config.get("disabledExtensions") or []
    if isinstance(disabled, dict):
        disabled = [name for name, off in disabled.items() if off]
    return not any(name == LABEXTENSION or name.startswith(f"{LABEXTENSION}:") for name in disabled)


class LabPage:
    """The lab page's ``page_config_hook``: no news prompt; quiet service managers and no
    Launcher for viewers; the labextension's state and window-name plugins and Log Out
    (no Shut Down)."""

    def __init__(self, previous_hook=None):
        self.previous_hook = previous_hook

    def __call__(self, handler, page_config: dict) -> dict:
        if self.previous_hook is not None:
            page_config = self.previous_hook(handler, page_config)
        role = getattr(handler.current_user, "role", None)
        # A copy: jupyterlab_server keeps page_config in the settings across requests.
        page_config = dict(page_config)
        page_config["spacesRole"] = role or ""
        disable(page_config, DISABLED_EXTENSIONS)
        if has_labextension(page_config):
            disable(page_config, REPLACED_BY_LABEXTENSION)
            # JupyterLab's Shut Down and Log Out go; the labextension's Log Out stays
            page_config["quitButton"] = False
        if role == "viewer":
            disable(page_config, VIEWER_DISABLED_EXTENSIONS)
        return page_config


def install(app) -> None:
    """Set the page-config hook of ``app``'s server (after any other's)."""
    settings = app.serverapp.web_app.settings
    settings["page_config_hook"] = LabPage(previous_hook=settings.get("page_config_hook"))

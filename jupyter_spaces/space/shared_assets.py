"""The space's JupyterLab page takes its static assets from the domain's shared place.

The domain serves this image's JupyterLab assets once for every space, under a
URL keyed by their content (:mod:`jupyter_spaces.labassets`) and cached as
immutable, so a browser that opened one space has them for the next. The domain
names that place at launch (``SpaceAgentApp.shared_assets_url``, a path) with the
stat digest of the files it serves (``shared_assets_check``); this page-config
hook points ``fullStaticUrl`` and ``fullLabextensionsUrl`` there, but only while a
scan of what this server itself would serve agrees: otherwise the page keeps this
server's own ``static/lab`` and ``lab/extensions`` (which stay served either way).

On its own origin (``{space}.<suffix>``) the space's page names the domain's origin
(``//<suffix>:port``, scheme of the page), read from the ``X-Forwarded-Host`` the
proxy adds last; in path mode the page is on the domain's origin and the path is
enough. Only the page's asset URLs change; its API, settings and documents stay
on the space's own origin.
"""

from __future__ import annotations

import re

from ..labassets import scan

#: a host name (or IPv6 literal) and port: nothing else goes into the page
_HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9.-]{0,252})|\[[0-9a-f:.]+\])(?::\d{1,5})?$")


class SharedAssets:
    """The hook's state: where the shared place is, and whether it has our files."""

    def __init__(self, space: str, url: str, check: str, log, previous_hook=None):
        self.space = space
        self.url = url.rstrip("/")
        self.check = check
        self.log = log
        self.previous_hook = previous_hook
        self._agreed: bool | None = None

    def agrees(self, lab) -> bool:
        """Whether the domain's set is, right now, what this server's JupyterLab serves.

        Asked at every page (a stat scan, a few ms): an image changed under a running
        space (an extension rebuilt in place) gives the page this server's own files
        at once, never URLs of files the shared place no longer has."""
        static = lab.static_paths[0] if lab.static_paths else ""
        mine = scan(static, list(lab.extra_labextensions_path) + list(lab.labextensions_path))
        ok = mine.stat_digest == self.check
        if not ok and self._agreed is not False:
            self.log.warning(
                "jupyter-spaces agent: the domain's shared JupyterLab assets are not this server's "
                "(%d files here); the page loads this server's own",
                len(mine.files),
            )
        self._agreed = ok
        return ok

    def base(self, request) -> str:
        """The shared place as the page must name it."""
        forwarded = request.headers.get_list("X-Forwarded-Host")
        host = forwarded[-1].split(",")[-1].strip().lower() if forwarded else ""
        own = f"{self.space}."
        if host.startswith(own) and _HOST.match(host[len(own) :]):
            return "//" + host[len(own) :] + self.url
        return self.url

    def __call__(self, handler, page_config: dict) -> dict:
        if self.previous_hook is not None:
            page_config = self.previous_hook(handler, page_config)
        if not self.agrees(handler.extensionapp):
            return page_config
        base = self.base(handler.request)
        # A copy: jupyterlab_server keeps page_config in the settings across requests.
        page_config = dict(page_config)
        page_config["fullStaticUrl"] = base + "/lab"
        page_config["fullLabextensionsUrl"] = base + "/ext"
        return page_config


def install(app) -> None:
    """Set the page-config hook of ``app`` (the agent) when the domain named a shared place."""
    if not app.shared_assets_url or not app.shared_assets_check:
        return
    settings = app.serverapp.web_app.settings
    settings["page_config_hook"] = SharedAssets(
        app.space_name,
        app.shared_assets_url,
        app.shared_assets_check,
        app.log,
        previous_hook=settings.get("page_config_hook"),
    )

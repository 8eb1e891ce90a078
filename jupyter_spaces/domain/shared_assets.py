"""JupyterLab's static assets of each image, served once for every space.

Each space serves its JupyterLab under its own prefix, and in host mode on its own
origin, so without this a browser fetches and caches the same files again for
every space. Here the domain serves an image's asset set (:mod:`jupyter_spaces.labassets`:
JupyterLab's build and its federated extensions' ``static/`` files) at
``<base_url>spaces/_assets/<key>/``, ``key`` a digest of the files' contents, with
``Cache-Control: public, max-age=31536000, immutable``; a space's lab page loads
from there (:mod:`jupyter_spaces.space.shared_assets`).

Where it helps: Chromium keys its HTTP cache by the top-level page's *site*. With
``space_host = "{space}.spaces.example.org"`` every space is the site
``example.org``, so a second space, and the home, reuse what the first loaded. On
loopback every ``{space}.localhost`` is a site of its own (``localhost`` is not a
registered suffix): a second space loads the files again, but revisiting a space
needs no request at all for them (they were revalidated one by one before).

What is served: only files of a set this domain scanned itself, from the image's
installation (the administrator's), never from a space or its volume, and no HTML;
a file that changed since the scan is not served (a new scan, at the next start,
gives a new key). Assets are public like JupyterLab's own ``static/``: no login, no
cookies read, ``Access-Control-Allow-Origin: *`` (fonts are fetched with CORS
from a space's origin), and a sandbox CSP should one be opened as a page.

Only images whose Python runs on the domain's host (the local launcher's) are
scanned; for others, and when anything fails, spaces keep their own assets.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import os
import subprocess
import tempfile
import threading

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import JupyterHandler
from tornado import web

from ..labassets import DESCRIBE_IMAGE, URL_PREFIX, AssetSet, scan

log = logging.getLogger(__name__)

SETTINGS_KEY = "jupyter_spaces_shared_assets"
IMMUTABLE = "public, max-age=31536000, immutable"
DESCRIBE_TIMEOUT = 60


class SharedAssets:
    """The asset sets of the images spaces were started on, by key (thread-safe)."""

    def __init__(self, base_url: str):
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._lock = threading.Lock()
        self._described: dict[str, dict] = {}  # image python -> where its assets are
        self._images: dict[str, tuple[AssetSet, str]] = {}  # image python -> (set, key)
        self._sets: dict[str, AssetSet] = {}  # key -> set

    def agent_config(self, image) -> dict:
        """The space agent's settings for a space on ``image`` ({} when not shared). Blocking."""
        try:
            found = self._resolve(image.python)
        except Exception:  # sharing is an optimisation: never fail a start for it
            log.exception("Shared JupyterLab assets of image %s", image.name)
            found = None
        if found is None:
            return {}
        assets, key = found
        return {
            "SpaceAgentApp": {
                "shared_assets_url": f"{self.base_url}{URL_PREFIX}{key}",
                "shared_assets_check": assets.stat_digest,
            }
        }

    def _resolve(self, python: str) -> tuple[AssetSet, str] | None:
        with self._lock:
            where = self._described.get(python)
        if where is None:
            where = describe(python)
            if where is None:
                return None
            with self._lock:
                self._described[python] = where
        assets = scan(where["static_dir"], where["labextensions_path"])
        if not assets.files:
            return None
        with self._lock:
            known = self._images.get(python)
            if known is not None and known[0].stat_digest == assets.stat_digest:
                return known
        key = assets.content_key()  # reads every file: only when the set is new or changed
        with self._lock:
            self._images[python] = (assets, key)
            self._sets[key] = assets
        return assets, key

    def file(self, key: str, rel: str) -> str | None:
        """The file at ``rel`` of set ``key``, if it is one and unchanged since the scan."""
        with self._lock:
            assets = self._sets.get(key)
        if assets is None or rel not in assets.files or not assets.unchanged(rel):
            return None
        return assets.files[rel][0]


def describe(python: str) -> dict | None:
    """Where ``python``'s JupyterLab takes its assets from, as a space server sees it."""
    if not os.path.isabs(python) or not os.access(python, os.X_OK):
        return None  # not a local interpreter (e.g. another launcher's image name)
    with tempfile.TemporaryDirectory(prefix="spaces-assets-") as tmp:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": tmp,
            "LANG": "C.UTF-8",
            # like a space server's: data and config dirs of its own, none of this process's
            "JUPYTER_DATA_DIR": os.path.join(tmp, "data"),
            "JUPYTER_CONFIG_DIR": os.path.join(tmp, "config"),
            "JUPYTER_RUNTIME_DIR": os.path.join(tmp, "runtime"),
        }
        try:
            out = subprocess.run(
                [python, "-I", "-c", DESCRIBE_IMAGE],
                env=env, cwd=tmp, capture_output=True, text=True, timeout=DESCRIBE_TIMEOUT, check=True,
            ).stdout
            where = json.loads(out.strip().splitlines()[-1])
        except (OSError, subprocess.SubprocessError, ValueError, IndexError) as e:
            log.warning("Shared JupyterLab assets: cannot describe %s: %s", python, e)
            return None
        # The space's own data dir (empty) is not the domain's to serve.
        where["labextensions_path"] = [p for p in where["labextensions_path"] if not p.startswith(tmp + os.sep)]
    return where


class SharedAssetHandler(JupyterHandler):
    """``GET <base_url>spaces/_assets/<key>/<path>``: one file of a scanned set."""

    auth_resource = "spaces"

    @property
    def content_security_policy(self) -> str:
        return "sandbox; default-src 'none'"  # opened as a page: an opaque origin, nothing runs

    def check_xsrf_cookie(self):
        return None  # GET and HEAD only

    @allow_unauthenticated
    def head(self, key: str, path: str):
        return self.get(key, path, include_body=False)

    @allow_unauthenticated
    def get(self, key: str, path: str, include_body: bool = True):
        assets: SharedAssets = self.settings[SETTINGS_KEY]
        found = assets.file(key, path)
        if found is None:
            raise web.HTTPError(404)
        kind, encoding = mimetypes.guess_type(found)
        if encoding == "gzip":
            kind = "application/gzip"
        self.set_header("Content-Type", kind or "application/octet-stream")
        self.set_header("Cache-Control", IMMUTABLE)
        self.set_header("Access-Control-Allow-Origin", "*")
        self.set_header("Cross-Origin-Resource-Policy", "cross-origin")
        self.set_header("X-Content-Type-Options", "nosniff")
        with open(found, "rb") as f:
            body = f.read()
        if include_body:
            self.write(body)
        else:
            self.set_header("Content-Length", len(body))


def handlers() -> list:
    return [(rf"/{URL_PREFIX}(?P<key>[0-9a-f]{{32}})/(?P<path>(?:lab|ext)/.+)", SharedAssetHandler)]

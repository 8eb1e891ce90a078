"""JupyterLab's static assets as a set: what a space's JupyterLab loads from
``static/lab/`` (its build) and ``lab/extensions/<name>/static/`` (federated
extensions), identical for every space on the same image.

The domain serves such a set from one place, ``<base_url>spaces/_assets/<key>/``,
with ``lab/<file>`` and ``ext/<name>/static/<file>`` under it, so a browser that
opened one space has the files cached for the next (``domain/shared_assets.py``);
the space agent points its JupyterLab page there (``space/shared_assets.py``).
Both sides scan with :func:`scan`:

- ``key`` is a digest of every file's URL path and content: the URL changes
  whenever a byte does, so everything under it is cached as immutable, and two
  images with byte-identical assets share one key;
- ``stat_digest`` is a digest of paths, sizes and modification times: cheap, and
  equal only when both sides see the very same files. The domain hands it to a
  space with the key; the space uses the shared place only if its own scan
  agrees, else it keeps serving its own assets.

Only JupyterLab's build and the ``static/`` directories of installed federated
extensions are in a set, never an HTML file: nothing a user wrote, nothing of a
space's volume (an image's files are the administrator's).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

#: where the domain serves the sets, under its base_url
URL_PREFIX = "spaces/_assets/"
#: never part of a set (JupyterLab's index.html is a template, not an asset)
EXCLUDED_SUFFIXES = (".html", ".htm", ".xhtml")


@dataclass
class AssetSet:
    """URL path (``lab/...``, ``ext/<name>/static/...``) → (file, size, mtime_ns)."""

    files: dict[str, tuple[str, int, int]] = field(default_factory=dict)

    @property
    def stat_digest(self) -> str:
        h = hashlib.sha256()
        for rel in sorted(self.files):
            _, size, mtime = self.files[rel]
            h.update(f"{rel}\0{size}\0{mtime}\n".encode())
        return h.hexdigest()

    def content_key(self) -> str:
        """A digest of every URL path and its bytes (reads every file)."""
        h = hashlib.sha256()
        for rel in sorted(self.files):
            with open(self.files[rel][0], "rb") as f:
                h.update(f"{rel}\0{hashlib.sha256(f.read()).hexdigest()}\n".encode())
        return h.hexdigest()[:32]

    def unchanged(self, rel: str) -> bool:
        """Whether file ``rel`` is still what was scanned (a reinstall changes the set)."""
        path, size, mtime = self.files[rel]
        try:
            st = os.stat(path)
        except OSError:
            return False
        return st.st_size == size and st.st_mtime_ns == mtime


def _walk(root: str, prefix: str, out: dict) -> None:
    for directory, dirs, files in os.walk(root, followlinks=True):
        dirs.sort()
        for name in files:
            if name.lower().endswith(EXCLUDED_SUFFIXES):
                continue
            path = os.path.join(directory, name)
            try:
                st = os.stat(path)
            except OSError:
                continue
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            out[prefix + rel] = (path, st.st_size, st.st_mtime_ns)


def scan(static_dir: str, labextensions_path: list[str]) -> AssetSet:
    """The set a JupyterLab with ``static_dir`` and ``labextensions_path`` serves."""
    from jupyterlab_server.config import get_federated_extensions

    files: dict[str, tuple[str, int, int]] = {}
    if static_dir and os.path.isdir(static_dir):
        _walk(static_dir, "lab/", files)
    for name, ext in sorted(get_federated_extensions(list(labextensions_path)).items()):
        static = os.path.join(ext["ext_path"], "static")
        if os.path.isdir(static):
            _walk(static, f"ext/{name}/static/", files)
    return AssetSet(files)


#: Run with an image's Python (``python -I -c``): where its JupyterLab takes its
#: assets from, as a space server started on that image sees it (the launcher gives
#: the server an empty JUPYTER_DATA_DIR of its own; the caller does the same).
DESCRIBE_IMAGE = """
import json, os
from jupyterlab.labapp import LabApp, HERE
app = LabApp()
if app.core_mode or app.app_dir.startswith(HERE + os.sep):
    out = {"static_dir": os.path.join(HERE, "static"), "labextensions_path": []}
else:
    out = {"static_dir": app.static_dir,
           "labextensions_path": list(app.extra_labextensions_path) + list(app.labextensions_path)}
print(json.dumps(out))
"""

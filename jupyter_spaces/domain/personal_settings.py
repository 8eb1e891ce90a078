"""A person's JupyterLab settings follow them into every space.

Each user has one set of JupyterLab settings, kept by the domain: the home's own
(``<data_dir>/lab/users/<id>/user-settings``, see ``routes.enforcement``). A space's
JupyterLab reads and writes them through the proxy (``lab/api/settings``): the domain
answers those requests itself, with jupyterlab_server's own settings functions, the
user's settings directory and the schemas of the space's *image* (its JupyterLab and
the extensions installed in it). So the theme chosen on the home is the theme of the
next space opened, and an editor preference set in one space holds in the others.

What the domain cannot describe is left to the space: a schema that is not in the
image (an extension a user installed into their space's volume) is fetched from the
space as before, and so is everything of an image that is not a local environment
(``Image.python`` naming a container image for another launcher).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

from jupyterlab_server.settings_utils import get_settings, save_settings
from jupyterlab_server.translation_utils import translator
from jsonschema import ValidationError
from tornado import web

__all__ = ["SETTINGS_PATH", "ComposedSettings", "ImageLabDirs", "lab_dirs", "read", "user_settings_dir", "write"]

#: A space's settings API, below ``spaces/<name>/``.
SETTINGS_PATH = re.compile(r"lab/api/settings(?:/(?P<schema>[^?]+))?/?$")
#: Largest settings document accepted.
MAX_SETTINGS = 1024 * 1024

# Run with an image's interpreter: where its JupyterLab keeps schemas and app settings,
# and its extensions' directories, without the user's own (those are in a space's volume).
_PROBE = r"""
import json, os
from jupyter_core.paths import jupyter_data_dir, jupyter_path
from jupyterlab.commands import get_app_dir
user = os.path.realpath(jupyter_data_dir())
paths = [p for p in jupyter_path("labextensions") if not os.path.realpath(p).startswith(user)]
print(json.dumps({"app_dir": get_app_dir(), "labextensions": paths}))
"""
_PROBE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8"}


@dataclass(frozen=True)
class ImageLabDirs:
    """Where an image's JupyterLab finds its settings schemas."""

    app_settings_dir: str
    schemas_dir: str
    labextensions_path: tuple[str, ...]


_known: dict[str, ImageLabDirs | None] = {}


async def lab_dirs(python: str) -> ImageLabDirs | None:
    """The lab directories of the image whose interpreter is ``python`` (probed once);
    None when it is not a local environment with JupyterLab."""
    if python in _known:
        return _known[python]
    dirs = None
    if os.path.isabs(python) and os.access(python, os.X_OK):
        proc = await asyncio.create_subprocess_exec(
            python, "-I", "-c", _PROBE, env=_PROBE_ENV, cwd="/",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )
        out, _ = await proc.communicate()
        if proc.returncode == 0:
            found = json.loads(out)
            app_dir = found["app_dir"]
            dirs = ImageLabDirs(os.path.join(app_dir, "settings"), os.path.join(app_dir, "schemas"),
                                tuple(found["labextensions"]))
    _known[python] = dirs
    return dirs


def user_settings_dir(lab_dir: str, user_id: int) -> str:
    """The user's one settings directory: the one the home uses (``routes.enforcement``)."""
    return os.path.join(lab_dir, "users", str(user_id), "user-settings")


def read(dirs: ImageLabDirs, settings_dir: str, schema: str, ids_only: bool = False) -> dict | None:
    """What ``GET lab/api/settings[/<schema>]`` answers, or None: the image has no such schema."""
    try:
        result, _warnings = get_settings(
            dirs.app_settings_dir, dirs.schemas_dir, settings_dir, schema_name=schema,
            labextensions_path=list(dirs.labextensions_path), translator=translator.translate_schema,
            ids_only=ids_only,
        )
    except web.HTTPError as e:
        if e.status_code == 404:
            return None
        raise
    return result


def write(dirs: ImageLabDirs, settings_dir: str, schema: str, body: bytes) -> str | None:
    """Save a ``PUT lab/api/settings/<schema>`` body (of a schema ``read`` knows); None
    when saved, else why not."""
    try:
        raw = json.loads(body)["raw"]
        # Overrides change defaults only, nothing a user's values are validated against.
        save_settings(dirs.schemas_dir, settings_dir, schema, raw, {}, list(dirs.labextensions_path))
    except (ValueError, KeyError, TypeError):
        return "The settings must be JSON of the form {\"raw\": \"...\"}."
    except ValidationError as e:
        return f"The settings are not valid: {e.message}"
    return None



def _tree_stamp(root: str, digest: bool) -> list:
    """What ``read`` depends on under ``root``: each file's name, times, size and inode,
    and with ``digest`` its contents' hash (a rewrite within one tick of the file
    system's clock, same size, still shows)."""
    stamp = []
    for path, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(path, name)
            try:
                st = os.stat(full)
                entry = [full, st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino]
                if digest:
                    with open(full, "rb") as f:
                        entry.append(hashlib.sha256(f.read()).hexdigest())
            except OSError:
                continue  # gone while walking: the next stamp differs anyway
            stamp.append(entry)
    return stamp


class ComposedSettings:
    """``read``'s answers, kept while what they are composed of is unchanged.

    Composing every schema with the user's values costs tens of milliseconds of the
    domain's CPU, and each space's JupyterLab asks for all of them on every page load.
    An answer is kept per (image, user, schema, ids_only) with a stamp of its inputs:
    the user's settings files (read and hashed: whoever wrote them, the home, a space
    or the CLI, and however fast) and the image's schemas, overrides and extensions
    (by stat: the administrator's, changed rarely). A stamp that differs recomposes.
    Thread-safe: reads run on the domain's executor."""

    def __init__(self, max_entries: int = 512):
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict = OrderedDict()

    def _stamp(self, dirs: ImageLabDirs, settings_dir: str) -> str:
        image = [_tree_stamp(d, False) for d in (dirs.app_settings_dir, dirs.schemas_dir, *dirs.labextensions_path)]
        mine = _tree_stamp(settings_dir, True)
        return hashlib.sha256(json.dumps([image, mine]).encode()).hexdigest()

    def read(self, dirs: ImageLabDirs, settings_dir: str, schema: str, ids_only: bool = False) -> dict | None:
        """As ``read`` (the same dict for the same inputs: callers must not change it)."""
        key = (dirs, settings_dir, schema, ids_only)
        stamp = self._stamp(dirs, settings_dir)
        with self._lock:
            kept = self._entries.get(key)
            if kept is not None and kept[0] == stamp:
                self._entries.move_to_end(key)
                return kept[1]
        found = read(dirs, settings_dir, schema, ids_only)
        with self._lock:
            self._entries[key] = (stamp, found)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return found


#: The domain's composed settings (keys name their directories: one per process is enough).
composed = ComposedSettings()

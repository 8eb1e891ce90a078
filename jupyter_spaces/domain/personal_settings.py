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
import json
import os
import re
from dataclasses import dataclass

from jupyterlab_server.settings_utils import get_settings, save_settings
from jupyterlab_server.translation_utils import translator
from jsonschema import ValidationError
from tornado import web

__all__ = ["SETTINGS_PATH", "ImageLabDirs", "lab_dirs", "read", "user_settings_dir", "write"]

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


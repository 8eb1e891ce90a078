"""The domain's composed JupyterLab settings are kept, and never outlive their inputs.

``personal_settings.ComposedSettings`` keeps what a space's ``lab/api/settings`` answers
(issue 17: composing every schema cost the domain ~70 ms at every page load). Real
files: this installation's JupyterLab schemas, copied where a test changes them, and a
user settings directory written the ways the home, a space and the CLI write it.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest
from jupyterlab.commands import get_app_dir

from jupyter_spaces.domain import personal_settings
from jupyter_spaces.domain.personal_settings import ComposedSettings, ImageLabDirs

THEMES = "@jupyterlab/apputils-extension:themes"


@pytest.fixture
def dirs(tmp_path) -> ImageLabDirs:
    """This installation's schemas, copied (a test may add one) with no extensions."""
    app_dir = get_app_dir()
    schemas = tmp_path / "image" / "schemas"
    shutil.copytree(os.path.join(app_dir, "schemas"), schemas)
    settings = tmp_path / "image" / "settings"
    settings.mkdir()
    return ImageLabDirs(str(settings), str(schemas), ())


@pytest.fixture
def user_dir(tmp_path) -> str:
    path = tmp_path / "users" / "1" / "user-settings"
    path.mkdir(parents=True)
    return str(path)


def theme(found: dict) -> str | None:
    return found["settings"].get("theme")


def put(dirs, user_dir, value: str) -> None:
    assert personal_settings.write(dirs, user_dir, THEMES, json.dumps({"raw": json.dumps({"theme": value})}).encode()) is None


def test_a_second_read_is_the_kept_answer(dirs, user_dir):
    cache = ComposedSettings()
    first = cache.read(dirs, user_dir, "")
    assert first is cache.read(dirs, user_dir, "")  # not composed again
    assert first == personal_settings.read(dirs, user_dir, "")
    one = cache.read(dirs, user_dir, THEMES)
    assert one is cache.read(dirs, user_dir, THEMES) and one["id"] == THEMES
    assert cache.read(dirs, user_dir, "", ids_only=True) is not first  # its own entry


def test_a_saved_setting_is_read_at_once_even_the_same_size_in_the_same_tick(dirs, user_dir):
    cache = ComposedSettings()
    assert theme(cache.read(dirs, user_dir, THEMES)) is None
    listing = {s["id"]: s for s in cache.read(dirs, user_dir, "")["settings"]}
    assert THEMES in listing
    # Same length, back to back: file times may not move between the two, the contents do.
    for value in ("JupyterLab Dark", "JupyterLab Lite", "JupyterLab Dark"):
        put(dirs, user_dir, value)
        assert theme(cache.read(dirs, user_dir, THEMES)) == value
        listing = {s["id"]: s for s in cache.read(dirs, user_dir, "")["settings"]}
        assert listing[THEMES]["settings"]["theme"] == value


def test_a_file_written_by_another_writer_or_removed_is_seen(dirs, user_dir):
    cache = ComposedSettings()
    put(dirs, user_dir, "JupyterLab Dark")
    assert theme(cache.read(dirs, user_dir, THEMES)) == "JupyterLab Dark"
    path = os.path.join(user_dir, "@jupyterlab", "apputils-extension", "themes.jupyterlab-settings")
    with open(path, "w") as f:  # as the home's own settings handler or the CLI would
        f.write('{"theme": "Other"}')
    assert theme(cache.read(dirs, user_dir, THEMES)) == "Other"
    os.remove(path)
    assert theme(cache.read(dirs, user_dir, THEMES)) is None


def test_each_user_and_each_image_has_its_own_answer(dirs, user_dir, tmp_path):
    cache = ComposedSettings()
    other = tmp_path / "users" / "2" / "user-settings"
    other.mkdir(parents=True)
    put(dirs, user_dir, "JupyterLab Dark")
    assert theme(cache.read(dirs, user_dir, THEMES)) == "JupyterLab Dark"
    assert theme(cache.read(dirs, str(other), THEMES)) is None
    # The image changes: a schema added, an override of the administrator's.
    assert cache.read(dirs, user_dir, "my-ext:plugin") is None
    (tmp_path / "image" / "schemas" / "my-ext").mkdir()
    (tmp_path / "image" / "schemas" / "my-ext" / "plugin.json").write_text(
        json.dumps({"type": "object", "properties": {"x": {"type": "number", "default": 1}}}))
    assert cache.read(dirs, user_dir, "my-ext:plugin")["schema"]["properties"]["x"]["default"] == 1
    assert "my-ext:plugin" in {s["id"] for s in cache.read(dirs, user_dir, "")["settings"]}
    (tmp_path / "image" / "settings" / "overrides.json").write_text(json.dumps({"my-ext:plugin": {"x": 2}}))
    assert cache.read(dirs, user_dir, "my-ext:plugin")["schema"]["properties"]["x"]["default"] == 2


def test_the_cache_is_bounded(dirs, user_dir):
    cache = ComposedSettings(max_entries=2)
    first = cache.read(dirs, user_dir, THEMES)
    cache.read(dirs, user_dir, "@jupyterlab/notebook-extension:tracker")
    cache.read(dirs, user_dir, "@jupyterlab/fileeditor-extension:plugin")
    assert cache.read(dirs, user_dir, THEMES) is not first  # the oldest went

"""The domain's page config: the home context, and the plugins that would call refused APIs left out."""

from types import SimpleNamespace

from jupyter_spaces.domain.auth import SETTINGS_KEY
from jupyter_spaces.domain.handlers.home import DOMAIN_DISABLED_EXTENSIONS, domain_page_config
from jupyter_spaces.domain.origins import LOOPBACK_TEMPLATE, SpaceOrigins


def test_marks_the_domain_and_disables_plugins_of_refused_apis():
    config = domain_page_config(None, {"disabledExtensions": ["some-extension"]})
    assert config["spacesContext"] == "domain"
    disabled = config["disabledExtensions"]
    assert disabled[0] == "some-extension"
    for name in ("@jupyterlab/filebrowser-extension", "@jupyterlab/services-extension:kernel-manager"):
        assert name in disabled
    assert len(disabled) == len(set(disabled)) == len(DOMAIN_DISABLED_EXTENSIONS) + 1


def test_keeps_the_dict_form_and_the_theme():
    config = domain_page_config(None, {"disabledExtensions": {"x": True}})
    assert config["disabledExtensions"]["x"] is True
    assert config["disabledExtensions"]["@jupyterlab/launcher-extension"] is True
    assert not any("apputils-extension:themes" in name for name in DOMAIN_DISABLED_EXTENSIONS)
    config = domain_page_config(None, {})
    assert "@jupyterlab/terminal-extension" in config["disabledExtensions"]


def test_tells_the_home_whether_spaces_have_their_own_origins():
    """The home warns admins in path mode."""
    for template, expected in ((LOOPBACK_TEMPLATE, "own"), ("{space}.spaces.example.org", "own"), ("", "path")):
        handler = SimpleNamespace(settings={SETTINGS_KEY: SimpleNamespace(origins=SpaceOrigins(template))})
        assert domain_page_config(handler, {})["spacesOrigins"] == expected

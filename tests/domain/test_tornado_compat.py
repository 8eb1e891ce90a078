"""The proxy's use of tornado internals (jupyter_spaces/domain/proxy/tornado_compat.py)
holds on the installed tornado: a release that moves them fails here, by name, rather
than somewhere deep in a proxied request."""

import tornado

from jupyter_spaces.domain.proxy import tornado_compat


def test_installed_tornado_has_every_internal_the_proxy_uses():
    assert tornado_compat.problems() == [], f"tornado {tornado.version}: the proxy needs adapting"


def test_pyproject_bounds_tornado_to_the_supported_range():
    import re
    from pathlib import Path

    text = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    low, high = tornado_compat.SUPPORTED
    assert re.search(rf'"tornado>={low[0]}\.{low[1]},<{high[0]}"', text)

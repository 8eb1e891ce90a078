"""A space serves its static files, favicons included, under its real base_url.

A space's base_url is ``/spaces/<name>/`` and names have dashes. tornado registers
its own static rules (``static/``, ``favicon.ico``, ``robots.txt``) with the prefix
``re.escape``'d (``/spaces/demo\\-space/static/(.*)``); the route table once failed to
recognise them, so the space refused its own favicons to everyone (issue 16).
"""

import pytest

from .conftest import SPACE


@pytest.fixture
def jp_base_url():
    return f"/spaces/{SPACE}/"


@pytest.mark.parametrize("role", ["viewer", "editor", "owner"])
@pytest.mark.parametrize("path", ["static/favicons/favicon.ico", "static/favicons/favicon-busy-1.ico"])
async def test_favicons_are_served_to_every_role(fetch, role, path):
    assert "-" in SPACE  # the case that failed
    r = await fetch(path, role=role)
    assert r.code == 200, r.body[:200]
    assert r.headers["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")


async def test_unsigned_static_request_is_still_refused(fetch):
    r = await fetch("static/favicons/favicon.ico", role=None)
    assert r.code == 403


@pytest.mark.parametrize("role", ["viewer", "editor", "owner"])
async def test_favicon_under_the_base_url_is_served_and_robots_txt_is_not_found(fetch, role):
    """jupyter_server's own rule for these two dropped the connection under a base_url."""
    r = await fetch("favicon.ico", role=role)
    assert r.code == 200 and r.headers["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert (await fetch("robots.txt", role=role)).code == 404
    assert (await fetch("favicon.ico", role=None)).code == 403

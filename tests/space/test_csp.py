"""A space's pages ask for no CSP reports.

The browser would POST them to the space without an XSRF header, which the domain's
proxy refuses: every report was a 403 in the console and the domain's log. The policy
(``frame-ancestors 'self'``) stays on every response.
"""

import pytest


@pytest.mark.parametrize(
    ("path", "status"), [("api/contents", 200), ("static/favicons/favicon.ico", 200), ("no-such-page", 404)]
)
async def test_no_report_uri_and_the_policy_stays(fetch, path, status):
    r = await fetch(path, role="viewer")
    assert r.code == status, r.body[:200]
    policy = r.headers["Content-Security-Policy"]
    assert "report-uri" not in policy
    assert "frame-ancestors 'self'" in policy

"""CI's JUPYTER_SPACES_NO_SKIPS=1: a skipped test fails the run (the hook in tests/conftest.py)."""

import pytest

pytest_plugins = ["pytester"]


@pytest.mark.parametrize(("env", "outcome"), [("1", {"failed": 1}), ("", {"skipped": 1})])
def test_a_skip_fails_when_ci_says_so(pytester, monkeypatch, env, outcome):
    monkeypatch.setenv("JUPYTER_SPACES_NO_SKIPS", env)
    pytester.makeconftest("from tests.conftest import pytest_runtest_makereport  # noqa: F401\n")
    pytester.makepyfile("import pytest\n\ndef test_needs_a_frobnicator():\n    pytest.skip('no frobnicator')\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(**outcome)

import os
import shutil
import time

import pytest

from tests.installed import build_wheel, make_venv, package_dir

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture(scope="session")
def project_wheel(tmp_path_factory) -> str:
    """The project's wheel, built once per session as ``pip install <checkout>`` builds it."""
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def installed_python(project_wheel, tmp_path_factory) -> str:
    """The python of a fresh venv with the project installed from its wheel (non-editable),
    built once per session: the interpreter every test's space servers run on (the
    launcher's image, or a subprocess), so that what users install is what is tested,
    not the checkout's editable install. (The domain server of most tests runs
    in-process, pytest-jupyter, on the checkout; test_environments runs whole domains
    from venvs.) Fails, never skips, when it cannot be built: CI installs what it needs."""
    started = time.monotonic()
    root = tmp_path_factory.mktemp("installed")
    python = make_venv(root / "venv", project_wheel)
    where = package_dir(python)
    assert where.startswith(str(root / "venv") + "/"), f"{python} imports jupyter_spaces from {where}"
    print(f"installed_python: wheel and venv in {time.monotonic() - started:.1f} s")
    yield python
    shutil.rmtree(root, ignore_errors=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With JUPYTER_SPACES_NO_SKIPS=1 (CI: the machine installs everything), a skipped test
    is a failure: a sandbox, cgroup, R or PostgreSQL test that did not run proves nothing."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("JUPYTER_SPACES_NO_SKIPS") == "1" and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped, and JUPYTER_SPACES_NO_SKIPS=1 makes that a failure: {reason}"

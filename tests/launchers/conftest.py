"""Fixtures for launcher tests: a LocalLauncher on temporary volumes and run dirs.

Every launcher gets its own run_dir, hence its own cgroup parent
(``jupyter-spaces-<hash of run_dir>``), so tests never touch each other's
spaces, nor those of other test sessions on the same host.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from jupyter_spaces.domain.agent import space_agent
from jupyter_spaces.launchers.base import Image, InstanceType, LaunchSpec


@pytest.fixture
def launcher_dirs(tmp_path):
    vol = tmp_path / "volumes"
    run = tmp_path / "run"
    vol.mkdir()
    run.mkdir()
    return str(vol), str(run)


@pytest.fixture
def make_launcher(launcher_dirs):
    from jupyter_spaces.launchers.local import LocalLauncher

    made = []

    def make(**kw):
        vol, run = launcher_dirs
        launcher = LocalLauncher(volumes_dir=vol, run_dir=run, **kw)
        made.append(launcher)
        return launcher

    yield make
    # leave nothing behind, even when a test failed half-way
    if made:
        asyncio.run(made[-1].discard())


@pytest.fixture
def launcher(make_launcher):
    return make_launcher()


@pytest.fixture
def image(installed_python):
    """The project installed from its wheel into a fresh venv (tests/conftest.py)."""
    return Image("default", "Default", "the project installed in a venv", installed_python)


SMALL = InstanceType("small", "Small", cpus=1, memory_gb=1, max_processes=256)


@pytest.fixture
def spec(image):
    def make(space: str, instance_type: InstanceType = SMALL, **kw) -> LaunchSpec:
        return LaunchSpec(
            space=space,
            app_type="jupyterlab",
            instance_type=instance_type,
            image=image,
            volume_gb=kw.pop("volume_gb", 1),
            base_url=f"/spaces/{space}/",
            secret=kw.pop("secret", os.urandom(24).hex()),
            agent_config=kw.pop("agent_config", {}),
            env=kw.pop("env", {}),
            agent=space_agent(space),
        )

    return make


@pytest.fixture
def require_root_sandbox(launcher):
    """Skip unless the host gives the launcher its full isolation."""
    h = launcher.host
    if not h.root:
        pytest.skip("needs root (own uid per space, loop-mounted volumes)")
    if not h.sandbox:
        pytest.skip(f"bubblewrap unusable on this host: {h.bwrap_reason}")
    return launcher


@pytest.fixture
def require_cgroups(launcher):
    missing = [c.name + ": " + c.reason for c in launcher.capabilities()
               if c.name in ("memory limit", "process limit") and not c.available]
    if missing:
        pytest.skip("cgroup limits unavailable on this host: " + "; ".join(missing))
    return launcher


@pytest.fixture
def require_images(launcher):
    if not launcher.host.loop_images:
        pytest.skip(f"ext4 image volumes unavailable on this host: {launcher.host.loop_reason}")
    return launcher

"""The session's two-node Slurm cluster (``tests/slurm/cluster.py``)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.domain.conftest import client, domain, lifecycle, service, world  # noqa: F401 (the domain's fixtures)

from .cluster import SlurmCluster, slurm_installed


def make_root() -> Path:
    """A fresh directory for one cluster. Not under pytest's tmp dir: munged wants every
    directory above its socket searchable by all, and pytest's is root-only."""
    root = Path(tempfile.mkdtemp(prefix="jupyter-spaces-slurm-"))
    root.chmod(0o755)
    return root


def require_slurm() -> None:
    missing = slurm_installed()
    if missing:
        pytest.fail(f"Slurm is not installed ({missing} missing): run scripts/install-test-deps.sh")


@pytest.fixture(scope="session")
def slurm_cluster():
    """Two nodes (n1, n2), one CPU and 2 GB each, one partition; all stopped afterwards."""
    require_slurm()
    root = make_root()
    cluster = SlurmCluster.two_nodes(root).start()
    try:
        yield cluster
    finally:
        cluster.stop()
        left = cluster.leftovers()
        shutil.rmtree(root, ignore_errors=True)
        assert not left, f"the Slurm cluster left processes running: {left}"

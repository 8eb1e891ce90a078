"""The domain's settings reach the server: default role of non-members, default data directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_spaces.domain.config import DomainConfig


@pytest.fixture
def jp_server_config(jp_server_config):
    jp_server_config["DomainApp"]["default_role"] = "viewer"
    return jp_server_config


async def test_non_members_get_the_configured_default_role(client, world):
    space = (await client.api("GET", "spaces/team-proj", who="other")).json()
    assert space["role"] == "viewer"
    r = await client.api("POST", "spaces/team-proj/start", who="other")
    assert r.status == 403 and r.json()["reason"] == "forbidden", r.text
    # Members keep their own role.
    assert (await client.api("GET", "spaces/team-proj", who="editor")).json()["role"] == "editor"


def test_data_dir_defaults_to_spaces_under_the_jupyter_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path))
    assert Path(DomainConfig().data_dir) == tmp_path / "spaces"

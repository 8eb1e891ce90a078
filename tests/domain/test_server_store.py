"""The domain server and its store: migrated on start, used off the event loop.

The server here starts on a store left at the first schema revision, with a user,
a token and a space in it (as an older release would have left it).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import datetime, timezone

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import column, insert, table, text

from jupyter_spaces.domain.accounts import token_digest
from jupyter_spaces.domain.store import MIGRATIONS, Store, sqlite_url

LATEST = max(p.name[:4] for p in (MIGRATIONS / "versions").glob("[0-9]*.py"))
OLD_TOKEN = "an-api-token-made-before-the-upgrade-0123456789"


def seed_first_revision(data_dir) -> None:
    data_dir.mkdir(parents=True)
    store = Store(sqlite_url(data_dir / "spaces.sqlite"))
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    now = datetime.now(timezone.utc)
    with store.write_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        rows = {
            "users": dict(id=1, name="early", display_name="Early Bird", initials="EB", color="#1f77b4",
                          admin=False, created=now),
            "tokens": dict(id=1, user_id=1, kind="api", digest=token_digest(OLD_TOKEN), note="old", created=now),
            "spaces": dict(id=1, name="early-space", display_name="Early", owner_id=1, sharing="private",
                           app_type="jupyterlab", instance_type="small", image="default", volume_gb=5,
                           idle_timeout_minutes=60, status="stopped", created=now, updated=now,
                           last_activity=now, volume_used_bytes=0),
        }
        for name, row in rows.items():
            conn.execute(insert(table(name, *map(column, row))).values(**row))
    store.close()


@pytest.fixture
def jp_server_config(jp_server_config, tmp_path):
    seed_first_revision(tmp_path / "domain")
    return jp_server_config


async def test_start_applies_the_migrations_and_keeps_the_data(client, service, world):
    with service.store.read() as s:
        assert s.execute(text("SELECT version_num FROM alembic_version")).scalar() == LATEST
    r = await client.api("GET", "me", headers={"Authorization": f"token {OLD_TOKEN}"})
    assert r.status == 200 and r.json()["display_name"] == "Early Bird", r.text
    r = await client.api("GET", "spaces/early-space", headers={"Authorization": f"token {OLD_TOKEN}"})
    assert r.status == 200 and r.json()["owner"] == "early", r.text


async def test_a_store_call_that_waits_does_not_block_the_event_loop(client, service, world, tmp_path):
    """A write waiting for the store's lock (held by another process, as the CLI may) waits
    in a thread: the loop keeps ticking and other requests are answered meanwhile."""
    for who in ("owner", "viewer"):  # token bookkeeping written now, not under the lock
        assert (await client.api("GET", "me", who=who)).status == 200
    other = sqlite3.connect(tmp_path / "domain" / "spaces.sqlite", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        create = asyncio.ensure_future(
            client.api("POST", "spaces", who="owner", body={"name": "waits", "sharing": "private",
                                                             "app_type": "jupyterlab"})
        )
        worst, deadline = 0.0, time.monotonic() + 3
        while time.monotonic() < deadline:
            before = time.monotonic()
            await asyncio.sleep(0.05)
            worst = max(worst, time.monotonic() - before)
        assert worst < 1.0, f"the event loop stalled for {worst:.1f} s"
        r = await client.api("GET", "spaces/team-proj", who="viewer")
        assert r.status == 200, r.text
        assert not create.done(), "the create did not wait for the lock"
    finally:
        other.execute("ROLLBACK")
        other.close()
    r = await asyncio.wait_for(create, 30)
    assert r.status == 201, r.text

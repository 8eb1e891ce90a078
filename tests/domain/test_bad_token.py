"""A token that matches nobody is called what it is, not "log in" or "Forbidden"."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "how", [{"headers": {"Authorization": "token not-a-real-token"}}, {"query": "?token=not-a-real-token"}]
)
async def test_an_unknown_token_is_not_valid(client, service, world, how):
    r = await client.request("GET", "spaces/api/me" + how.get("query", ""), headers=how.get("headers"))
    assert r.status == 403
    body = r.json()
    assert body["reason"] == "invalid_token"
    assert body["message"].startswith("The API token is not valid"), body


async def test_no_token_at_all_asks_to_log_in(client, service, world):
    r = await client.request("GET", "spaces/api/me")
    assert r.status == 403
    assert r.json() == {"message": "Log in first.", "reason": "forbidden"}

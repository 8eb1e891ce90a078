"""The members list says what everyone else may do in a shared space: the domain's default_role."""

from __future__ import annotations


async def test_members_list_names_the_role_of_non_members(client, service, world):
    r = await client.api("GET", "spaces/team-proj/members", who="other")
    assert r.status == 200, r.text
    assert r.json()["default_role"] == "editor"  # the domain's default

    service.default_role = "viewer"
    r = await client.api("GET", "spaces/team-proj/members", who="other")
    assert r.json()["default_role"] == "viewer"
    # and it is what a non-member is in fact given
    r = await client.api("GET", "spaces/team-proj", who="other")
    assert r.json()["role"] == "viewer"


async def test_a_private_space_has_no_default_role(client, service, world):
    r = await client.api("GET", f"spaces/{world.private['owner']}/members", who="owner")
    assert r.status == 200, r.text
    assert r.json()["default_role"] is None

"""A space's status events say who or what stopped it (a page in the space tells its
users): its owner, another user, an administrator, or a failure (idle shutdown:
tests/domain/test_lifecycle.py). Against a real domain server, read as one of its users."""

from __future__ import annotations


import pytest

from tests.domain.test_feed import Feed

SHARED = "team-proj"


@pytest.fixture
def space_stream(client, jp_http_port, jp_base_url):
    def opened(name: str, who: str) -> Feed:
        return Feed(f"http://127.0.0.1:{jp_http_port}{jp_base_url}spaces/api/spaces/{name}/events", client.tokens[who])

    return opened


def status(wanted):
    return lambda e, d: e == "status" and d["status"] == wanted


async def stop_running(client, domain, service, who):
    """``who`` stops the space, which runs as far as the domain knows."""
    await domain.lifecycle.settle()
    service.transition(SHARED, status="running")
    r = await client.api("POST", f"spaces/{SHARED}/stop", who=who)
    assert r.status == 202, r.text


async def test_the_stream_says_who_stopped_the_space(client, world, domain, service, space_stream):
    async with space_stream(SHARED, "viewer") as vera:
        _, first = await vera.next(timeout=10)
        assert first["status"] == "stopped" and first["stopped_by"] is None

        await stop_running(client, domain, service, "admin")
        _, data = await vera.next(status("stopping"))
        assert data["stopped_by"] == {"kind": "admin", "user": "root"}
        _, data = await vera.next(status("stopped"))
        assert data["stopped_by"] == {"kind": "admin", "user": "root"}

        # A start forgets it; a start that fails says so.
        assert (await client.api("POST", f"spaces/{SHARED}/start", who="editor")).status == 202
        _, data = await vera.next(status("starting"))
        assert data["stopped_by"] is None
        _, data = await vera.next(status("failed"), timeout=10)
        assert data["stopped_by"] == {"kind": "failure"} and data["failure_reason"]

        await stop_running(client, domain, service, "editor")
        _, data = await vera.next(status("stopping"))
        assert data["stopped_by"] == {"kind": "user", "user": "eddie"}

        await stop_running(client, domain, service, "owner")
        _, data = await vera.next(status("stopping"))
        assert data["stopped_by"] == {"kind": "owner", "user": "alice"}
        await vera.next(status("stopped"))

    # A stream opened later hears it first thing.
    async with space_stream(SHARED, "editor") as eddie:
        _, data = await eddie.next(timeout=10)
        assert data["status"] == "stopped" and data["stopped_by"] == {"kind": "owner", "user": "alice"}

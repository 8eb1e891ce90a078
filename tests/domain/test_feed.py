"""The domain-wide feed (``GET spaces/api/events``) against a real domain server: what
another user changes through the API arrives within a second, a caller never sees more
than their listing shows, a change of access closes the stream, a reconnect gets the
state of now, and what another process changes arrives by the keep-alive."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

import httpx
import pytest

from jupyter_spaces.domain.handlers.feed import FeedHandler
from jupyter_spaces.domain.schemas import SpaceCreate
from jupyter_spaces.domain.service import SYSTEM

SHARED = "team-proj"


class Feed:
    """One open event stream, read in the background while in ``async with``:
    ``events`` as ``(event, data)``."""

    def __init__(self, url: str, token: str):
        self.url, self.token = url, token
        self.events: list[tuple[str, dict]] = []
        self.text = ""  # all of it, raw (to look for what must never be there)
        self.status: int | None = None
        self.closed = asyncio.Event()
        self._arrived = asyncio.Event()
        self._seen = 0

    async def __aenter__(self) -> Feed:
        self._task = asyncio.ensure_future(self._read())
        return self

    async def __aexit__(self, *exc) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _read(self):
        try:
            async with httpx.AsyncClient(timeout=httpx.Timeout(5, read=None)) as http, http.stream(
                "GET", self.url, headers={"Authorization": f"token {self.token}"}
            ) as r:
                self.status = r.status_code
                event = None
                async for line in r.aiter_lines():
                    self.text += line + "\n"
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: "):
                        self.events.append((event, json.loads(line[6:])))
                        self._arrived.set()
        except httpx.HTTPError:
            pass  # closed by the server
        finally:
            self.closed.set()
            self._arrived.set()

    async def next(self, match=lambda e, d: True, timeout: float = 30.0) -> tuple[str, dict]:
        """The next unseen event that ``match``es (a generous ``timeout``: a slow machine is no failure)."""
        deadline = time.monotonic() + timeout
        while True:
            while self._seen < len(self.events):
                event, data = self.events[self._seen]
                self._seen += 1
                if match(event, data):
                    return event, data
            left = deadline - time.monotonic()
            if left <= 0 or self.closed.is_set():
                pytest.fail(f"no matching event within {timeout} s; got {self.events[-5:]}")
            self._arrived.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)

    async def wait_text(self, part: str, since: int = 0, timeout: float = 30.0) -> None:
        """Until ``part`` is in what the feed sent after ``since`` (a length of ``text``)."""
        deadline = time.monotonic() + timeout
        while part not in self.text[since:]:
            assert time.monotonic() < deadline and not self.closed.is_set(), f"no {part!r} in {self.text[-500:]!r}"
            self._arrived.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), 0.1)

    def keepalives_before(self, event: tuple[str, dict], since: int) -> int:
        """Keep-alive comments between ``since`` (a length of ``text``) and ``event``."""
        at = self.text.index(f"data: {json.dumps(event[1])}", since)
        return self.text.count(": keep-alive", since, at)

    def snapshot(self) -> dict[str, dict]:
        event, data = self.events[0]
        assert event == "snapshot"
        return {s["name"]: s for s in data["items"]}


@pytest.fixture
def open_feed(client, jp_http_port, jp_base_url):
    @contextlib.asynccontextmanager
    async def opened(who: str):
        async with Feed(f"http://127.0.0.1:{jp_http_port}{jp_base_url}spaces/api/events", client.tokens[who]) as feed:
            await feed.next(lambda e, d: e == "snapshot", timeout=10)
            feed._seen = 1
            yield feed

    return opened


def space(name):
    return lambda e, d: e == "space" and d["name"] == name


async def listing(client, who) -> dict[str, dict]:
    return {s["name"]: s for s in (await client.api("GET", "spaces?limit=500", who=who)).json()["items"]}


async def test_changes_by_others_arrive(client, world, domain, service, open_feed):
    async with open_feed("viewer") as vera, open_feed("other") as otto:
        assert vera.snapshot() == await listing(client, "viewer")
        assert vera.snapshot()[SHARED]["role"] == "viewer"

        async def arrives(feed, match, action):
            r = await action
            assert r.status < 300, r.text
            return await feed.next(match)

        # settings, by the owner
        _, data = await arrives(vera, space(SHARED), client.api("PATCH", f"spaces/{SHARED}", who="owner",
                                                                body={"display_name": "Team Project"}))
        assert data["display_name"] == "Team Project" and data["role"] == "viewer"
        # a start by an editor (this domain's image cannot launch: it fails, and says why)
        _, data = await arrives(vera, space(SHARED), client.api("POST", f"spaces/{SHARED}/start", who="editor"))
        assert data["status"] == "starting"
        _, data = await vera.next(lambda e, d: e == "space" and d["status"] == "failed", timeout=10)
        assert data["failure_reason"]
        # a stop by an admin (of a space that runs, as far as the domain knows)
        await domain.lifecycle.settle()
        service.transition(SHARED, status="running")
        _, data = await arrives(vera, space(SHARED), client.api("POST", f"spaces/{SHARED}/stop", who="admin"))
        assert data["status"] in ("stopping", "stopped")
        await vera.next(lambda e, d: e == "space" and d["status"] == "stopped")
        # members: otto's role in the space is his membership's, and the default again once removed
        # (what went before, the changes above as otto sees them, may still be arriving:
        # the event awaited is the one with the new role)
        _, data = await arrives(otto, lambda e, d: space(SHARED)(e, d) and d["role"] == "viewer",
                                client.api("PUT", f"spaces/{SHARED}/members/otto", who="owner",
                                           body={"role": "viewer"}))
        assert data["role"] == "viewer"
        _, data = await arrives(otto, space(SHARED), client.api("DELETE", f"spaces/{SHARED}/members/otto",
                                                                who="owner"))
        assert data["role"] == "editor"  # the domain's default role
        # a new space, and a deletion
        _, data = await arrives(otto, space("fresh"), client.api("POST", "spaces", who="editor", body={
            "name": "fresh", "sharing": "shared", "app_type": "jupyterlab"}))
        assert data["owner"] == "eddie" and data["role"] == "editor"
        await domain.lifecycle.settle()
        _, data = await arrives(vera, lambda e, d: e == "deleted", client.api("DELETE", f"spaces/{SHARED}",
                                                                              who="owner"))
        assert data == {"name": SHARED}
        # what each feed shows is what each listing shows (once the last events are in)
        for who, feed in (("viewer", vera), ("other", otto)):
            deadline = time.monotonic() + 30
            while True:
                shown = feed.snapshot()
                for event, data in feed.events[1:]:
                    if event == "space":
                        shown[data["name"]] = data
                    elif event == "deleted":
                        shown.pop(data["name"])
                listed = await listing(client, who)
                if shown == listed or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.1)
            assert shown == listed


async def test_private_spaces_of_others_never_show(client, world, domain, service, open_feed):
    private = world.private["owner"]
    async with open_feed("other") as otto, open_feed("admin") as root, open_feed("owner") as alice:
        assert private not in otto.text
        assert root.snapshot() == await listing(client, "admin")
        assert root.snapshot()[private]["role"] is None and root.snapshot()[private]["url"] is None
        await client.api("PATCH", f"spaces/{private}", who="owner", body={"display_name": "Diary"})
        await client.api("POST", f"spaces/{private}/start", who="owner")
        await alice.next(lambda e, d: e == "progress" and d["name"] == private, timeout=10)
        await alice.next(lambda e, d: e == "space" and d["name"] == private and d["status"] == "failed", timeout=10)
        # The admin sees the entry change as the admin listing shows it, and no progress.
        _, data = await root.next(lambda e, d: e == "space" and d["name"] == private and d["status"] == "failed")
        assert data == (await listing(client, "admin"))[private]
        # Everyone else: nothing at all (a change of the shared space does arrive).
        await client.api("PATCH", f"spaces/{SHARED}", who="owner", body={"display_name": "Later"})
        await otto.next(space(SHARED))
        await root.next(space(SHARED))
        assert private not in otto.text and "Diary" not in otto.text
        assert not [d for e, d in root.events if e == "progress"]


async def test_access_taken_away_closes_the_feed_and_a_reconnect_shows_what_is_left(
    client, world, open_feed
):
    private = world.private["owner"]
    r = await client.api("PATCH", "users/otto", who="admin", body={"admin": True})
    assert r.status == 200
    async with open_feed("other") as otto:
        assert private in otto.snapshot()  # as an admin: its metadata
        assert (await client.api("PATCH", "users/otto", who="admin", body={"admin": False})).status == 200
        # A bound on purpose: README promises that access taken away ends what it opened
        # within a second.
        await asyncio.wait_for(otto.closed.wait(), 1.0)
    async with open_feed("other") as otto:
        assert private not in otto.text
        assert otto.snapshot() == await listing(client, "other")
    # A revoked token ends the stream it opened.
    r = await client.api("POST", "users/otto/tokens", who="other", body={"note": "feed"})
    client.tokens["feed"] = r.json()["token"]
    async with open_feed("feed") as feed:
        assert (await client.api("DELETE", f"users/otto/tokens/{r.json()['id']}", who="other")).status == 204
        await asyncio.wait_for(feed.closed.wait(), 1.0)


async def test_a_reconnect_gets_the_current_state(client, world, open_feed):
    async with open_feed("viewer") as vera:
        before = vera.snapshot()
    await client.api("PATCH", f"spaces/{SHARED}", who="owner", body={"display_name": "While away"})
    await client.api("POST", "spaces", who="editor", body={"name": "new-one", "sharing": "shared",
                                                          "app_type": "jupyterlab"})
    async with open_feed("viewer") as vera:
        now = vera.snapshot()
    assert before[SHARED]["display_name"] == SHARED and now[SHARED]["display_name"] == "While away"
    assert "new-one" not in before and now["new-one"]["role"] == "editor"
    assert now == await listing(client, "viewer")


async def test_what_another_process_changes_arrives_by_the_keep_alive(client, world, service, open_feed, monkeypatch):
    """The CLI writes the store, not this server: the feed reads everything anew at each keep-alive."""
    monkeypatch.setattr(FeedHandler, "keepalive_seconds", 0.5)
    async with open_feed("viewer") as vera:
        # The promise is "by the next keep-alive", counted in the stream, not in seconds:
        # at most one keep-alive (a resync that read the store just before the write)
        # between a change and its event.
        since = len(vera.text)
        await asyncio.to_thread(service.create_space, SYSTEM, SpaceCreate(
            name="from-cli", sharing="shared", app_type="jupyterlab"), owner="otto")
        got = await vera.next(space("from-cli"))
        assert vera.keepalives_before(got, since) <= 1, vera.text[since:]
        assert got[1] == (await listing(client, "viewer"))["from-cli"]
        since = len(vera.text)
        await asyncio.to_thread(service.begin_delete, SYSTEM, "from-cli")
        await asyncio.to_thread(service.finish_delete, "from-cli")
        got = await vera.next(lambda e, d: e == "deleted")
        assert vera.keepalives_before(got, since) <= 1, vera.text[since:]
        assert got[1] == {"name": "from-cli"}
        since = len(vera.text)
        await vera.wait_text(": keep-alive", since)  # nothing new: a keep-alive comment
        assert "event:" not in vera.text[since:]

"""``GET spaces/api/events``: the domain-wide feed of the spaces the caller sees (see ..feed)."""

import asyncio
import json
import time

from jupyter_server.auth.decorator import authorized
from tornado import web
from tornado.iostream import StreamClosedError

from .. import feed
from .streams import EventStreamHandler


class FeedHandler(EventStreamHandler):
    """Server-sent events: first ``snapshot`` (``{items}``: every space the caller sees,
    as the listing shows it), then ``space``, ``deleted`` and ``progress`` as they happen.

    Changes made through this domain arrive at once; changes by other processes (the
    CLI) at the next keep-alive, when the feed reads everything anew. A change of the
    caller's access (admin rights, sign-out, token, account) closes the stream: the
    client reconnects and gets the state it now may see.
    """

    @web.authenticated
    @authorized
    async def get(self):
        hub = self.domain.lifecycle.hub
        queue = hub.subscribe_all()  # before the first read, so no change between is lost
        self.start_stream()
        try:
            view = feed.FeedView(await self._visible())
            await self._send([("snapshot", {"items": view.items()})])
            while True:
                await self._send(await self._next(queue, view))
        except StreamClosedError:
            pass
        finally:
            hub.unsubscribe_all(queue)

    async def _visible(self):
        return await self.call(feed.visible, self.domain.service, self.caller)

    async def _next(self, queue, view: feed.FeedView) -> list:
        """The next events; a keep-alive, after reading everything anew, every ``keepalive_seconds``."""
        resync_at = time.monotonic() + self.keepalive_seconds
        while True:
            try:
                space_id, name, event, data = await asyncio.wait_for(
                    queue.get(), max(0.0, resync_at - time.monotonic())
                )
            except asyncio.TimeoutError:
                events = view.resync(await self._visible())
                if events:
                    return events
                self.write(": keep-alive\n\n")
                await self.flush()
                resync_at = time.monotonic() + self.keepalive_seconds
                continue
            if event == "resync":
                events = view.resync(await self._visible())
            elif event == "progress":
                events = view.progress(space_id, data)
            else:
                found = await self.call(feed.visible_named, self.domain.service, self.caller, name)
                events = view.named(name, found)
            if events:
                return events

    async def _send(self, events: list) -> None:
        for event, data in events:
            self.write(f"event: {event}\ndata: {json.dumps(data)}\n\n")
        await self.flush()


handlers = [(r"/spaces/api/events", FeedHandler)]

"""Spaces that run: the domain side of start, stop, resize, delete, idle shutdown and crashes.

``Lifecycle`` drives the launcher and keeps each space's ``status`` true:
``stopped → starting → running → stopping → stopped``, ``updating`` while a volume
is resized, ``deleting``, and ``failed`` with a ``failure_reason`` a user can act on.
The store is the record (a restarted domain re-adopts what still runs); progress and
status changes go out to the ``events`` stream subscribers through ``EventHub``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections import defaultdict
from datetime import datetime, timezone

from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from .. import signing
from ..errors import Conflict
from ..launchers.base import Launcher, LaunchError, LaunchSpec, VolumeTooSmall
from .agent import space_agent
from .schemas import SpaceUpdate
from .service import status_of

log = logging.getLogger("jupyter_spaces.lifecycle")

# How the domain appears to a space server when it asks about activity.
DOMAIN_IDENTITY = {
    "name": "jupyter-spaces-domain",
    "display_name": "Jupyter Spaces",
    "initials": "JS",
    "color": "#616161",
    "role": "viewer",
}


#: The statuses whose events say who or what stopped the space.
STOP_STATUSES = ("stopping", "stopped", "failed")


def stopped_by(caller, role: str | None) -> dict:
    """Who stopped a space: its owner, an administrator (any admin but the owner; the
    CLI is the domain's ``system``), or another user (an editor)."""
    if role == "owner":
        kind = "owner"
    elif caller.admin:
        kind = "admin"
    else:
        kind = "user"
    return {"kind": kind, "user": caller.name}


def human_bytes(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024


class EventHub:
    """Per-space fan-out of ``(event, data)`` to the open events streams.

    Keyed by the space's id, not its name: a stream of a deleted space gets a last
    ``deleted`` status (``end``) and nothing of a later space with the same name.

    The domain-wide feeds (``subscribe_all``) get ``(space_id, name, event, data)`` of
    every space, and ``changed`` notices of what no status event announces (settings,
    members, activity, a new space); each feed decides what its caller may see of them.
    """

    #: A feed this far behind has missed changes: it re-reads everything it shows.
    FEED_QUEUE = 1024

    def __init__(self):
        self._queues: dict[int, set[asyncio.Queue]] = defaultdict(set)
        self._feeds: set[asyncio.Queue] = set()

    def subscribe_all(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=self.FEED_QUEUE)
        self._feeds.add(queue)
        return queue

    def unsubscribe_all(self, queue: asyncio.Queue) -> None:
        self._feeds.discard(queue)

    def changed(self, name: str, space_id: int | None = None) -> None:
        """Something of space ``name`` changed that no status event tells (or it is new)."""
        self._to_feeds(space_id, name, "changed", {"name": name})

    def _to_feeds(self, space_id: int | None, name: str, event: str, data: dict) -> None:
        for queue in list(self._feeds):
            if queue.full():  # too far behind: drop what waits, the reader resyncs
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait((None, None, "resync", {}))
            queue.put_nowait((space_id, name, event, data))

    def subscribe(self, space_id: int) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=256)
        self._queues[space_id].add(queue)
        return queue

    def unsubscribe(self, space_id: int, queue: asyncio.Queue) -> None:
        queues = self._queues.get(space_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._queues[space_id]

    def publish(self, space_id: int, event: str, data: dict, name: str | None = None) -> None:
        for queue in list(self._queues.get(space_id, ())):
            if queue.full():  # a stalled reader loses old progress, never the newest state
                queue.get_nowait()
            queue.put_nowait((event, data))
        self._to_feeds(space_id, name or data.get("name", ""), event, data)

    def end(self, space_id: int, name: str) -> None:
        """The space is deleted: each stream gets its last event, and the streams go."""
        self.publish(space_id, "status", {"name": name, "status": "deleted"})
        self._queues.pop(space_id, None)


class Lifecycle:
    #: Seconds between readings of running spaces' volume use.
    usage_interval = 30.0

    def __init__(
        self,
        service,
        launcher: Launcher,
        run,
        *,
        base_url: str,
        poll_interval: float = 1.0,
        idle_check_interval: float = 30.0,
        agent_config: dict | None = None,
        image_agent_config=None,
        max_concurrent_starts: int = 2,
        on_change=lambda name: None,
    ):
        self.service = service
        self._call = run  # runs a blocking service call off the event loop
        self.launcher = launcher
        self.base_url = base_url
        self.poll_interval = poll_interval
        self.idle_check_interval = idle_check_interval
        self.agent_config = agent_config or {}
        # image -> more agent settings for spaces on it (blocking; e.g. shared_assets)
        self.image_agent_config = image_agent_config
        self.hub = EventHub()
        self.on_change = on_change  # told of every status change (the proxy's cache)
        # Space servers start CPU-bound; too many at once and none answers in time.
        self._start_slots = asyncio.Semaphore(max_concurrent_starts)
        self._running: dict[str, dict] = {}  # name -> launcher state, polled for crashes
        self._started_at: dict[str, float] = {}
        self._activity: dict[str, float] = {}  # name -> last proxied request (time.time())
        self._tasks: dict[str, asyncio.Task] = {}  # the one start/stop task per space
        # name -> who or what stopped it, told in its status events (a page in the space
        # says so); in memory: a restarted domain's events say only that it is stopped.
        self._stop_causes: dict[str, dict] = {}
        self._loops: list[asyncio.Task] = []
        self._usage: dict[str, int] = {}  # name -> volume bytes last written while running

    async def _run(self, fn, *args, **kwargs):
        return await self._call(functools.partial(fn, *args, **kwargs))

    def with_cause(self, name: str, status: dict) -> dict:
        """A status event with ``stopped_by``: who or what stopped the space (None while
        it starts or runs, or when this domain process does not know)."""
        cause = self._stop_causes.get(name) if status.get("status") in STOP_STATUSES else None
        if status.get("status") == "failed" and cause is None:
            cause = {"kind": "failure"}
        return {**status, "stopped_by": cause}

    # -- the background -----------------------------------------------------------

    async def start(self) -> None:
        await self.adopt()
        self._loops = [
            asyncio.create_task(self._every(self.poll_interval, self.check_servers)),
            asyncio.create_task(self._every(self.idle_check_interval, self.check_idle)),
            asyncio.create_task(self._every(self.usage_interval, self.check_usage)),
        ]

    async def stop(self) -> None:
        """Stop watching. Running spaces keep running; the next domain re-adopts them."""
        for task in [*self._loops, *self._tasks.values()]:
            task.cancel()
        await asyncio.gather(*self._loops, *self._tasks.values(), return_exceptions=True)
        await self.flush_activity()

    async def _every(self, seconds: float, fn) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await fn()
            except Exception:
                log.exception("%s failed", fn.__name__)

    async def adopt(self) -> None:
        """After a (re)start: keep what still runs, mark the rest stopped, leave no orphan."""
        for row in await self._run(self.service.active_spaces):
            name, state = row["name"], row["launcher_state"] or {}
            alive = (
                row["status"] in ("running", "stopping")
                and row["server_url"]
                and await self.launcher.poll(name, state) is None
            )
            if alive:
                self._running[name] = state
                self._started_at[name] = time.time()
                await self._set(name, status="running")
                log.info("Re-adopted running space %s", name)
                continue
            if state:
                await self.launcher.stop(name, state)
            await self._set(name, status="stopped", server_url=None, secret=None, launcher_state=None)
            log.info("Space %s was %s when the domain stopped; it is stopped now", name, row["status"])
        await self.launcher.cleanup_orphans(dict(self._running))

    # -- actions ------------------------------------------------------------------

    async def start_space(self, caller, name: str) -> dict:
        space, launch = await self._run(self.service.begin_start, caller, name)
        if launch is not None:
            self._stop_causes.pop(name, None)
            self.on_change(name)
            self.hub.publish(launch["space_id"], "status", self.with_cause(name, status_of(space)))
            self._spawn(name, self._do_start(launch))
        return space

    async def stop_space(self, caller, name: str) -> dict:
        space, info = await self._run(self.service.begin_stop, caller, name)
        if info is not None:
            self._stop_causes[name] = stopped_by(caller, space["role"])
            self.on_change(name)
            self.hub.publish(info["space_id"], "status", self.with_cause(name, status_of(space)))
            starting = self._tasks.get(name) if info["cancel_start"] else None
            reason = "Start cancelled; the volume is kept" if info["cancel_start"] else None
            self._spawn(name, self._do_stop(info["space_id"], name, info["launcher_state"], reason, cancel=starting))
        return space

    async def update_space(self, caller, name: str, body: SpaceUpdate) -> dict:
        if body.volume_gb is None:
            space = await self._run(self.service.update_space, caller, name, body)
            self.hub.changed(name)
            return space
        prior = await self._run(self.service.begin_resize, caller, name, body)
        try:
            # Creates the volume at the new size if the space never ran, else resizes it.
            await self.launcher.create_volume(name, body.volume_gb)
        except VolumeTooSmall as e:
            await self._set(name, status=prior)
            await self._run(self.service.record, "space.resize", name, "conflict", volume_gb=body.volume_gb)
            raise Conflict(
                f"The space's files take {human_bytes(e.used_bytes)}; they do not fit in "
                f"{body.volume_gb} GiB. Delete files or choose a larger size.",
                detail={"volume_used_bytes": e.used_bytes},
            ) from e
        except LaunchError as e:
            await self._set(name, status=prior)
            raise Conflict(f"The volume could not be resized: {e.message}") from e
        used = await self._used_bytes(name)
        space = await self._run(self.service.update_space, caller, name, body, resized_from=prior)
        if used is not None:
            await self._set(name, volume_used_bytes=used)
            space["volume_used_bytes"] = used
        self.hub.changed(name)
        return space

    async def delete_space(self, caller, name: str) -> None:
        space_id = await self._run(self.service.begin_delete, caller, name)
        try:
            await self.launcher.delete_volume(name)
        except LaunchError as e:
            await self._set(name, status="failed", failure_reason=f"Deleting the volume failed: {e.message}")
            raise Conflict(f"Space {name!r} could not be deleted: {e.message}") from e
        await self._run(self.service.finish_delete, name)
        # What is remembered by name must not reach a new space with this name.
        self._activity.pop(name, None)
        self._stop_causes.pop(name, None)
        self._started_at.pop(name, None)
        self.on_change(name)
        self.hub.end(space_id, name)

    async def presence(self, caller, name: str) -> dict:
        """Who is in the space now (from its agent), once the policy lets the caller in."""
        target = await self._run(self.service.open_target, caller, name)
        if target["status"] != "running" or not target["server_url"]:
            return {"items": []}  # nobody is in a space that does not run
        path = f"{self.base_url}spaces/{name}/api/spaces-agent/presence"
        headers = signing.sign_request(target["secret"], name, "GET", path, target["identity"])
        try:
            resp = await AsyncHTTPClient().fetch(target["server_url"].rstrip("/") + path, headers=headers, request_timeout=5)
        except (HTTPClientError, OSError) as e:
            raise Conflict(f"Space {name!r} is not answering ({e}); try again in a moment.") from e
        return {
            "items": [
                {
                    "user": {k: p["username" if k == "name" else k] for k in ("name", "display_name", "initials", "color")},
                    "role": p["role"],
                    "documents": p["documents"],
                    "since": datetime.fromtimestamp(p["since"], timezone.utc).isoformat().replace("+00:00", "Z"),
                }
                for p in json.loads(resp.body)["items"]
            ]
        }

    async def settle(self) -> None:
        """Wait until no start or stop is in progress."""
        while self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    def note_activity(self, name: str) -> None:
        """Proxied traffic: cheap, in memory; written to the store now and then."""
        self._activity[name] = time.time()

    # -- the work -----------------------------------------------------------------

    def _spawn(self, name: str, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks[name] = task
        task.add_done_callback(lambda t: self._tasks.pop(name, None) if self._tasks.get(name) is t else None)

    def _progress(self, space_id: int, name: str):
        def progress(percent: int, message: str) -> None:
            self.hub.publish(space_id, "progress", {"percent": int(percent), "message": message}, name)

        return progress

    async def _set(self, name: str, **fields) -> dict | None:
        changed = await self._run(self.service.transition, name, **fields)
        if changed is None:
            return None
        space_id, status = changed
        if "status" in fields:
            self.on_change(name)
            status = self.with_cause(name, status)
            self.hub.publish(space_id, "status", status)
        else:
            self.hub.changed(name, space_id)  # activity, volume use: the feeds show them
        return status

    async def _do_start(self, launch: dict) -> None:
        name = launch["name"]
        progress = self._progress(launch["space_id"], name)
        try:
            if self._start_slots.locked():
                progress(0, "Waiting for other spaces to finish starting")
            async with self._start_slots:
                launched = await self._launch(name, launch, progress)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            reason = e.message if isinstance(e, LaunchError) else f"Unexpected error while starting: {e}"
            if not isinstance(e, LaunchError):
                log.exception("Starting space %s failed", name)
            await self._set(name, status="failed", failure_reason=reason, secret=None, server_url=None, launcher_state=None)
            await self._run(self.service.record, "space.started", name, "failed", reason=reason)
            return
        self._running[name] = launched.state
        self._started_at[name] = time.time()  # (the launcher said "Ready" at 100 %)
        await self._set(
            name, expect=("starting",), status="running", server_url=launched.url, launcher_state=launched.state
        )

    async def _launch(self, name: str, launch: dict, progress):
        progress(1, "Preparing the volume")
        await self.launcher.create_volume(name, launch["volume_gb"])
        spec = LaunchSpec(
            space=name,
            app_type=launch["app_type"],
            instance_type=launch["instance_type"],
            image=launch["image"],
            volume_gb=launch["volume_gb"],
            base_url=f"{self.base_url}spaces/{name}/",
            secret=launch["secret"],
            agent_config=await self._agent_config(launch["image"]),
            env={},
            agent=space_agent(name),
        )
        return await self.launcher.start(spec, progress)

    async def _agent_config(self, image) -> dict:
        if self.image_agent_config is None:
            return self.agent_config
        extra = await self._run(self.image_agent_config, image)
        merged = dict(self.agent_config)
        for section, values in extra.items():
            merged[section] = {**merged.get(section, {}), **values}
        return merged

    async def _do_stop(
        self, space_id: int, name: str, state: dict, reason: str | None = None, cancel: asyncio.Task | None = None
    ) -> None:
        progress = self._progress(space_id, name)
        if cancel is not None:
            progress(5, "Cancelling the start")
            cancel.cancel()  # the launcher undoes what it had done
            await asyncio.gather(cancel, return_exceptions=True)
        # a start that finished meanwhile left its state here
        state = self._running.pop(name, None) or state
        progress(10, "Stopping the space server")
        try:
            await self.launcher.stop(name, state)
        except Exception as e:
            log.exception("Stopping space %s failed", name)
            await self._set(name, status="failed", failure_reason=f"The space did not stop cleanly: {e}")
            return
        progress(80, "Releasing the compute; the volume is kept")
        used = await self._used_bytes(name)
        fields = {"volume_used_bytes": used} if used is not None else {}
        await self._set(name, status="stopped", server_url=None, secret=None, launcher_state=None, **fields)
        progress(100, reason or "Stopped")

    async def _used_bytes(self, name: str) -> int | None:
        try:
            return await self.launcher.volume_used_bytes(name)
        except LaunchError:
            return None

    # -- watching -----------------------------------------------------------------

    async def check_servers(self) -> None:
        """Notice within a poll interval when a space server has died."""
        for name, state in list(self._running.items()):
            status = await self.launcher.poll(name, state)
            if status is None or self._running.get(name) is not state:
                continue
            self._running.pop(name, None)
            reason = self.launcher.describe_exit(name, state, status)
            log.warning("Space %s: %s", name, reason)
            await self.launcher.stop(name, state)  # what is left of it: cgroup, mount
            await self._set(
                name, expect=("running",), status="failed", failure_reason=reason,
                server_url=None, secret=None, launcher_state=None,
            )
            await self._run(self.service.record, "space.crashed", name, "failed", reason=reason)

    async def check_usage(self) -> None:
        """Keep each running space's volume figure current (the listing, the feeds): read
        where it is cheap (the launcher's ``volume_used_bytes``), written when it moved by
        a MiB or 1 %. Without it the figure was the last stop's while the space ran."""
        for name in list(self._running):
            used = await self._used_bytes(name)
            if used is None or name not in self._running:
                continue
            known = self._usage.get(name)
            if known is None or abs(used - known) >= max(2**20, known // 100):
                self._usage[name] = used
                await self._set(name, volume_used_bytes=used)

    async def flush_activity(self) -> None:
        for name, when in list(self._activity.items()):
            await self._set(name, last_activity=datetime.fromtimestamp(when, timezone.utc))

    async def check_idle(self, now: float | None = None) -> None:
        """Stop running spaces with no kernel/terminal activity and no browser for their timeout."""
        await self.flush_activity()
        now = time.time() if now is None else now
        for row in await self._run(self.service.active_spaces):
            name, minutes = row["name"], row["idle_timeout_minutes"]
            if row["status"] != "running" or not minutes or name in self._tasks:
                continue
            last = max(self._activity.get(name, 0.0), self._started_at.get(name, now))
            server = await self._server_activity(row)
            if server is None:
                continue  # not answering: the crash check decides, not the idle check
            busy, server_last = server
            if busy:
                continue
            last = max(last, server_last)
            if now - last < minutes * 60:
                continue
            reason = f"Stopped after {minutes} minutes without activity"
            if (await self._run(self.service.transition, name, expect=("running",), status="stopping")) is None:
                continue
            self.on_change(name)
            self._stop_causes[name] = {"kind": "idle", "minutes": minutes}
            status = {"name": name, "status": "stopping", "failure_reason": None}
            self.hub.publish(row["id"], "status", self.with_cause(name, status))
            await self._run(self.service.record, "space.idle_stop", name, minutes=minutes)
            self._spawn(name, self._do_stop(row["id"], name, row["launcher_state"] or {}, reason))

    async def _server_activity(self, row: dict) -> tuple[bool, float] | None:
        """(has a connected browser/kernel connection, last kernel or terminal activity)."""
        path = f"{self.base_url}spaces/{row['name']}/api/status"
        headers = signing.sign_request(row["secret"], row["name"], "GET", path, DOMAIN_IDENTITY)
        try:
            resp = await AsyncHTTPClient().fetch(row["server_url"].rstrip("/") + path, headers=headers, request_timeout=5)
        except (HTTPClientError, OSError):
            return None
        status = json.loads(resp.body)
        last = datetime.fromisoformat(status["last_activity"].replace("Z", "+00:00")).timestamp()
        return status.get("connections", 0) > 0, last

"""The gate in front of a space's app (Code Editor, MLflow): ``python -I -m
jupyter_spaces.launchers.insandbox.appgate --space S --app A --port P --base-url B
--secret-fd N --program PATH``.

Inside the sandbox, in place of JupyterLab: it starts the app (``apps.App.command``) in
a process group of its own, listening on a unix socket in the private ``/tmp``; once
the app answers its readiness path it listens on ``127.0.0.1:P`` as a space server
would, and for every request

- checks the domain's signature (``signing.Verifier``, the secret read from the
  inherited pipe ``--secret-fd``), as the space agent does: 403 otherwise;
- answers the agent's routes itself: ``<base>api/spaces-agent/identity`` (the
  launcher's readiness probe), ``<base>api/status`` (the domain's idle check:
  the app's heartbeat file, else the last request relayed) and
  ``<base>api/spaces-agent/presence`` (who is in: an open websocket, or a request
  relayed in the last two minutes);
- refuses a viewer what the app's viewer rule does not allow (403 with the reason);
- writes the signed caller into the JSON body of the app's ``caller_routes``, where
  the app would take its client's word for who acts (MLflow's run author);
- relays the request to the app, the prefix stripped or kept as the app needs, one
  request per connection (``Connection: close``) so that each is checked; websocket
  upgrades stay open both ways.

On SIGTERM it ends the app's whole process group (code-server leaves extension hosts
behind when only its main process ends), then exits with the app's status; when the
app exits, so does the gate. Standard library only, besides ``signing`` and ``apps``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
import time
from datetime import datetime, timezone

from ... import apps, signing
from ..._version import __version__

HEAD_LIMIT = 64 * 1024
#: the largest body the gate reads to stamp the caller into (``App.caller_routes``)
STAMPED_BODY_LIMIT = 16 * 1024 * 1024
HEAD_TIMEOUT = 30.0
CHUNK = 64 * 1024
STOP_GRACE = 10.0
#: seconds after their last request that a user without an open websocket is still "in"
#: (an HTTP app such as MLflow has no connection that says when they leave)
PRESENCE_WINDOW = 120.0


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat().replace("+00:00", "Z")


def _response(status: int, reason: str, body: bytes, ctype: str) -> bytes:
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
        f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


def _json(status: int, reason: str, payload: dict) -> bytes:
    return _response(status, reason, json.dumps(payload).encode(), "application/json")


class _Refused(Exception):
    """A request the gate answers itself, with ``response``."""

    def __init__(self, status: int, reason: str, message: str):
        super().__init__(message)
        self.response = _json(status, reason, {"message": message, "reason": "caller"})


class Gate:
    def __init__(
        self,
        app: apps.App,
        space: str,
        base_url: str,
        verifier: signing.Verifier,
        socket: str,
        home: str,
    ):
        self.app = app
        self.space = space
        self.base = base_url if base_url.endswith("/") else base_url + "/"
        self.verifier = verifier
        self.socket = socket
        self.home = home
        self.started = time.time()
        self.last_request = self.started
        self.websockets = 0
        self.present: dict[str, dict] = {}  # user name -> identity, since, last, websockets

    def _seen(self, who: signing.Identity, websockets: int = 0) -> None:
        now = time.time()
        p = self.present.get(who.name)
        if p is None or (not p["websockets"] and now - p["last"] > PRESENCE_WINDOW):
            p = self.present[who.name] = {"since": now, "websockets": 0}
        p.update(identity=who, last=now, websockets=p["websockets"] + websockets)

    def presence(self) -> list[dict]:
        """The agent's presence items: who is in, no documents (nothing is co-edited)."""
        now = time.time()
        for name in [n for n, p in self.present.items() if not p["websockets"] and now - p["last"] > PRESENCE_WINDOW]:
            del self.present[name]
        return [
            {"username": w.name, "display_name": w.display_name, "initials": w.initials, "color": w.color,
             "role": w.role, "documents": [], "since": p["since"]}
            for p in sorted(self.present.values(), key=lambda p: p["identity"].name)
            for w in (p["identity"],)
        ]  # fmt: skip

    def last_activity(self) -> float:
        if self.app.heartbeat_file:
            with contextlib.suppress(OSError):
                return max(
                    self.started,
                    os.stat(os.path.join(self.home, self.app.heartbeat_file)).st_mtime,
                )
            return self.started
        return self.last_request

    async def handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            await self._handle(reader, writer)
        except (
            ConnectionError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            TimeoutError,
        ):
            pass
        finally:
            writer.close()

    async def _handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, _version = lines[0].split(" ", 2)
        except ValueError:
            writer.write(
                _response(400, "Bad Request", b"bad request line\n", "text/plain")
            )
            return
        headers = [
            tuple(part.strip() for part in ln.split(":", 1))
            for ln in lines[1:]
            if ":" in ln
        ]
        try:
            who = self.verifier.verify(method, target, {k: v for k, v in headers})
        except signing.InvalidSignature as e:
            writer.write(
                _response(
                    403,
                    "Forbidden",
                    f"not signed by the domain: {e}\n".encode(),
                    "text/plain",
                )
            )
            return
        if method == "GET" and target == self.base + "api/spaces-agent/identity":
            writer.write(_json(200, "OK", {"space": self.space, "agent": __version__, "app": self.app.name,
                                          "collaboration": False, "caller": who.name}))  # fmt: skip
            return
        if method == "GET" and target == self.base + "api/status":
            writer.write(_json(200, "OK", {"started": _iso(self.started), "last_activity": _iso(self.last_activity()),
                                          "connections": 0, "websockets": self.websockets}))  # fmt: skip
            return
        if method == "GET" and target == self.base + "api/spaces-agent/presence":
            writer.write(_json(200, "OK", {"items": self.presence()}))
            return
        path = self.app.app_path(target, self.base)
        if path is None:
            writer.write(
                _response(404, "Not Found", b"not in this space\n", "text/plain")
            )
            return
        if who.role == "viewer" and not self.app.viewer_may(method, target[len(self.base) :]):
            reason = (
                self.app.viewer_reason
                or f"{self.app.display_name} is read-only for viewers."
            )
            writer.write(
                _json(403, "Forbidden", {"message": reason, "reason": "viewer"})
            )
            return
        body = b""
        route = target[len(self.base) :].split("?", 1)[0]
        if method == "POST" and route in self.app.caller_routes:
            try:
                headers, body = await self._stamp_caller(reader, headers, route, who)
            except _Refused as e:
                writer.write(e.response)
                return
        upgrade = any(k.lower() == "upgrade" for k, _ in headers)
        self.last_request = time.time()
        self._seen(who, 1 if upgrade else 0)
        out = [f"{method} {path} HTTP/1.1"]
        for k, v in headers:
            low = k.lower()
            # the domain checked the caller and the Origin (websockets, and a browser's
            # writes); the app's own check would not know the space's origin and refuse
            # (MLflow: every write from a page not on localhost, code-server: websockets)
            if (
                low.startswith(signing.HEADER_PREFIX.lower())
                or low in ("connection", "keep-alive", "origin")
            ):
                continue
            out.append(f"{k}: {v}")
        out.append("Connection: Upgrade" if upgrade else "Connection: close")
        up_reader, up_writer = await asyncio.open_unix_connection(self.socket)
        up_writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + body)
        if upgrade:
            self.websockets += 1
        try:
            await self._pipe(reader, writer, up_reader, up_writer, upgrade)
        finally:
            if upgrade:
                self.websockets -= 1
                self._seen(who, -1)
            self.last_request = time.time()
            up_writer.close()

    async def _stamp_caller(
        self, reader: asyncio.StreamReader, headers: list, route: str, who: signing.Identity
    ) -> tuple[list, bytes]:
        """The request's headers and JSON body with the signed caller put where the app
        takes who did it from (``App.stamp_caller``)."""
        fields = {k.lower(): v for k, v in headers}
        if "transfer-encoding" in fields or "content-length" not in fields:
            raise _Refused(411, "Length Required", "Send this request's body with a Content-Length.")
        try:
            length = int(fields["content-length"])
        except ValueError:
            raise _Refused(400, "Bad Request", "The Content-Length is not a number.") from None
        if not 0 <= length <= STAMPED_BODY_LIMIT:
            raise _Refused(413, "Payload Too Large", f"This request's body may be {STAMPED_BODY_LIMIT} bytes at most.")
        raw = await asyncio.wait_for(reader.readexactly(length), HEAD_TIMEOUT)
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise _Refused(400, "Bad Request", "The body is not a JSON object.")
        try:
            data = self.app.stamp_caller(route, data, who.name)
        except PermissionError as e:
            raise _Refused(403, "Forbidden", str(e)) from None
        except ValueError as e:
            raise _Refused(400, "Bad Request", str(e)) from None
        body = json.dumps(data).encode()
        kept = [(k, v) for k, v in headers if k.lower() != "content-length"]
        return [*kept, ("Content-Length", str(len(body)))], body

    async def _pipe(self, reader, writer, up_reader, up_writer, upgrade: bool) -> None:
        """Bytes both ways until the app closes (its answer is complete) or, for a
        websocket, either side goes."""

        async def copy(
            src: asyncio.StreamReader, dst: asyncio.StreamWriter, half_close: bool
        ) -> None:
            while data := await src.read(CHUNK):
                dst.write(data)
                await dst.drain()
            if half_close and dst.can_write_eof():
                dst.write_eof()

        to_app = asyncio.ensure_future(copy(reader, up_writer, True))
        to_caller = asyncio.ensure_future(copy(up_reader, writer, False))
        try:
            await asyncio.wait({to_caller, to_app}, return_when=asyncio.FIRST_COMPLETED)
            # a caller may half-close after its request: the answer still comes back
            if not upgrade and not to_caller.done() and to_app.exception() is None:
                await to_caller
        except (ConnectionError, OSError):
            pass
        finally:
            for task in (to_app, to_caller):
                task.cancel()
            await asyncio.gather(to_app, to_caller, return_exceptions=True)


async def _wait_ready(
    app: apps.App,
    proc: asyncio.subprocess.Process,
    socket: str,
    base: str,
    timeout: float,
) -> bool:
    """True once the app answers its readiness path over its socket; False if it exited."""
    target = app.ready_path if app.ready_path.startswith("/") else base + app.ready_path
    deadline = time.monotonic() + timeout
    while proc.returncode is None and time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            r, w = await asyncio.open_unix_connection(socket)
            w.write(
                f"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
            )
            status = await asyncio.wait_for(r.readline(), 10)
            w.close()
            if status.split(b" ")[1:2] == [b"200"]:
                return True
        await asyncio.sleep(0.2)
    return False


def _end_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


async def run(args: argparse.Namespace) -> int:
    with os.fdopen(args.secret_fd, "r") as f:
        secret = f.read().strip()
    app = apps.get(args.app)
    home = args.home or os.path.expanduser("~")
    base = args.base_url if args.base_url.endswith("/") else args.base_url + "/"
    for rel in app.writes:
        # the folders the app writes into: it does not make all of them itself
        folder = os.path.join(home, rel if rel.endswith("/") else os.path.dirname(rel))
        os.makedirs(folder, exist_ok=True)
    for rel, text in app.seed_files.items():
        path = os.path.join(home, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with contextlib.suppress(FileExistsError), open(path, "x") as f:
            f.write(text)  # a default: the user's own file stays as it is
    rundir = tempfile.mkdtemp(
        prefix="jupyter-spaces-app-"
    )  # 0700: only the space's uid
    socket = os.path.join(rundir, "app.sock")
    ctx = apps.AppContext(home=home, base_url=base, socket=socket, program=args.program)
    proc = await asyncio.create_subprocess_exec(
        *app.command(ctx),
        env={**os.environ, **app.env},
        stdin=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    waiter = asyncio.ensure_future(proc.wait())
    server = None
    try:
        ready = asyncio.ensure_future(
            _wait_ready(app, proc, socket, base, args.ready_timeout)
        )
        await asyncio.wait(
            {ready, asyncio.ensure_future(stopping.wait())},
            return_when=asyncio.FIRST_COMPLETED,
        )
        if ready.done() and ready.result():
            gate = Gate(
                app,
                args.space,
                base,
                signing.Verifier(secret, args.space),
                socket,
                home,
            )
            server = await asyncio.start_server(
                gate.handle, "127.0.0.1", args.port, limit=HEAD_LIMIT
            )
            print(
                f"appgate: {app.name} ready, listening on 127.0.0.1:{args.port}",
                file=sys.stderr,
                flush=True,
            )
        elif not stopping.is_set() and proc.returncode is None:
            print(
                f"appgate: {app.name} did not answer {app.ready_path} in time",
                file=sys.stderr,
                flush=True,
            )
            stopping.set()
        stop_wait = asyncio.ensure_future(stopping.wait())
        await asyncio.wait({waiter, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
        stop_wait.cancel()
    finally:
        if server is not None:
            server.close()
        _end_group(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), STOP_GRACE)
        except TimeoutError:
            pass
        _end_group(
            proc.pid, signal.SIGKILL
        )  # what is left of the group (extension hosts)
        await waiter
    rc = proc.returncode
    return 0 if stopping.is_set() else (rc if rc and rc > 0 else 1)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="appgate", description=__doc__.split("\n\n")[0])
    p.add_argument("--space", required=True)
    p.add_argument(
        "--app", required=True, choices=[a.name for a in apps.APPS.values() if a.gated]
    )
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--base-url", required=True)
    p.add_argument("--secret-fd", type=int, required=True)
    p.add_argument("--program", required=True, help="the app's executable")
    p.add_argument("--home", default="")
    p.add_argument("--ready-timeout", type=float, default=120.0)
    return asyncio.run(run(p.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())

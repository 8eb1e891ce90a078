"""What the route-table tests share: the running application's rules, a concrete
request for each, a raw HTTP client (websocket upgrades included), and what counts
as a refusal by the table.

The module is also a jupyter server extension for a server run as a subprocess
(``--ServerApp.jpserver_extensions=tests.security.routecheck=True``, the repository on
its ``PYTHONPATH``): once the server's event loop runs, every extension's handlers
registered, it writes :func:`targets` of its own application as JSON to the file
named by ``$JUPYTER_SPACES_ROUTE_DUMP``. It registers no handler and changes nothing
else, so the test calls the real application's routes, not a copy's.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from dataclasses import asdict, dataclass

from jupyter_server.base.handlers import JupyterHandler
from tornado import web
from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine
from tornado.routing import HostMatches, RuleRouter

from jupyter_spaces import routes

VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE", routes.WEBSOCKET)
UUID = "00000000-0000-0000-0000-000000000000"
# Values for named groups; anything else gets the first of GENERIC its group matches.
SAMPLES = {
    "name": ("no-such-space",), "user": ("nobody",),
    "path": ("no-such-file", "/no-such-file", "lab/no-such-file"), "key": ("0" * 32,),
    "token_id": ("1",), "verb": ("start",), "action": ("restart",), "format": ("html",),
    "section_name": ("notebook",), "schema_name": ("@jupyterlab/apputils-extension:themes",),
    "space_name": ("default",), "locale": ("en",), "language_server": ("no-such-server",),
    "mode": ("lab",), "kernel_name": ("python3",),
    "kernel_id": (UUID,), "session_id": (UUID,), "checkpoint_id": ("c1",),
}  # fmt: skip
GENERIC = ("x", "robots.txt", "favicon.ico", UUID, "1", "")
# A write's body: not JSON, so an admitted handler stops at parsing it and changes nothing.
BODY = b"not json"


DUMP_ENV = "JUPYTER_SPACES_ROUTE_DUMP"


@dataclass
class Target:
    pattern: str
    handler: str
    path: str | None  # None: no request reaches this rule (shadowed by an earlier one)
    host: str
    methods: tuple[str, ...]  # the handler class's SUPPORTED_METHODS
    xsrf_first: bool  # tornado's own XSRF check refuses unsafe methods before any prepare
    guarded: bool  # the rule's target is the table's guard around the handler

    @classmethod
    def from_json(cls, data: dict) -> Target:
        return cls(**{**data, "methods": tuple(data["methods"])})


def started(app):
    """``app`` as after its first request: the route table applied to every rule."""
    app.find_handler(request("/", "127.0.0.1"))
    return app


def request(path: str, host: str) -> HTTPServerRequest:
    return HTTPServerRequest(start_line=RequestStartLine("GET", path, "HTTP/1.1"), headers=HTTPHeaders({"Host": host}))


def rules_with_hosts(router, host=None):
    for rule in router.rules:
        inner = rule.matcher.host_pattern.pattern if isinstance(rule.matcher, HostMatches) else host
        if isinstance(rule.target, RuleRouter):
            yield from rules_with_hosts(rule.target, inner)
        else:
            yield rule, inner


def _group_end(regex: str, start: int) -> int:
    """Index of the parenthesis closing the group opened at ``start``."""
    depth, j = 0, start
    while True:
        c = regex[j]
        if c == "\\":
            j += 2
            continue
        depth += {"(": 1, ")": -1}.get(c, 0)
        if depth == 0:
            return j
        j += 1


def sample_path(regex: str) -> str:
    """A path the rule's regex (with tornado's ``$``) matches, made from its groups."""
    out, i = "", 0
    while i < len(regex):
        if regex[i] == "\\":
            out, i = out + regex[i + 1], i + 2
        elif regex[i] == "(":
            j = _group_end(regex, i)
            group = regex[i + 1 : j]
            named = re.match(r"\?P<(\w+)>", group)
            inner = group[named.end() :] if named else group
            optional = regex[j + 1 : j + 2] == "?"
            candidates = [*SAMPLES.get(named.group(1) if named else "", ()), *GENERIC]
            out += "" if optional else next(c for c in candidates if re.fullmatch(inner, c))
            i = j + 2 if optional else j + 1
        else:
            out, i = out + regex[i], i + 1
    path = out.rstrip("$").replace("/?", "/").replace(".*", "x")
    path = path if path.startswith("/") else "/" + path
    if not re.fullmatch(regex, path):
        raise AssertionError(f"no sample path for {regex!r} (made {path!r})")
    return path


def targets(app, base_url: str, hosts: dict) -> list[Target]:
    """Every leaf rule, with a request path and host that tornado routes to exactly it.

    ``hosts`` maps a HostMatches pattern (None: any host) to a host name to send."""
    found = []
    for rule, host_pattern in rules_with_hosts(app.default_router):
        pattern = routes.relative_pattern(rule, base_url)
        handler = routes.handler_name(routes._original(rule.target))
        host = hosts.get(host_pattern, hosts[None])
        try:
            path = sample_path(rule.matcher.regex.pattern)
        except StopIteration:
            raise AssertionError(f"no sample for a group of {pattern!r}") from None
        delegate = app.default_router.find_handler(request(path, host))
        reaches = delegate is not None and delegate.handler_class is rule.target
        cls = rule.target
        found.append(Target(
            pattern, handler, path if reaches else None, host,
            methods=tuple(getattr(cls, "SUPPORTED_METHODS", ())),
            # JupyterHandler's check waits for its prepare, after the table's.
            xsrf_first=bool(app.settings.get("xsrf_cookies")) and isinstance(cls, type)
            and not issubclass(cls, JupyterHandler) and cls.check_xsrf_cookie is web.RequestHandler.check_xsrf_cookie,
            guarded=bool(getattr(cls, "_spaces_route_guarded", False)),
        ))  # fmt: skip
    return found


def _jupyter_server_extension_points():
    return [{"module": "tests.security.routecheck"}]


def _load_jupyter_server_extension(serverapp):
    """Write the running application's targets to ``$JUPYTER_SPACES_ROUTE_DUMP`` once its
    event loop runs, and again each second if they change (a handler added later)."""
    from tornado.ioloop import IOLoop

    last = None

    def dump():
        nonlocal last
        app = started(serverapp.web_app)
        found = [asdict(t) for t in targets(app, serverapp.base_url, {None: serverapp.ip})]
        if found != last:
            out = os.environ[DUMP_ENV]
            with open(out + ".part", "w") as f:
                json.dump({"base_url": serverapp.base_url, "targets": found}, f)
            os.replace(out + ".part", out)
            last = found
        IOLoop.current().call_later(1, dump)

    IOLoop.current().add_callback(dump)


@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes

    @property
    def message(self) -> str:
        try:
            return json.loads(self.body).get("message", "")
        except (ValueError, AttributeError):
            return ""


async def send(
    port: int, verb: str, path: str, host: str, headers: dict | None = None, timeout: float = 5
) -> Reply:
    """One request on its own connection; reads the head (``timeout`` seconds at most), and
    the body of an error."""
    method = "GET" if verb == routes.WEBSOCKET else verb
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    if verb == routes.WEBSOCKET:
        lines[-1] = "Connection: Upgrade"
        lines += ["Upgrade: websocket", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="]
    body = BODY if method in routes.WRITE else b""
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()] + [f"Content-Length: {len(body)}"]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        status_line, *fields = head.decode("latin-1").split("\r\n")
        reply_headers = dict(f.split(": ", 1) for f in fields if ": " in f)
        status = int(status_line.split()[1])
        length = int(reply_headers.get("Content-Length", 0))
        data = await asyncio.wait_for(reader.readexactly(length), 30) if status >= 400 and length else b""
        return Reply(status, reply_headers, data)
    finally:
        writer.close()


def refused_by_table(reply: Reply, extra_messages=()) -> bool:
    """A refusal the table answered: one of its fixed messages, or (``extra_messages``)
    an error it raised by asking the identity provider, in the message of a JSON error
    or anywhere in an error page's body."""
    if reply.status not in (403, 404):
        return False
    message = reply.message
    if message in routes.REFUSALS or any(message.startswith(m) for m in extra_messages):
        return True
    body = reply.body.decode("utf-8", "replace")
    return any(m in body for m in extra_messages)


async def check_every_rule(
    port, found, table, roles_for, auth_headers, extra_messages=(), concurrency=1, timeout=5,
    replies=None,
) -> tuple[list, int]:
    """Send every verb as every role to every reachable rule; the mismatches, and the number sent.

    ``replies``, a list, gets every (target, role, verb, reply, refused by the table).

    Up to ``concurrency`` requests at once. A request with no answer within ``timeout``
    seconds is still at work, so past the table (whose refusals are immediate); a
    mismatch is sent once more, alone and with a longer wait, before it counts, so a
    server that was only slow to answer under the load does not read as a wrong one."""
    gate = asyncio.Semaphore(concurrency)
    async def call(target, role, verb, wait) -> Reply:
        async with gate:
            try:
                # Signed (or not) at the last moment: signatures are short-lived.
                headers = auth_headers(role, verb, target.path)
                return await send(port, verb, target.path, target.host, headers, wait)
            except (asyncio.IncompleteReadError, ConnectionError) as e:
                return Reply(0, {}, repr(e).encode())
            except TimeoutError:
                # Still at work after seconds: past the table, whose refusals are immediate.
                return Reply(-1, {}, b"")

    def refused(target, role, verb, reply) -> bool:
        return refused_by_table(reply, extra_messages) or reply.status == 0 or (
            # Refused before any prepare: tornado's own XSRF check in handlers that are
            # not Jupyter's; a handler that fails to start (status 0: no answer at all).
            target.xsrf_first and verb in routes.WRITE and reply.status == 403
        )

    def mismatch(target, role, verb, reply):
        route = table.lookup(target.pattern, target.handler)
        allowed = route is not None and route.allows(role, verb)
        return refused(target, role, verb, reply) == allowed

    calls = [
        (target, role, verb)
        for target in found
        if target.path is not None
        for role in roles_for(target)
        # tornado answers 405 itself, before any prepare, for a method the handler class lacks.
        for verb in VERBS
        if ("GET" if verb == routes.WEBSOCKET else verb) in target.methods
    ]
    answers = await asyncio.gather(*(call(t, r, v, timeout) for t, r, v in calls))
    wrong = []
    for (target, role, verb), reply in zip(calls, answers):
        if mismatch(target, role, verb, reply):
            reply = await call(target, role, verb, 3 * timeout)  # alone: the others are done
            if mismatch(target, role, verb, reply):
                wrong.append((target.pattern, target.handler, role, verb, reply.status, reply.message))
        if replies is not None:
            replies.append((target, role, verb, reply, refused(target, role, verb, reply)))
    return wrong, len(calls)

"""What the route-table tests share: the running application's rules, a concrete
request for each, a raw HTTP client (websocket upgrades included), and what counts
as a refusal by the table."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass

from jupyter_server.base.handlers import JupyterHandler
from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine
from tornado.routing import HostMatches, RuleRouter

from jupyter_spaces import routes

VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE", routes.WEBSOCKET)
UUID = "00000000-0000-0000-0000-000000000000"
# Values for named groups; anything else gets the first of GENERIC its group matches.
SAMPLES = {
    "name": ("no-such-space",), "user": ("nobody",), "path": ("no-such-file", "/no-such-file"),
    "token_id": ("1",), "verb": ("start",), "action": ("restart",), "format": ("html",),
    "section_name": ("notebook",), "schema_name": ("@jupyterlab/apputils-extension:themes",),
    "space_name": ("default",), "locale": ("en",), "language_server": ("no-such-server",),
    "mode": ("lab",), "kernel_name": ("python3",),
    "kernel_id": (UUID,), "session_id": (UUID,), "checkpoint_id": ("c1",),
}  # fmt: skip
GENERIC = ("x", "robots.txt", "favicon.ico", UUID, "1", "")
# A write's body: not JSON, so an admitted handler stops at parsing it and changes nothing.
BODY = b"not json"


@dataclass
class Target:
    rule: object
    pattern: str
    handler: str
    path: str | None  # None: no request reaches this rule (shadowed by an earlier one)
    host: str


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
        found.append(Target(rule, pattern, handler, path if reaches else None, host))
    return found


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


async def send(port: int, verb: str, path: str, host: str, headers: dict | None = None) -> Reply:
    """One request on its own connection; reads the head, and the body of an error."""
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
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        status_line, *fields = head.decode("latin-1").split("\r\n")
        reply_headers = dict(f.split(": ", 1) for f in fields if ": " in f)
        status = int(status_line.split()[1])
        length = int(reply_headers.get("Content-Length", 0))
        data = await asyncio.wait_for(reader.readexactly(length), 30) if status >= 400 and length else b""
        return Reply(status, reply_headers, data)
    finally:
        writer.close()


def refused_by_table(reply: Reply, extra_messages=()) -> bool:
    if reply.status not in (403, 404):
        return False
    message = reply.message
    return message in routes.REFUSALS or any(message.startswith(m) for m in extra_messages)


async def check_every_rule(port, found, table, roles_for, auth_headers, extra_messages=()) -> tuple[list, int]:
    """Send every verb as every role to every reachable rule; the mismatches, and the number sent."""
    wrong, sent = [], 0
    for target in found:
        if target.path is None:
            continue
        route = table.lookup(target.pattern, target.handler)
        # tornado answers 405 itself, before any prepare, for a method the handler class lacks.
        supported = [v for v in VERBS if ("GET" if v == routes.WEBSOCKET else v) in target.rule.target.SUPPORTED_METHODS]
        for role in roles_for(target):
            for verb in supported:
                try:
                    reply = await send(port, verb, target.path, target.host, auth_headers(role, verb, target.path))
                except (asyncio.IncompleteReadError, ConnectionError) as e:
                    reply = Reply(0, {}, repr(e).encode())
                except TimeoutError:
                    # Still at work after seconds: past the table, whose refusals are immediate.
                    reply = Reply(-1, {}, b"")
                sent += 1
                allowed = route is not None and route.allows(role, verb)
                refused = refused_by_table(reply, extra_messages) or reply.status == 0 or (
                    # Refused before any prepare: tornado's own XSRF check in handlers that are
                    # not Jupyter's; a handler that fails to start (status 0: no answer at all).
                    not issubclass(target.rule.target, JupyterHandler) and verb in routes.WRITE
                    and reply.status == 403
                )
                if refused == allowed:
                    wrong.append((target.pattern, target.handler, role, verb, reply.status, reply.message))
    return wrong, sent

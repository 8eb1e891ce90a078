"""When a started space server is running: its agent answers a request signed as a
user's would reach it through the domain (rule 1 of ``base.py``).

For any launcher: it gives :func:`wait_ready` the server's URL, a way to learn that
the server exited, and the server's log (:class:`ServerLog`) to quote when it fails.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx

from .. import signing
from .base import LaunchError, LaunchSpec, Progress

# Who the launcher's readiness check says it is: a viewer, the least a role can do.
PROBE_IDENTITY = signing.Identity("jupyter-spaces-launcher", "launcher", "", "", "viewer")


class ServerLog:
    """The space server's log file, as much of it as a failure message quotes."""

    def __init__(self, path: str):
        self.path = path

    def tail(self, lines: int = 20) -> str:
        try:
            with open(self.path, "rb") as f:
                f.seek(0, 2)
                f.seek(max(0, f.tell() - 8192))
                text = f.read().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def line(self, needle: str) -> str:
        """The last line that mentions ``needle`` (an extension that failed)."""
        hits = [ln.strip() for ln in self.tail(200).splitlines() if needle in ln]
        return hits[-1] if hits else ""


def agent_path(spec: LaunchSpec) -> str:
    """The agent's identity route under the space's base_url."""
    base = spec.base_url if spec.base_url.endswith("/") else spec.base_url + "/"
    return f"{base}{spec.agent.identity_route}"


async def wait_ready(
    spec: LaunchSpec,
    url: str,
    exited: Callable[[], int | None],
    progress: Progress,
    timeout: float,
    log: ServerLog,
) -> int | None:
    """None once the space's agent at ``url`` answers a signed request as a user's would
    reach it; else the server's exit status (``exited()``, polled meanwhile). Raises
    when it answers as something else, or not within ``timeout`` seconds."""
    space = spec.space
    deadline = time.monotonic() + timeout
    path = agent_path(spec)
    pct = 45
    async with httpx.AsyncClient(timeout=2.0, trust_env=False) as client:
        while True:
            rc = exited()
            if rc is not None:
                return rc
            headers = signing.sign_request(spec.secret, space, "GET", path, PROBE_IDENTITY)
            try:
                r = await client.get(url + path, headers=headers)
            except httpx.HTTPError:
                r = None
            if r is not None:
                check_agent(spec, r, log)
                return None
            if time.monotonic() > deadline:
                raise LaunchError(
                    f"The space server did not answer within {timeout:.0f} seconds. "
                    f"Last log line: {log.tail(1) or '(none)'}"
                )
            if pct < 95:
                pct += 1
                progress(pct, "Waiting for JupyterLab to answer")
            await asyncio.sleep(0.1)


def check_agent(spec: LaunchSpec, r: httpx.Response, log: ServerLog) -> None:
    """A space server listens only once its extensions are loaded: its first answer
    is final. Raise unless it is the space's agent, with the features asked for
    (``spec.agent.features`` enabled in ``spec.agent_config``)."""
    try:
        seen = r.json() if r.status_code == 200 else {}
    except ValueError:
        seen = {}
    if seen.get("space") != spec.space:
        package = spec.agent.extension.split(".")[0]
        hint = log.line(package) or f"(nothing about {package})"
        raise LaunchError(
            f"The space server runs without its agent (it answered {r.status_code} to the "
            f"launcher's signed request), so it would refuse everyone. Server log: {hint}"
        )
    wanted = ((spec.agent_config or {}).get("ServerApp") or {}).get("jpserver_extensions") or {}
    for extension, key in spec.agent.features.items():
        if wanted.get(extension) and not seen.get(key):
            hint = log.line(extension) or "(nothing about it)"
            raise LaunchError(f"The space server runs without its {key} service ({extension}). Server log: {hint}")

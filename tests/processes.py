"""Shared by the tests that run servers as subprocesses."""

from __future__ import annotations

import subprocess
import time

import httpx


def stop(proc: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


def wait_for_domain(proc: subprocess.Popen, base: str, timeout: float = 60) -> None:
    """Until the domain server at ``base`` (no trailing slash) answers its API.

    Anonymous, so a 403 in the API's error shape means the API is up.
    """
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the domain server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/spaces/api/me", timeout=1).status_code == 403:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the domain server did not start")
        time.sleep(0.2)

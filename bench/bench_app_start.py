"""Start-to-ready of a Code Editor space (and an MLflow space) vs the same app started
bare, side by side in one run.

Ours: a real domain server (``python -m jupyter_spaces.cli``, the local launcher): ``POST
spaces/<name>/start`` until the app's own readiness path answers 200 through the domain's
proxy (sandbox, own uid, cgroup limits, loop-mounted volume, the gate, the app, the
domain's signed probe and its bookkeeping). Anchor: the same program with the same flags
(``apps.App.command``, listening on a port instead of the gate's unix socket), as root
in a temporary directory, until the same readiness path answers 200. One untimed start
of each first (the app's first-run files exist in both afterwards); then runs alternate
so machine load hits both alike. Prints figures; no asserts.

    python bench/bench_app_start.py [--runs N] [--apps code-editor,mlflow]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from jupyter_spaces import apps  # noqa: E402
from bench_pageload import Domain, free_port, request  # noqa: E402  (a real domain server)
from bench_start import print_medians  # noqa: E402  (the start benches' one table)

POLL = 0.05


def ok(url: str, token: str = "", host: str | None = None) -> bool:
    try:
        with urllib.request.urlopen(request(url, token=token, host=host), timeout=5) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def bare_command(app: apps.App, home: str, port: int) -> list[str]:
    """The app's own command line as the gate runs it, listening on a port instead of
    the gate's unix socket (everything else the same)."""
    sock = os.path.join(home, "unused.sock")
    argv = app.command(apps.AppContext(home=home, base_url="/spaces/bare/", socket=sock, program=app.find_program()))
    if app is apps.CODE_EDITOR:
        i = argv.index("--socket")
        return argv[:i] + ["--bind-addr", f"127.0.0.1:{port}"] + argv[i + 4 :]  # drops --socket-mode too
    i = argv.index("--uvicorn-opts")
    return argv[:i] + ["--host", "127.0.0.1", "--port", str(port)] + argv[i + 2 :]


def bare_ready_url(app: apps.App, port: int) -> str:
    path = app.ready_path if app.ready_path.startswith("/") else "/spaces/bare/" + app.ready_path
    return f"http://127.0.0.1:{port}{path}"


def bare_start(app: apps.App, home: str) -> float:
    for rel in app.writes:  # what the gate makes before it starts the app
        os.makedirs(os.path.join(home, rel if rel.endswith("/") else os.path.dirname(rel)), exist_ok=True)
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen(bare_command(app, home, port), cwd=home, env={**os.environ, **app.env, "HOME": home},
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    try:
        while not ok(bare_ready_url(app, port)):
            if proc.poll() is not None:
                raise SystemExit(f"bare {app.name} exited ({proc.returncode})")
            time.sleep(POLL)
        return time.perf_counter() - t0
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # its whole group: code-server leaves helpers otherwise
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def space_start(domain: Domain, app: apps.App, name: str) -> float:
    ready = f"{domain.local}spaces/{name}/{app.ready_path.lstrip('/')}"
    t0 = time.perf_counter()
    domain.api("POST", f"spaces/{name}/start")
    while not ok(ready, domain.token, domain.host):
        space = domain.api("GET", f"spaces/{name}")
        if space["status"] == "failed":
            raise SystemExit(f"space {name} failed: {space['failure_reason']}")
        time.sleep(POLL)
    return time.perf_counter() - t0


def space_stop(domain: Domain, name: str) -> None:
    domain.api("POST", f"spaces/{name}/stop")
    while domain.api("GET", f"spaces/{name}")["status"] != "stopped":
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_START_RUNS", "3")))
    parser.add_argument("--apps", default="code-editor,mlflow")
    args = parser.parse_args()
    chosen = [apps.get(a) for a in args.apps.split(",")]
    missing = [a.name for a in chosen if not a.find_program()]
    if missing:
        raise SystemExit(f"not installed: {', '.join(missing)} (bash scripts/install-apps.sh)")
    work = Path(tempfile.mkdtemp(prefix="bench-app-start-"))
    domain = Domain(work, "domain")
    try:
        for app in chosen:
            name = f"bench-{app.name}"
            home = str(work / f"bare-{app.name}")
            os.makedirs(home)
            domain.api("POST", "spaces", {"name": name, "sharing": "private", "app_type": app.name, "volume_gb": 1})
            bare_start(app, home)  # untimed: first-run files on both sides
            space_start(domain, app, name)
            space_stop(domain, name)
            ours, anchor = [], []
            for _ in range(args.runs):
                anchor.append(bare_start(app, home))
                ours.append(space_start(domain, app, name))
                space_stop(domain, name)
            print(f"\n{app.display_name}: start-to-ready ({app.ready_path} answers 200), {args.runs} runs each, alternating")
            print_medians(f"bare {app.program} (anchor)", anchor, f"{app.display_name} space via the domain", ours,
                          "ratio space/bare (median)")
    finally:
        domain.proc.terminate()  # the domain stops what still runs as it ends
        try:
            domain.proc.wait(60)
        except subprocess.TimeoutExpired:
            domain.proc.kill()
            domain.proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

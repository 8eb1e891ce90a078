"""Page loads in Chromium: a space's JupyterLab and the spaces home against a bare `jupyter lab`.

    python bench/bench_pageload.py [--runs N] [--sites loopback,wildcard]

One run, one machine, one headless Chromium (``/usr/bin/chromium`` or
``$CHROMIUM_PATH``, driven by ``bench/pageload.js`` with the Playwright of
``ui-tests/node_modules``). Measured: navigation until JupyterLab's launcher is
visible (the spaces home: until its list is shown), median of ``--runs``:

- **bare lab**: ``python -m jupyterlab`` on a free port, cold (a fresh browser
  context) and warm (the same URL again in that context);
- **home**: the domain's spaces home, cold and warm;
- **first space cold**: a fresh context (only the domain's login cookie) opens a
  running space at its address on the domain (``<domain>/spaces/<name>/lab``,
  as the home opens it: a one-time ticket, then the space's own origin);
- **first space warm**: that space again at its own address, same context;
- **second space**: then the other running space, same context;
- **switch**: then back and forth between the two (both already visited), as the
  switcher does it: the tab goes to the other space's address on the domain, a full
  page load of its JupyterLab (no tab is kept warm).

Each on two domains (real servers: ``python -m jupyter_spaces.cli``, two running
spaces each, started through the REST API by the ``LocalLauncher``):

- **loopback**: the default, each space on ``{space}.localhost:PORT``;
- **wildcard**: as a deployment, ``c.DomainApp.space_host =
  "{space}.spaces.example.com"`` (Chromium maps those names to loopback with
  ``--host-resolver-rules``; nothing leaves the machine).

The two differ where Chromium's HTTP cache is partitioned by top-level *site*:
``*.localhost`` hosts are each a site of their own (``localhost`` is no registered
suffix), every ``*.spaces.example.com`` host is the site ``example.com``.
The domains run one after the other (two local launchers on one host would take
each other's spaces for orphans); the bare lab is measured again beside each,
interleaved with it, and is that column's anchor. Prints the figures and their
ratio to the bare lab; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
USER = "bench"
SPACES = ("one", "two")
WILDCARD = "{space}.spaces.example.com"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def jupyter_env(home: Path) -> dict:
    """A Jupyter of its own: no user config or workspace of this machine's leaks in."""
    return {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
    }


def wait_http(url: str, proc: subprocess.Popen, log: Path, host: str | None = None, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"process exited ({proc.returncode}); log:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            urllib.request.urlopen(request(url, host=host), timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.25)
    proc.kill()
    raise SystemExit(f"nothing answered at {url}; log:\n{log.read_text(errors='replace')[-3000:]}")


def request(url: str, method: str = "GET", body=None, token: str = "", host: str | None = None):
    req = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"token {token}")
    if host:
        req.add_header("Host", host)
    return req


def api(base: str, host: str, token: str, method: str, path: str, body=None) -> dict:
    with urllib.request.urlopen(request(base + path, method, body, token, host), timeout=60) as r:
        text = r.read()
    return json.loads(text) if text else {}


class Domain:
    """A domain server with a user and two running spaces."""

    def __init__(self, work: Path, tag: str, space_host: str = ""):
        self.tag = tag
        self.data = work / tag
        self.data.mkdir()
        self.port = free_port()
        # where the browser finds it: the domain's host name, then the loopback address
        self.host = f"spaces.example.com:{self.port}" if space_host else f"localhost:{self.port}"
        self.base = f"http://{self.host}/"
        self.local = f"http://127.0.0.1:{self.port}/"
        self.token = self.cli("user", "add", USER, "--display-name", "Bench User")
        args = [sys.executable, "-m", "jupyter_spaces.cli", "--data-dir", str(self.data), "--port", str(self.port),
                "--ip", "127.0.0.1", "--no-browser", "--ServerApp.log_level=WARN"]
        if space_host:
            args += [f"--DomainApp.space_host={space_host}", "--ServerApp.allow_remote_access=True"]
        self.log = self.data / "domain.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                         env=jupyter_env(self.data / "jupyter"))
        wait_http(self.local + "login", self.proc, self.log, host=self.host)

    def cli(self, *args: str) -> str:
        out = subprocess.run([sys.executable, "-m", "jupyter_spaces.cli", "--data-dir", str(self.data), *args],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout
        return out.strip().splitlines()[-1].strip()

    def api(self, method: str, path: str, body=None) -> dict:
        return api(self.local, self.host, self.token, method, "spaces/api/" + path, body)

    def start_spaces(self) -> None:
        for name in SPACES:
            self.api("POST", "spaces", {"name": name, "sharing": "private", "app_type": "jupyterlab"})
            self.api("POST", f"spaces/{name}/start")
        deadline = time.monotonic() + 300
        for name in SPACES:
            while (status := self.api("GET", f"spaces/{name}")["status"]) != "running":
                if status == "failed" or time.monotonic() > deadline:
                    raise SystemExit(f"space {name} did not start ({status}): {self.api('GET', f'spaces/{name}').get('failure_reason')}")
                time.sleep(0.5)

    def site(self, storage: str) -> dict:
        own = self.host.replace("spaces.example.com", "{}.spaces.example.com") if "example" in self.host \
            else self.host.replace("localhost", "{}.localhost")
        return {
            "tag": self.tag,
            "login": self.cli("user", "login-link", USER, "--url", self.base),
            "storage": storage,
            "home": self.base + "lab",
            "spaces": [
                {"entry": f"{self.base}spaces/{n}/lab", "own": f"http://{own.format(n)}/spaces/{n}/lab"}
                for n in SPACES
            ],
        }

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                for name in SPACES:
                    self.api("POST", f"spaces/{name}/stop")
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and any(
                    self.api("GET", f"spaces/{n}")["status"] not in ("stopped", "failed") for n in SPACES
                ):
                    time.sleep(0.5)
            except OSError as e:  # HTTPError included: a space that never started
                print(f"bench_pageload: stopping the spaces of {self.tag}: {e}", file=sys.stderr)
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class BareLab:
    def __init__(self, work: Path):
        self.dir = work / "bare"
        (self.dir / "root").mkdir(parents=True)
        self.port = free_port()
        self.token = "bench-" + os.urandom(8).hex()
        self.log = self.dir / "lab.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
                 f"--port={self.port}", f"--ServerApp.token={self.token}",
                 f"--ServerApp.root_dir={self.dir / 'root'}",
                 # as a space server has it: no news, no update check, not the domain's extension
                 "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                 "--ServerApp.jpserver_extensions=jupyter_spaces=False"],
                cwd=self.dir / "root", stdout=log, stderr=subprocess.STDOUT, env=jupyter_env(self.dir / "jupyter"),
            )
        wait_http(f"http://127.0.0.1:{self.port}/api/status", self.proc, self.log)

    def urls(self) -> dict:
        base = f"http://localhost:{self.port}/lab"
        return {"first": f"{base}?token={self.token}", "again": base}

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def login_states(chromium: str, args: list[str], sites: list[dict], work: Path) -> None:
    """Each domain's login cookie as a Playwright storage state (the login link is one-time)."""
    script = work / "login.js"
    script.write_text(
        "const {createRequire}=require('module');"
        f"const r=createRequire({json.dumps(str(ROOT / 'ui-tests' / 'package.json'))});"
        "const {chromium}=r('@playwright/test');"
        "(async()=>{const plan=JSON.parse(require('fs').readFileSync(process.argv[2],'utf-8'));"
        "const b=await chromium.launch({executablePath:plan.chromium,args:['--no-sandbox',...plan.args]});"
        "for(const s of plan.sites){const c=await b.newContext();const p=await c.newPage();"
        "const resp=await p.goto(s.login);if(!resp.ok())throw new Error('login '+resp.status());"
        "const st=await c.storageState();require('fs').writeFileSync(s.storage,JSON.stringify({cookies:st.cookies,origins:[]}));"
        "await c.close();}await b.close();})().catch(e=>{console.error(e);process.exit(1)});"
    )
    plan = work / "login.json"
    plan.write_text(json.dumps({"chromium": chromium, "args": args, "sites": sites}))
    subprocess.run(["node", str(script), str(plan)], check=True)


ROWS = [
    ("bare lab cold", "bare_cold", None),
    ("bare lab warm", "bare_warm", None),
    ("home cold", "home_cold", "bare_cold"),
    ("home warm", "home_warm", "bare_warm"),
    ("first space cold", "first_cold", "bare_cold"),
    ("first space warm (same space again)", "first_warm", "bare_warm"),
    ("second space (after the first)", "second", "bare_warm"),
    ("switch between two running spaces (full page load)", "switch", "bare_warm"),
]


def report(results: dict, tags: list[str], runs: int) -> None:
    med = {k: statistics.median(v) / 1000 for k, v in results.items()}
    print(
        f"\nPage loads in Chromium, navigation → launcher visible (home: list shown), median of {runs} (s);"
        " the bare lab measured beside each domain, interleaved with it, is that column's anchor"
    )
    print("ratio: to the bare lab's cold (for cold rows) or warm figure; targets (issue 17): first space "
          "cold ≤ bare cold, second space ≤ bare warm, switch ≤ 1.5 s\n")
    head = f"{'':<52}" + "".join(f"{t:>22}" for t in tags)
    print(head)
    for label, key, anchor in ROWS:
        cells = []
        for t in tags:
            v = med[f"{t}:{key}"]
            ratio = f"({v / med[f'{t}:{anchor}']:>4.2f}×)" if anchor else ""
            cells.append(f"{v:>10.2f} {ratio:<8}   ")
        print(f"{label:<52}" + "".join(f"{c:>22}" for c in cells))
    print("\nall samples (ms):", json.dumps(results))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sites", default="loopback,wildcard", help="which domains: loopback, wildcard")
    opts = parser.parse_args()
    chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not os.path.exists(chromium) or not shutil.which("node"):
        print(f"bench_pageload: needs node and Chromium at {chromium}; skipped")
        return 0
    if not (ROOT / "ui-tests" / "node_modules" / "@playwright" / "test").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=ROOT / "ui-tests", check=True)
    tags = [t for t in opts.sites.split(",") if t]
    browser_args = ["--host-resolver-rules=MAP *.example.com 127.0.0.1"]
    work = Path(tempfile.mkdtemp(prefix="bench-pageload-"))
    results: dict[str, list] = {}
    bare = None
    try:
        bare = BareLab(work)
        # one domain at a time: two local launchers on one host would take each other's
        # spaces for orphans; the bare lab is measured again beside each
        for tag in tags:
            domain = Domain(work, tag, WILDCARD if tag == "wildcard" else "")
            try:
                domain.start_spaces()
                site = domain.site(str(work / f"{tag}-state.json"))
                login_states(chromium, browser_args, [site], work)
                plan = work / "plan.json"
                plan.write_text(json.dumps({
                    "chromium": chromium, "chromiumArgs": browser_args, "runs": opts.runs,
                    "bare": bare.urls(), "sites": [site],
                }))
                out = subprocess.run(["node", str(BENCH / "pageload.js"), str(plan)], check=True,
                                     stdout=subprocess.PIPE, text=True)
                for key, samples in json.loads(out.stdout.strip().splitlines()[-1]).items():
                    # the bare lab's figures beside this domain are its anchor (load varies)
                    key = f"{tag}:{key}" if key.startswith("bare_") else key
                    results.setdefault(key, []).extend(samples)
            finally:
                domain.stop()
        report(results, tags, opts.runs)
    finally:
        if bare is not None:
            bare.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

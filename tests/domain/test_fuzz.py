"""Fuzz a real domain server with schemathesis, driven by ``jupyter_spaces/openapi.yaml``.

A domain server runs as a subprocess (``python -m jupyter_spaces.cli``) on a fresh
data directory, with an admin (whose token drives the run), a plain user ``bob`` and
the spaces the document's examples name (``team-proj`` shared, ``my-notes`` private),
so that generated requests reach real objects, not only 404s.

schemathesis runs as its CLI (the stable interface of schemathesis 4.x), bounded by
``--max-examples`` and with stateful testing off. The checks are ``not_a_server_error``
and the response conformance checks (schema, status code, content type, headers).

Knobs: ``SPACES_FUZZ_EXAMPLES`` (per operation, default 15), ``SPACES_FUZZ_SEED``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.domain.openapi_check import SPEC_PATH
from tests.installed import installed_env
from tests.processes import stop, wait_for_domain

CHECKS = (
    "not_a_server_error",
    "response_schema_conformance",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
)
FUZZ_ADMIN = "fuzz-admin-7q"  # not a name the document's examples use: its token must survive


def isolated_env(data_dir: Path) -> dict:
    """The server's Jupyter dirs inside ``data_dir``: nothing read from or left in ~/.jupyter.

    Its only image cannot launch: the fuzzer's starts are accepted and fail fast, so
    fuzzing never runs dozens of real space servers.
    """
    jupyter = data_dir / "jupyter-home"
    (jupyter / "config").mkdir(parents=True, exist_ok=True)
    (jupyter / "config" / "jupyter_spaces_config.json").write_text(json.dumps({"DomainApp": {"images": [
        {"name": "default", "display_name": "Unlaunchable", "description": "", "python": "/nonexistent/python3"}
    ]}}))
    return {
        **installed_env(),
        "JUPYTER_CONFIG_DIR": str(jupyter / "config"),
        "JUPYTER_DATA_DIR": str(jupyter / "data"),
        "JUPYTER_RUNTIME_DIR": str(jupyter / "runtime"),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(python: str, data_dir: Path, *args: str) -> str:
    out = subprocess.run(
        [python, "-m", "jupyter_spaces.cli", "--data-dir", str(data_dir), *args],
        cwd=data_dir, capture_output=True, text=True, timeout=120, check=True, env=isolated_env(data_dir),
    )
    return out.stdout


def add_user(python: str, data_dir: Path, name: str, *flags: str) -> str:
    """Add a user with the CLI; the token is the last line of its output."""
    return cli(python, data_dir, "user", "add", name, *flags).strip().splitlines()[-1]


@contextlib.contextmanager
def domain_server(python: str, data_dir: Path, *, port: int | None = None, log_name: str = "server.log"):
    """A domain server subprocess on ``python`` (tests/conftest.py's installed_python: the
    project installed from its wheel in a venv); yields its base URL once it answers."""
    port = port or free_port()
    log = open(data_dir / log_name, "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [python, "-m", "jupyter_spaces.cli", "--data-dir", str(data_dir),
         "--port", str(port), "--ip", "127.0.0.1", "--no-browser"],
        cwd=data_dir, stdout=log, stderr=subprocess.STDOUT, env=isolated_env(data_dir),
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        try:
            wait_for_domain(proc, url.rstrip("/"), timeout=120)
        except RuntimeError as e:
            raise RuntimeError(f"{e}:\n{_tail(data_dir / log_name)}") from None
        if not (data_dir / "cookie_secret").exists():
            raise RuntimeError(f"the server ignored --data-dir {data_dir}:\n{_tail(data_dir / log_name)}")
        yield url
    finally:
        stop(proc, timeout=20)
        log.close()
        # Spaces outlive their domain by design (the next one re-adopts them); a test's don't.
        from jupyter_spaces.domain.config import DomainConfig

        asyncio.run(DomainConfig(data_dir=str(data_dir)).make_launcher().cleanup_orphans({}))


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def seed_world(url: str, admin_token: str) -> None:
    """The objects the document's examples name: user ``bob``, spaces ``team-proj``, ``my-notes``."""
    api = url + "spaces/api/"
    admin = {"Authorization": f"token {admin_token}"}
    with httpx.Client(timeout=30) as http:
        r = http.post(api + "users", headers=admin, json={"name": "bob", "display_name": "Bob Builder"})
        assert r.status_code == 201, r.text
        bob = {"Authorization": f"token {r.json()['token']}"}
        for headers, body in (
            (admin, {"name": "team-proj", "sharing": "shared", "app_type": "jupyterlab"}),
            (admin, {"name": "my-notes", "sharing": "private", "app_type": "jupyterlab"}),
            (bob, {"name": "bobs-lab", "sharing": "private", "app_type": "jupyterlab"}),
        ):
            r = http.post(api + "spaces", headers=headers, json=body)
            assert r.status_code == 201, r.text
        r = http.put(api + "spaces/team-proj/members/bob", headers=admin, json={"role": "viewer"})
        assert r.status_code == 200, r.text


# A 200 events stream never ends, so every fuzzed call would wait for the request
# timeout; test_lifecycle reads the stream and test_openapi checks its refusals.
EVENTS = "GET /spaces/{name}/events"


def schemathesis_command(url: str, config: Path, report: Path, *, checks=CHECKS,
                         examples: int | None = None, seed: int | None = None,
                         only: str | None = None, skip: tuple[str, ...] = ()) -> list[str]:
    """The CLI call; auth comes from ``config`` (see ``write_config``)."""
    exe = shutil.which("schemathesis") or shutil.which("st")
    base = [exe] if exe else [sys.executable, "-m", "schemathesis.cli"]
    examples = examples or int(os.environ.get("SPACES_FUZZ_EXAMPLES", "15"))
    seed = seed if seed is not None else int(os.environ.get("SPACES_FUZZ_SEED", "20240601"))
    select = []
    if only:
        select += ["--include-name", only]
    for name in skip:
        select += ["--exclude-name", name]
    return [
        *base, "--config-file", str(config), "run", str(SPEC_PATH),
        "--url", url + "spaces/api",
        *select,
        "--checks", ",".join(checks),
        "--phases", "examples,coverage,fuzzing",  # stateful off
        "--max-examples", str(examples),
        "--seed", str(seed),
        # One worker: with two, hypothesis' ast.parse runs in two threads and CPython 3.11
        # (before 3.11.8, gh-106905) fails with "AST constructor recursion depth mismatch".
        "--workers", "1",
        "--request-timeout", "30",
        "--suppress-health-check", "all",
        "--no-color",
        "--report", "ndjson",
        "--report-ndjson-path", str(report),
    ]


def write_config(path: Path, token: str) -> Path:
    """Auth through the document's own ``token`` security scheme.

    A plain ``--header`` is not enough: schemathesis generates values for the
    apiKey header itself in some phases, and those replace a ``--header``.
    """
    path.write_text(f'[auth.openapi.token]\napi_key = "token {token}"\n', encoding="utf-8")
    return path


def _interactions(report: Path):
    """``(request, response)`` dicts of every call in schemathesis' ndjson report."""
    for line in report.read_text(errors="replace").splitlines():
        try:
            stack = [json.loads(line)]
        except ValueError:
            continue
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                req, resp = node.get("request"), node.get("response")
                if isinstance(req, dict) and isinstance(resp, dict) and "status_code" in resp:
                    yield req, resp
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)


def server_errors(report: Path) -> list[str]:
    """The 5xx answers in the report, as the requests that caused them."""
    return [
        json.dumps({"request": req, "status": resp["status_code"]})[:3000]
        for req, resp in _interactions(report)
        if int(resp["status_code"]) >= 500
    ]


def statuses_of(report: Path, method: str, path: str) -> set[int]:
    return {
        int(resp["status_code"])
        for req, resp in _interactions(report)
        if req.get("method") == method and str(req.get("uri", "")).split("?")[0].endswith(path)
    }


# Revoking tokens could revoke the run's own token (schemathesis harvests names and
# ids from responses), so that operation is fuzzed last, on its own.
TOKEN_DELETE = "DELETE /users/{name}/tokens/{token_id}"


def run_schemathesis(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=540, check=False,
                          env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false"})


@pytest.mark.slow
@pytest.mark.timeout(600)  # every operation of openapi.yaml, 15 examples each: the API grows
def test_schemathesis_finds_no_server_error(tmp_path, installed_python):
    data = tmp_path / "domain"
    data.mkdir()
    admin_token = add_user(installed_python, data, FUZZ_ADMIN, "--admin")
    config = write_config(tmp_path / "schemathesis.toml", admin_token)
    main_report, token_report = tmp_path / "main.ndjson", tmp_path / "tokens.ndjson"
    with domain_server(installed_python, data) as url:
        seed_world(url, admin_token)
        main = run_schemathesis(schemathesis_command(url, config, main_report, skip=(TOKEN_DELETE, EVENTS)), tmp_path)
        tokens = run_schemathesis(schemathesis_command(url, config, token_report, only=TOKEN_DELETE), tmp_path)
        log = _tail(data / "server.log", 80)
    output = "\n".join(r.stdout[-15000:] + r.stderr[-3000:] for r in (main, tokens))
    errors = [e for rep in (main_report, token_report) if rep.exists() for e in server_errors(rep)]
    assert not errors, "5xx found:\n" + "\n".join(errors) + "\n" + output + "\nserver log:\n" + log
    assert main.returncode == 0 and tokens.returncode == 0, output
    # The run was authenticated (a lost token would turn everything into 403s).
    assert 200 in statuses_of(main_report, "GET", "/spaces/api/me"), output

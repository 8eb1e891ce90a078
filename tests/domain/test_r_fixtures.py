"""The R addin's offline tests answer with hand-built API responses; they must be the
server's, as ``jupyter_spaces/openapi.yaml`` describes them.

The R tests (``rstudio_addin/tests/testthat``, the files without a live server) run
under ``Rscript`` with ``JUPYTER_SPACES_RECORD_RESPONSES`` set: every canned exchange
they serve goes through ``served()`` (``helper-offline.R``), which appends it as a JSON
line. Each exchange with the domain API must then be an operation of the document,
with a request the document accepts and an answer it lists (status, headers, body).
Exchanges with a space's own server (the Jupyter contents API) are not the domain's
and are left alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from tests.domain.openapi_check import (
    API_MARK,
    RawRequest,
    find_operation,
    openapi,
    validate_live,
)

ADDIN = Path(__file__).resolve().parents[2] / "rstudio_addin"
# The test files that serve canned answers (test-live.R needs a real server).
OFFLINE = "offline|errors|sse|request|connect"


def check_exchange(line: dict) -> str:
    """Raise unless the recorded exchange keeps to openapi.yaml; returns its operationId
    ("" for an exchange outside the domain API)."""
    url = urlsplit(line["url"])
    if f"/{API_MARK}" not in url.path + "/":
        return ""
    body = line.get("request_body")
    request = {
        "method": line["method"],
        "path": line["url"].split(url.netloc, 1)[1],
        "body": body.encode() if isinstance(body, str) else None,
        "headers": line.get("request_headers") or {},
    }
    response = SimpleNamespace(
        status=line["status"],
        body=(line.get("body") or "").encode(),
        headers=list((line.get("headers") or {}).items()),
    )
    api_path = url.path[url.path.find(f"/{API_MARK}"):]
    template, operation = find_operation(request["method"], api_path)
    assert operation is not None, (
        f"{line['method']} {url.path} is not an operation of openapi.yaml (the fixture "
        f"answers a route the server does not have; path template: {template})"
    )
    assert validate_live(request, response) is not None
    openapi().validate_request(
        RawRequest(request["method"], api_path, url.query, request["body"], request["headers"])
    )
    return operation["operationId"]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> list[dict]:
    rscript = shutil.which("Rscript")
    assert rscript, "Rscript is needed (R is a test dependency: scripts/install-test-deps.sh)"
    out = tmp_path_factory.mktemp("r-fixtures") / "served.jsonl"
    env = {**os.environ, "JUPYTER_SPACES_RECORD_RESPONSES": str(out), "JUPYTER_SPACES_LIVE_TESTS": ""}
    code = (
        f'testthat::test_local(".", filter = "{OFFLINE}", reporter = "summary", '
        "stop_on_failure = TRUE)"
    )
    run = subprocess.run([rscript, "-e", code], check=False, cwd=ADDIN, env=env, capture_output=True,
                         text=True, timeout=240)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_every_canned_answer_of_the_r_tests_keeps_to_openapi(recorded):
    problems, operations = [], set()
    for line in recorded:
        try:
            operations.add(check_exchange(line))
        except AssertionError as e:
            problems.append(f"{line['method']} {line['url']} -> {line['status']}:\n{e}")
        except Exception as e:  # noqa: BLE001 - openapi-core raises several unrelated types
            problems.append(f"{line['method']} {line['url']} (request):\n{type(e).__name__}: {e}")
    assert not problems, "\n\n".join(problems)
    # The check saw the API, not only the contents API: a recorder that stopped
    # recording would otherwise pass.
    assert {"listSpaces", "createSpace", "startSpace", "listMembers", "getMe"} <= operations


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"body": json.dumps({"items": [{"name": "a"}], "next_cursor": None})}, "required"),
        ({"status": 418}, "418"),
        ({"url": "http://h/base/spaces/api/spaces/demo/restart", "method": "POST"}, "not an operation"),
        ({"body": json.dumps({"message": "gone"}), "status": 404}, "reason"),
    ],
)
def test_the_check_refuses_an_answer_off_the_contract(change, expected):
    good = {
        "method": "GET",
        "url": "http://h/base/spaces/api/spaces",
        "request_body": None,
        "request_headers": {"Authorization": "token t"},
        "status": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"items": [], "next_cursor": None}),
    }
    assert check_exchange(good) == "listSpaces"
    with pytest.raises(AssertionError, match=expected):
        check_exchange({**good, **change})

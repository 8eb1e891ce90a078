"""A viewer of an MLflow space browses it read-only: the gate lets through every GET and
exactly the POSTs in ``apps.MLFLOW.viewer_read_posts``. This walks the installed MLflow's
own route tables (its Flask endpoints, its FastAPI routers, its GraphQL schema) so that a
new pin that adds a writing GET, renames a search or adds a GraphQL mutation that writes
fails here, not in a viewer's hands."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from jupyter_spaces import apps
from jupyter_spaces.launchers import appspaces

pytestmark = pytest.mark.skipif(
    not apps.MLFLOW.find_program(), reason="mlflow is not installed (scripts/install-apps.sh)"
)

ROUTES = r"""
import importlib, json, warnings
warnings.simplefilter("ignore")
from mlflow.server import app
from mlflow.server.graphql.graphql_schema_extensions import schema
# every Flask route: the REST handlers and the UI's own (serve_*)
routes = [(m, r.rule, app.view_functions[r.endpoint].__name__)
          for r in app.url_map.iter_rules() for m in r.methods - {"HEAD", "OPTIONS"}]
for mod, name in [("otel_api", "otel_router"), ("job_api", "job_api_router"),
                  ("gateway_api", "gateway_router"), ("assistant.api", "assistant_router"),
                  ("artifact_router", "artifact_router"), ("mcp_server_api", "mcp_server_router"),
                  ("server_info_api", "server_info_router")]:
    for r in getattr(importlib.import_module("mlflow.server." + mod), name).routes:
        routes += [(m, r.path, r.endpoint.__name__) for m in r.methods or ()]
mutations = list(schema.graphql_schema.mutation_type.fields)
# the requests that can say who did a run: a user_id, run tags, or one tag of a run
from mlflow.protos import service_pb2
authors = [name for name, d in service_pb2.DESCRIPTOR.message_types_by_name.items()
           if "Response" in d.nested_types_by_name
           and ("user_id" in d.fields_by_name or ("run_id" in d.fields_by_name and "Tag" in name)
                or any(f.message_type and f.message_type.name == "RunTag" for f in d.fields))]
print(json.dumps({"routes": routes, "mutations": mutations, "authors": authors}))
"""

#: handlers of MLflow's that answer a POST without writing: searches, a batch get, a
#: query of metrics, and GraphQL (whose mutations are checked below)
READ_POST_HANDLERS = re.compile(
    r"^(_|serve_)(search_\w+|get_latest_versions|batch_get_trace_infos|query_trace_metrics|graphql)$"
)
#: GraphQL "mutations" of the pinned MLflow, all reads despite the name
READ_MUTATIONS = {"mlflowSearchDatasets", "mlflowSearchRuns", "testMutation"}
#: a GET handler whose name says it changes something
WRITE_NAMES = re.compile(r"(^|_)(create|delete|update|set|log|upload|rename|restore|register|"
                         r"invoke|cancel|generate|add|remove|upsert|finalize|link|transition)(_|$)")


@pytest.fixture(scope="module")
def mlflow_tables() -> dict:
    python = appspaces.program_python(apps.MLFLOW.find_program())
    done = subprocess.run([python, "-c", ROUTES], check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _relative(rule: str) -> str:
    return rule.lstrip("/")


def _handler(message: str) -> str:
    """MLflow's handler of a request message: CreateRun -> _create_run."""
    return "_" + re.sub(r"(?<!^)([A-Z])", r"_\1", message).lower()


def test_every_post_a_viewer_may_send_is_an_mlflow_route_that_only_reads(mlflow_tables):
    posts = {_relative(rule): name for method, rule, name in mlflow_tables["routes"] if method == "POST"}
    for route in apps.MLFLOW.viewer_read_posts:
        assert route in posts, f"{route} is no POST route of this MLflow"
        assert READ_POST_HANDLERS.match(posts[route]), f"{route} is handled by {posts[route]}"


def test_every_search_of_mlflow_is_open_to_viewers(mlflow_tables):
    """The UI's pages search with POST: one left out is a page a viewer cannot see."""
    missing = sorted(
        _relative(rule)
        for method, rule, name in mlflow_tables["routes"]
        if method == "POST" and READ_POST_HANDLERS.match(name) and "<" not in rule
        and _relative(rule) not in apps.MLFLOW.viewer_read_posts
    )
    assert missing == []


def test_no_get_of_mlflow_writes(mlflow_tables):
    writing = sorted(
        f"{rule} ({name})" for method, rule, name in mlflow_tables["routes"]
        if method == "GET" and WRITE_NAMES.search(name)
    )
    assert writing == []


def test_graphql_has_no_mutation_that_writes(mlflow_tables):
    assert set(mlflow_tables["mutations"]) <= READ_MUTATIONS


def test_every_write_route_of_mlflow_is_refused_to_viewers(mlflow_tables):
    for method, rule, name in mlflow_tables["routes"]:
        if method in ("GET", "HEAD", "OPTIONS") or READ_POST_HANDLERS.match(name):
            continue
        # a path parameter filled in the way an attacker would: ending like a read
        path = re.sub(r"<[^>]+>|\{[^}]+\}", "x/2.0/mlflow/runs/search", _relative(rule))
        assert not apps.MLFLOW.viewer_may(method, path), f"{method} {rule} ({name})"


def test_every_request_that_names_a_runs_author_goes_through_the_caller_stamp(mlflow_tables):
    """A member of a shared MLflow space logs runs as themselves: each route that takes a
    user_id or a run's tags is one the gate rewrites (``apps.MLFLOW.caller_routes``)."""
    handlers = {_handler(m) for m in mlflow_tables["authors"]}
    assert {"_create_run", "_set_tag", "_delete_tag", "_log_batch"} <= handlers
    routes = {_relative(rule) for method, rule, name in mlflow_tables["routes"] if method == "POST" and name in handlers}
    assert routes == set(apps.MLFLOW.caller_routes)


STAMP = apps.MLFLOW.stamp_caller


def test_a_created_run_is_the_callers_whatever_its_client_says():
    body = {"experiment_id": "1", "user_id": "root", "tags": [{"key": "mlflow.user", "value": "root"},
                                                             {"key": "team", "value": "a"}]}  # fmt: skip
    stamped = STAMP("api/2.0/mlflow/runs/create", body, "eddie")
    assert stamped["user_id"] == "eddie" and stamped["experiment_id"] == "1"
    assert stamped["tags"] == [{"key": "team", "value": "a"}, {"key": "mlflow.user", "value": "eddie"}]
    assert STAMP("api/2.0/mlflow/runs/create", {"experiment_id": "1"}, "eddie")["tags"] == [
        {"key": "mlflow.user", "value": "eddie"}
    ]


@pytest.mark.parametrize(
    "route, body",
    [
        ("api/2.0/mlflow/runs/set-tag", {"run_id": "r", "key": "mlflow.user", "value": "alice"}),
        ("ajax-api/2.0/mlflow/runs/delete-tag", {"run_id": "r", "key": "mlflow.user"}),
        ("api/2.0/mlflow/runs/log-batch", {"run_id": "r", "tags": [{"key": "mlflow.user", "value": "alice"}]}),
    ],
)
def test_nobody_changes_a_runs_author_later(route, body):
    with pytest.raises(PermissionError, match="set by the domain"):
        STAMP(route, body, "eddie")


def test_other_tags_and_bad_tags():
    body = {"run_id": "r", "key": "team", "value": "b"}
    assert STAMP("api/2.0/mlflow/runs/set-tag", dict(body), "eddie") == body
    # a key that is no string is MLflow's to refuse, not a crash of the gate
    odd = {"run_id": "r", "key": ["mlflow.user"], "value": "b"}
    assert STAMP("api/2.0/mlflow/runs/set-tag", dict(odd), "eddie") == odd
    for tags in ("mlflow.user", [["mlflow.user", "x"]]):
        with pytest.raises(ValueError, match="tags must be a list"):
            STAMP("api/2.0/mlflow/runs/log-batch", {"run_id": "r", "tags": tags}, "eddie")

"""``jupyter_spaces/openapi.yaml`` is valid, matches the handler table, and the server keeps it.

(a) the document is valid OpenAPI 3.1;
(b) every tornado route of the domain API is in the document and vice versa, with the
    same methods and path parameters; the request-body schemas have the pydantic
    models' fields and accept/refuse the same bodies;
(c) every route, called live as several roles, answers as the document says
    (openapi-core validates each request/response pair through ``openapi_check``).
"""

from __future__ import annotations

import re

import pytest
from jsonschema import validators
from jsonschema.exceptions import ValidationError as ValidationError_
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec
from pydantic import ValidationError
from referencing import Registry, Resource
from sqlalchemy import select
from tornado import web

from jupyter_spaces.domain import schemas
from jupyter_spaces.domain.handlers import default_handlers
from jupyter_spaces.domain.handlers.base import NotFoundHandler
from jupyter_spaces.domain.models import Space

from tests.domain.openapi_check import (
    api_prefix,
    checked_api,
    documented_operations,
    find_operation,
    spec_dict,
    validate_live,
)

HTTP_METHODS = ("get", "post", "put", "patch", "delete")

# -- (a) ---------------------------------------------------------------------------------


def test_document_is_valid_openapi_3_1():
    spec = spec_dict()
    assert spec["openapi"].startswith("3.1.")
    validate_spec(spec)


def test_document_security_and_shared_error():
    spec = spec_dict()
    scheme = spec["components"]["securitySchemes"]["token"]
    assert scheme == {**scheme, "type": "apiKey", "in": "header", "name": "Authorization"}
    assert spec["security"] == [{"token": []}]
    for template, item in spec["paths"].items():
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            for status, resp in op["responses"].items():
                if int(status) >= 400:
                    assert resp["$ref"].startswith("#/components/responses/"), (method, template, status)
            if "requestBody" in op:
                ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                body = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
                assert body["additionalProperties"] is False, ref
                assert {"400", "413", "422"} <= set(op["responses"]), (method, template)
            created = op["responses"].get("201")
            if created and template in ("/users", "/spaces"):
                assert "Location" in created["headers"]
    for name, resp in spec["components"]["responses"].items():
        assert resp["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, name


# -- (b) ---------------------------------------------------------------------------------


def _expand(regex: str) -> list[tuple[str, tuple[str, ...]]]:
    """A tornado route regex as OpenAPI templates: ``[(template, path param names)]``."""
    assert regex.startswith(api_prefix() + "/"), regex
    rel = regex[len(api_prefix()):]
    alternatives = re.search(r"\(\?P<(\w+)>(\w+(?:\|[\w-]+)+)\)", rel)
    if alternatives:  # a group of literal alternatives (start|stop) is one path each
        return [
            item
            for word in alternatives.group(2).split("|")
            for item in _expand(api_prefix() + rel.replace(alternatives.group(0), word))
        ]
    names = tuple(re.findall(r"\(\?P<(\w+)>", rel))
    template = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", rel)
    assert re.fullmatch(r"[/\w{}.-]+", template), f"cannot read route {regex!r} as a template"
    return [(template, names)]


def _implemented(handler: type[web.RequestHandler]) -> set[str]:
    return {m.upper() for m in HTTP_METHODS if getattr(handler, m) is not getattr(web.RequestHandler, m)}


def handler_operations() -> dict[tuple[str, str], tuple[str, ...]]:
    ops = {}
    for spec in default_handlers:
        regex, handler = spec[0], spec[1]
        if handler is NotFoundHandler:
            assert regex == api_prefix() + "/.*"
            continue
        for template, names in _expand(regex):
            for method in _implemented(handler):
                ops[(method, template)] = names
    return ops


def test_every_route_is_documented_and_vice_versa():
    implemented = handler_operations()
    documented = documented_operations()
    assert sorted(set(implemented) - documented) == [], "routes missing from openapi.yaml"
    assert sorted(documented - set(implemented)) == [], "documented operations with no handler"
    # The catch-all comes last, so it never shadows a documented route.
    assert default_handlers[-1][1] is NotFoundHandler


def test_path_parameters_match_the_routes():
    spec = spec_dict()
    for (method, template), names in handler_operations().items():
        item = spec["paths"][template]
        params = [*item.get("parameters", []), *item[method.lower()].get("parameters", [])]
        resolved = [_resolve(p) for p in params]
        path_params = {p["name"] for p in resolved if p["in"] == "path"}
        route_params = set(names) - {"verb"}  # start|stop became literal paths
        assert path_params == route_params == set(re.findall(r"{(\w+)}", template)), (method, template)


def _resolve(obj: dict) -> dict:
    while "$ref" in obj:
        node = spec_dict()
        for part in obj["$ref"].lstrip("#/").split("/"):
            node = node[part]
        obj = node
    return obj


# Request body schema <-> pydantic model, per operation.
BODY_MODELS = {
    ("POST", "/users"): schemas.UserCreate,
    ("PATCH", "/users/{name}"): schemas.UserUpdate,
    ("POST", "/users/{name}/tokens"): schemas.TokenCreate,
    ("POST", "/spaces"): schemas.SpaceCreate,
    ("PATCH", "/spaces/{name}"): schemas.SpaceUpdate,
    ("PUT", "/spaces/{name}/members/{user}"): schemas.MemberPut,
}


def _body_schema(method: str, template: str) -> dict:
    op = spec_dict()["paths"][template][method.lower()]
    return _resolve(op["requestBody"]["content"]["application/json"]["schema"])


def test_body_schemas_have_the_model_fields():
    spec = spec_dict()
    with_body = {
        (m.upper(), t) for t, item in spec["paths"].items() for m, op in item.items()
        if m in HTTP_METHODS and "requestBody" in op
    }
    assert with_body == set(BODY_MODELS)
    for (method, template), model in BODY_MODELS.items():
        schema = _body_schema(method, template)
        assert schema["additionalProperties"] is False
        assert set(schema["properties"]) == set(model.model_fields), model.__name__
        required = {n for n, f in model.model_fields.items() if f.is_required()}
        assert set(schema.get("required", [])) == required, model.__name__


def _ecma_pattern(validator, pattern, instance, schema):
    """JSON Schema patterns are ECMA-262: ``$`` is the end of the string, never before a
    final newline as in Python's ``re`` (which jsonschema uses)."""
    if validator.is_type(instance, "string") and not re.search(re.sub(r"(?<!\\)\$$", r"\\Z", pattern), instance):
        yield ValidationError_(f"{instance!r} does not match {pattern!r}")


ECMAValidator = validators.extend(OAS31Validator, {"pattern": _ecma_pattern})


def _validator_for(method: str, template: str):
    spec = spec_dict()
    registry = Registry().with_resource("urn:spec", Resource.from_contents(spec, default_specification=_DRAFT))
    op = spec["paths"][template][method.lower()]
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return ECMAValidator({"$ref": "urn:spec" + ref}, registry=registry)


def _draft():
    from referencing.jsonschema import DRAFT202012

    return DRAFT202012


_DRAFT = _draft()

LONG = "x" * 257
# (operation, body); each must be accepted by both or refused by both.
BODY_CASES = [
    (("POST", "/users"), {"name": "ok"}),
    (("POST", "/users"), {"name": "a.b-c_d"}),
    (("POST", "/users"), {"name": "Upper"}),
    (("POST", "/users"), {"name": "trailing-"}),
    (("POST", "/users"), {"name": "abc\n"}),
    (("POST", "/users"), {"name": "x" * 64}),
    (("POST", "/users"), {"name": "x" * 65}),
    (("POST", "/users"), {"name": "ok", "admin": "true"}),
    (("POST", "/users"), {"name": "ok", "admin": None}),
    (("POST", "/users"), {"name": "ok", "display_name": None, "password": None}),
    (("POST", "/users"), {"name": "ok", "display_name": "   "}),
    (("POST", "/users"), {"name": "ok", "display_name": "Ada\x00"}),
    (("POST", "/users"), {"name": "ok", "display_name": "Ada\u0085x"}),
    (("POST", "/users"), {"name": "ok", "display_name": "Ada Lovelace ✓"}),
    (("POST", "/users"), {"name": "ok", "display_name": LONG}),
    (("POST", "/users"), {"name": "ok", "password": "short"}),
    (("POST", "/users"), {"name": "ok", "password": "long enough"}),
    (("POST", "/users"), {"name": "ok", "extra": 1}),
    (("POST", "/users"), {}),
    (("PATCH", "/users/{name}"), {}),
    (("PATCH", "/users/{name}"), {"color": "#abcdef"}),
    (("PATCH", "/users/{name}"), {"color": "#ABCDEF"}),
    (("PATCH", "/users/{name}"), {"color": None, "admin": None, "password": None}),
    (("PATCH", "/users/{name}"), {"admin": 1}),
    (("POST", "/users/{name}/tokens"), {}),
    (("POST", "/users/{name}/tokens"), {"note": None}),
    (("POST", "/users/{name}/tokens"), {"note": "x" * 256, "expires_in_days": 3650}),
    (("POST", "/users/{name}/tokens"), {"expires_in_days": 0}),
    (("POST", "/users/{name}/tokens"), {"expires_in_days": "5"}),
    (("POST", "/users/{name}/tokens"), {"expires_in_days": True}),
    (("POST", "/spaces"), {"name": "a", "sharing": "private", "app_type": "jupyterlab"}),
    (("POST", "/spaces"), {"name": "a--b", "sharing": "private", "app_type": "jupyterlab"}),
    (("POST", "/spaces"), {"name": "a-b", "sharing": "public", "app_type": "jupyterlab"}),
    (("POST", "/spaces"), {"name": "a" * 63, "sharing": "shared", "app_type": "rstudio"}),
    (("POST", "/spaces"), {"name": "a" * 64, "sharing": "shared", "app_type": "rstudio"}),
    (("POST", "/spaces"), {"name": "a", "sharing": "shared"}),
    (("POST", "/spaces"), {"name": "a", "sharing": "shared", "app_type": "code-editor", "volume_gb": 16384,
                           "idle_timeout_minutes": 0, "instance_type": "x", "image": None}),
    (("POST", "/spaces"), {"name": "a", "sharing": "shared", "app_type": "jupyterlab", "volume_gb": 0}),
    (("POST", "/spaces"), {"name": "a", "sharing": "shared", "app_type": "jupyterlab", "instance_type": ""}),
    (("PATCH", "/spaces/{name}"), {"idle_timeout_minutes": 10081}),
    (("PATCH", "/spaces/{name}"), {"display_name": "New name", "image": "i" * 64}),
    (("PATCH", "/spaces/{name}"), {"image": "i" * 65}),
    (("PATCH", "/spaces/{name}"), {"name": "renamed"}),
    (("PUT", "/spaces/{name}/members/{user}"), {"role": "viewer"}),
    (("PUT", "/spaces/{name}/members/{user}"), {"role": "owner"}),
    (("PUT", "/spaces/{name}/members/{user}"), {}),
]


@pytest.mark.parametrize(("op", "body"), BODY_CASES, ids=[f"{m}-{t}-{i}" for i, ((m, t), _) in enumerate(BODY_CASES)])
def test_body_schema_agrees_with_the_model(op, body):
    model = BODY_MODELS[op]
    try:
        model.model_validate(body)
        model_ok = True
    except ValidationError:
        model_ok = False
    errors = list(_validator_for(*op).iter_errors(body))
    assert model_ok == (not errors), (op, body, [e.message for e in errors])


def test_query_parameters_match_the_models():
    spec = spec_dict()
    for template, model in (("/users", schemas.Page), ("/audit", schemas.AuditQuery), ("/spaces", schemas.SpaceQuery)):
        params = {_resolve(p)["name"] for p in spec["paths"][template]["get"]["parameters"]}
        assert params == set(model.model_fields), template


# -- (c) ---------------------------------------------------------------------------------

SHARED = "team-proj"
PRIVATE = "secret-alice-zq"


async def test_live_responses_match_the_document(client, world, service, domain):
    calls: list = []

    async def call(method, route, who="owner", **kw):
        return await checked_api(client, method, route, who=who, record=calls, **kw)

    # me, users
    assert (await call("GET", "me")).status == 200
    assert (await call("GET", "me", who=None)).status == 403
    page = (await call("GET", "users?limit=2")).json()
    assert page["next_cursor"]
    assert (await call("GET", f"users?limit=2&cursor={page['next_cursor']}")).status == 200
    assert (await call("GET", "users?limit=0")).status == 400
    assert (await call("GET", "users?bogus=1")).status == 400
    assert (await call("GET", "users?cursor=%%%")).status == 400
    new_user = {"name": "newbie", "display_name": "New Bie", "password": "long enough"}
    assert (await call("POST", "users", body=new_user)).status == 403
    r = await call("POST", "users", who="admin", body=new_user)
    assert r.status == 201 and r.headers["Location"].endswith("spaces/api/users/newbie")
    assert (await call("POST", "users", who="admin", body=new_user)).status == 409
    assert (await call("POST", "users", who="admin", body={"name": "Bad Name"})).status == 422
    assert (await call("POST", "users", who="admin", raw=b"{not json")).status == 400
    assert (await call("POST", "users", who="admin", raw=b"\xff\xfe")).status == 400
    assert (await call("POST", "users", who="admin", raw=b"[1]")).status == 400
    assert (await call("POST", "users", who="admin", raw=b" " * (65 * 1024))).status == 413
    assert (await call("GET", "users/alice")).status == 200
    assert (await call("GET", "users/nobody")).status == 404
    assert (await call("GET", "users/%ff")).status == 400
    assert (await call("PATCH", "users/otto", who="other", body={"display_name": "Otto O", "color": "#123456"})).status == 200
    assert (await call("PATCH", "users/otto", body={"display_name": "Not mine"})).status == 403
    assert (await call("PATCH", "users/nobody", who="admin", body={"display_name": "X"})).status == 404
    assert (await call("PATCH", "users/root", who="admin", body={"admin": False})).status == 409
    assert (await call("PATCH", "users/otto", who="other", body={"colour": "#123456"})).status == 422
    assert (await call("PATCH", "users/otto", who="other", raw=b"nope")).status == 400
    assert (await call("DELETE", "users/newbie")).status == 403
    assert (await call("DELETE", "users/alice", who="admin")).status == 409
    assert (await call("DELETE", "users/newbie", who="admin")).status == 204
    assert (await call("DELETE", "users/newbie", who="admin")).status == 404

    # tokens
    assert (await call("GET", "users/eddie/tokens", who="editor")).status == 200
    assert (await call("GET", "users/eddie/tokens")).status == 403
    assert (await call("GET", "users/nobody/tokens", who="admin")).status == 404
    r = await call("POST", "users/eddie/tokens", who="editor", body={"note": "ci", "expires_in_days": 30})
    assert r.status == 201
    token_id = r.json()["id"]
    assert (await call("POST", "users/eddie/tokens", body={})).status == 403
    assert (await call("POST", "users/nobody/tokens", who="admin", body={})).status == 404
    assert (await call("POST", "users/eddie/tokens", who="editor", body={"expires_in_days": 0})).status == 422
    assert (await call("POST", "users/eddie/tokens", who="editor", raw=b"\"s\"")).status == 400
    assert (await call("DELETE", f"users/eddie/tokens/{token_id}")).status == 403
    assert (await call("DELETE", f"users/eddie/tokens/{token_id}", who="editor")).status == 204
    assert (await call("DELETE", f"users/eddie/tokens/{token_id}", who="admin")).status == 404

    # sessions
    assert (await call("DELETE", "users/eddie/sessions", who="editor")).status == 204
    assert (await call("DELETE", "users/eddie/sessions", who="admin")).status == 204
    assert (await call("DELETE", "users/eddie/sessions", who="viewer")).status == 403
    assert (await call("DELETE", "users/nobody/sessions", who="admin")).status == 404

    # login links
    assert (await call("POST", "users/eddie/login-link", who="admin")).status == 201
    assert (await call("POST", "users/eddie/login-link", who="editor")).status == 403
    assert (await call("POST", "users/nobody/login-link", who="admin")).status == 404

    # audit
    assert (await call("GET", "audit?actor=root&action=user&target_type=user&target=eddie"
                              "&since=2020-01-01T00:00:00Z&until=2999-01-01T00:00:00%2B01:00", who="admin")).status == 200
    assert (await call("GET", "audit?since=2020-01-01", who="admin")).status == 400
    page = (await call("GET", "audit?limit=3", who="admin")).json()
    assert page["items"] and page["next_cursor"]
    assert (await call("GET", f"audit?cursor={page['next_cursor']}", who="admin")).status == 200
    assert (await call("GET", "audit", who="owner")).status == 403
    assert (await call("GET", "audit?cursor=bm90IGEgY3Vyc29y", who="admin")).status == 400

    # spaces
    for who in ("owner", "editor", "viewer", "other", "admin"):
        assert (await call("GET", "spaces", who=who)).status == 200
    page = (await call("GET", "spaces?limit=1&sort=-created", who="admin")).json()
    assert (await call("GET", f"spaces?limit=1&sort=-created&cursor={page['next_cursor']}", who="admin")).status == 200
    assert (await call("GET", "spaces?sharing=shared&app_type=jupyterlab&status=stopped&owner=alice"
                              "&name_contains=team&sort=last_activity")).status == 200
    assert (await call("GET", "spaces?sort=size")).status == 400
    assert (await call("GET", "spaces?limit=1&limit=2")).status == 400
    fresh = {"name": "fresh", "sharing": "private", "app_type": "jupyterlab", "display_name": "Fresh",
             "instance_type": "small", "image": "default", "volume_gb": 2, "idle_timeout_minutes": 0}
    r = await call("POST", "spaces", body=fresh)
    assert r.status == 201 and r.headers["Location"].endswith("spaces/api/spaces/fresh")
    assert (await call("POST", "spaces", who="other", body=fresh)).status == 409
    assert (await call("POST", "spaces", body={**fresh, "name": "Bad_Name"})).status == 422
    assert (await call("POST", "spaces", body={**fresh, "name": "r1", "app_type": "rstudio"})).status == 422
    assert (await call("POST", "spaces", body={**fresh, "name": "r1", "instance_type": "huge"})).status == 422
    assert (await call("POST", "spaces", raw=b"")).status == 422
    assert (await call("POST", "spaces", raw=b"nul\x00")).status == 400
    assert (await call("POST", "spaces", who=None, body=fresh)).status == 403
    for who in ("owner", "editor", "viewer", "other", "admin"):
        assert (await call("GET", f"spaces/{SHARED}", who=who)).status == 200
    admin_view = (await call("GET", f"spaces/{PRIVATE}", who="admin")).json()
    assert admin_view["role"] is None and admin_view["url"] is None
    assert (await call("GET", f"spaces/{PRIVATE}", who="other")).status == 404
    assert (await call("GET", "spaces/%ff")).status == 400
    assert (await call("PATCH", f"spaces/{SHARED}", body={"display_name": "Team", "volume_gb": 10})).status == 200
    assert (await call("PATCH", f"spaces/{SHARED}", who="editor", body={"display_name": "x"})).status == 403
    assert (await call("PATCH", f"spaces/{PRIVATE}", who="other", body={"display_name": "x"})).status == 404
    assert (await call("PATCH", f"spaces/{SHARED}", body={"image": "nope"})).status == 422
    assert (await call("PATCH", f"spaces/{SHARED}", raw=b"1")).status == 400
    _set_status(service, SHARED, "running")
    assert (await call("PATCH", f"spaces/{SHARED}", body={"volume_gb": 20})).status == 409
    assert (await call("DELETE", f"spaces/{SHARED}")).status == 409
    _set_status(service, SHARED, "stopped")
    assert (await call("DELETE", f"spaces/{SHARED}", who="editor")).status == 403
    assert (await call("DELETE", "spaces/fresh", who="other")).status == 404
    assert (await call("DELETE", "spaces/fresh")).status == 204

    # lifecycle, events, presence
    # (this domain's image cannot launch: a start is accepted, then fails fast)
    for verb in ("start", "stop"):
        assert (await call("POST", f"spaces/{SHARED}/{verb}")).status == 202
        await domain.lifecycle.settle()
        assert (await call("POST", f"spaces/{SHARED}/{verb}", who="viewer")).status == 403
        assert (await call("POST", f"spaces/{PRIVATE}/{verb}", who="other")).status == 404
    # (a 200 events stream never ends; test_lifecycle reads one)
    assert (await call("GET", f"spaces/{PRIVATE}/events", who="editor")).status == 404
    assert (await call("GET", "events", who=None)).status == 403  # (the feed: tests/domain/test_feed.py)
    assert (await call("GET", f"spaces/{SHARED}/presence", who="viewer")).status == 200
    assert (await call("GET", f"spaces/{PRIVATE}/presence", who="admin")).status == 404

    # members
    members = (await call("GET", f"spaces/{SHARED}/members", who="other")).json()
    assert members["items"][0]["role"] == "owner"
    assert (await call("GET", f"spaces/{PRIVATE}/members")).status == 200
    assert (await call("GET", f"spaces/{PRIVATE}/members", who="admin")).status == 404
    assert (await call("PUT", f"spaces/{SHARED}/members/otto", body={"role": "viewer"})).status == 200
    assert (await call("PUT", f"spaces/{SHARED}/members/otto", who="admin", body={"role": "editor"})).status == 200
    assert (await call("PUT", f"spaces/{SHARED}/members/otto", who="editor", body={"role": "viewer"})).status == 403
    assert (await call("PUT", f"spaces/{SHARED}/members/nobody", body={"role": "viewer"})).status == 404
    assert (await call("PUT", f"spaces/{SHARED}/members/alice", body={"role": "viewer"})).status == 409
    assert (await call("PUT", f"spaces/{PRIVATE}/members/otto", body={"role": "viewer"})).status == 409
    assert (await call("PUT", f"spaces/{SHARED}/members/otto", body={"role": "owner"})).status == 422
    assert (await call("PUT", f"spaces/{SHARED}/members/otto", raw=b"{")).status == 400
    assert (await call("DELETE", f"spaces/{SHARED}/members/vera", who="editor")).status == 403
    assert (await call("DELETE", f"spaces/{SHARED}/members/vera")).status == 204
    assert (await call("DELETE", f"spaces/{SHARED}/members/vera")).status == 404
    assert (await call("DELETE", f"spaces/{PRIVATE}/members/vera")).status == 409

    # catalogues
    for route in ("instance-types", "images", "app-types"):
        assert (await call("GET", route, who="viewer")).status == 200
        assert (await call("GET", route, who=None)).status == 403

    # outside the document: the error shape, 404/405
    assert (await call("GET", "no/such/route")).status == 404
    assert (await call("PUT", "spaces", body={})).status in (403, 405)  # the route table refuses it first
    assert (await call("GET", "users/eddie/tokens/not-a-number")).status in (404, 405)

    # Every documented operation was exercised and checked.
    hit = {(c.method, c.template) for c in calls if c.operation_id}
    assert sorted(documented_operations() - hit) == []


def _set_status(service, name: str, status: str) -> None:
    with service.store.write() as session:
        session.scalar(select(Space).where(Space.name == name)).status = status


def test_validate_live_accepts_the_lead_call_shapes():
    """The helper takes routes, full paths and several response types."""
    from dataclasses import dataclass

    @dataclass
    class Response:  # the conftest's shape
        status: int
        body: bytes
        headers: dict

    err = Response(404, b'{"message": "x", "reason": "not_found"}', {"Content-Type": "application/json"})
    assert validate_live(("GET", "spaces/nope"), err).operation_id == "getSpace"
    assert validate_live({"method": "GET", "path": "/a%40b/spaces/api/spaces/nope"}, err).template == "/spaces/{name}"
    assert validate_live(("GET", "/a%40b/api/contents"), err) is None
    assert find_operation("GET", "/spaces/api/spaces/x/members/y") == ("/spaces/{name}/members/{user}", None)
    bad = Response(200, b'{"message": "x"}', {"Content-Type": "application/json"})
    with pytest.raises(AssertionError):
        validate_live(("GET", "spaces/nope"), bad)

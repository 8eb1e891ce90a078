"""Check live requests/responses of the domain API against ``jupyter_spaces/openapi.yaml``.

``validate_live(request_info, response)`` is the one entry point; tests call it for
every response they get (``checked_api`` does the call and the check in one go)::

    from tests.domain.openapi_check import checked_api, validate_live

    r = await client.api("GET", "spaces?limit=2", who="owner")
    validate_live(("GET", "spaces?limit=2"), r)
    r = await checked_api(client, "PATCH", "spaces/x", who="owner", body={...})

``request_info`` names the request: a ``(method, path)`` or ``(method, path, body)``
tuple, or a mapping with ``method``, ``path`` and optionally ``body``/``headers``.
``path`` is either an API route as ``Client.api`` takes it (``"spaces/x?limit=2"``,
relative to ``<base_url>spaces/api/``) or, with a leading ``/``, a full server path
(``"/a%40b/spaces/api/me"``); full paths outside ``spaces/api/`` are not checked.

``response`` may be the conftest's ``Response`` (``status``, ``body``, ``headers``),
an ``httpx.Response`` or a tornado ``HTTPResponse``.

A response of a documented operation is validated by openapi-core (status listed,
body schema, required headers such as ``Location``). A request the document does not
list (unknown path or method under the API) must have been answered 404/405 in the
error shape.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import yaml
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_schema_validator import OAS31Validator
from werkzeug.datastructures import Headers, ImmutableMultiDict

import jupyter_spaces

SPEC_PATH = Path(jupyter_spaces.__file__).parent / "openapi.yaml"
API_MARK = "spaces/api/"
HOST_URL = "http://localhost"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@functools.cache
def spec_dict() -> dict:
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


@functools.cache
def openapi() -> OpenAPI:
    return OpenAPI.from_dict(spec_dict())


def api_prefix() -> str:
    """The servers' path (``/spaces/api``) the paths of the document hang under."""
    return spec_dict()["servers"][0]["url"].rstrip("/")


# -- openapi-core adapters ---------------------------------------------------------------


def _content_type(headers: Headers) -> str:
    return (headers.get("Content-Type") or "").lower()


class RawRequest:
    """openapi-core's ``Request`` protocol over plain values (no framework)."""

    def __init__(self, method: str, path: str, query: str = "", body: bytes | None = None,
                 headers: Mapping | None = None, host_url: str = HOST_URL):
        self.method = method.lower()
        self.host_url = host_url
        self.path = path
        self.body = body
        hdrs = Headers(list(dict(headers or {}).items()))
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(query, keep_blank_values=True)),
            header=hdrs,
            cookie=ImmutableMultiDict(),
        )
        self.content_type = _content_type(hdrs) or ("application/json" if body else "")

    @property
    def full_url_pattern(self) -> str:  # pragma: no cover - protocol completeness
        return self.host_url + self.path


class RawResponse:
    """openapi-core's ``Response`` protocol over plain values."""

    def __init__(self, status_code: int, data: bytes | None, headers: Mapping | list):
        self.status_code = int(status_code)
        self.data = data if data else None
        items = headers.items() if isinstance(headers, Mapping) else headers
        self.headers = Headers(list(items))
        self.content_type = _content_type(self.headers)


# -- normalising what callers give us ------------------------------------------------------


@dataclass(frozen=True)
class LiveRequest:
    method: str
    api_path: str | None  # "/spaces/api/..." (the document's server + path), None if not the API
    query: str
    body: bytes | None
    headers: Mapping


def _request_parts(request_info) -> LiveRequest:
    headers: Mapping = {}
    body = None
    if isinstance(request_info, Mapping):
        method, path = request_info["method"], request_info["path"]
        body = request_info.get("body")
        headers = request_info.get("headers") or {}
    else:
        method, path, *rest = request_info
        if rest:
            body = rest[0]
    if body is not None and not isinstance(body, (bytes, bytearray)):
        body = json.dumps(body).encode()
    split = urlsplit(path)
    raw_path = split.path
    if raw_path.startswith("/") or "://" in path:
        idx = raw_path.find("/" + API_MARK)
        if idx < 0 and not raw_path.endswith("/" + API_MARK.rstrip("/")):
            return LiveRequest(method.upper(), None, split.query, body, headers)
        api_path = raw_path[idx:] if idx >= 0 else "/" + API_MARK.rstrip("/")
    else:
        api_path = "/" + API_MARK + raw_path.lstrip("/")
    # The document's paths hang under its server URL (``/spaces/api``).
    return LiveRequest(method.upper(), api_path, split.query, body, headers)


def _response_parts(response) -> RawResponse:
    status = getattr(response, "status", None)
    if not isinstance(status, int):
        status = getattr(response, "status_code", None) or getattr(response, "code")
    body = getattr(response, "body", None)
    if body is None:
        body = getattr(response, "content", None)
    if isinstance(body, str):
        body = body.encode()
    headers = response.headers
    if hasattr(headers, "get_all"):  # tornado HTTPHeaders
        headers = list(headers.get_all())
    elif hasattr(headers, "multi_items"):  # httpx
        headers = list(headers.multi_items())
    return RawResponse(status, body or b"", headers)


# -- finding the documented operation ------------------------------------------------------


@functools.cache
def _templates() -> list[tuple[re.Pattern, str]]:
    out = []
    for template in spec_dict()["paths"]:
        regex = re.escape(template)
        regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", regex)
        out.append((re.compile(f"^{regex}$"), template))
    # Literal segments win over parameters (none overlap today, but keep it true).
    out.sort(key=lambda t: t[1].count("{"))
    return out


def find_operation(method: str, api_path: str) -> tuple[str | None, dict | None]:
    """``(path template, operation)`` of the document for a request, Nones if not listed."""
    prefix = api_prefix()
    if not api_path.startswith(prefix):
        return None, None
    rel = api_path[len(prefix):] or "/"
    for regex, template in _templates():
        if regex.match(rel):
            return template, spec_dict()["paths"][template].get(method.lower())
    return None, None


def _error_validator() -> OAS31Validator:
    schema = dict(spec_dict()["components"]["schemas"]["Error"])
    return OAS31Validator(schema)


# -- the check -----------------------------------------------------------------------------


class OpenAPIMismatch(AssertionError):
    pass


def _describe(req: LiveRequest, resp: RawResponse) -> str:
    body = (resp.data or b"")[:2000].decode("utf-8", "replace")
    q = f"?{req.query}" if req.query else ""
    return f"{req.method} {req.api_path}{q} -> {resp.status_code} {body}"


def _error_details(exc: Exception) -> str:
    parts = [f"{type(exc).__name__}: {exc}"]
    seen = {id(exc)}
    cause = exc.__cause__ or exc.__context__
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        parts.append(f"{type(cause).__name__}: {cause}")
        for err in getattr(cause, "schema_errors", ()) or ():
            parts.append(f"  - {'/'.join(map(str, err.absolute_path))}: {err.message}")
        cause = cause.__cause__ or cause.__context__
    return "\n".join(parts)


@dataclass(frozen=True)
class Checked:
    """What ``validate_live`` checked: the operation (or None) and the status."""

    method: str
    template: str | None
    operation_id: str | None
    status: int


def validate_live(request_info, response) -> Checked | None:
    """Raise ``OpenAPIMismatch`` unless the live pair agrees with the document.

    Returns ``None`` for requests outside the API (nothing to check), else ``Checked``.
    """
    req = _request_parts(request_info)
    if req.api_path is None:
        return None
    resp = _response_parts(response)
    template, operation = find_operation(req.method, req.api_path)
    if operation is None:
        # Not documented: the server must refuse it in the API's error shape (an unknown
        # method on a documented path: 405 from tornado, or 403 from the route table,
        # which refuses what no role may use before the handler is asked).
        expected = (404,) if template is None else (403, 404, 405)
        problems = []
        if resp.status_code not in expected:
            problems.append(f"undocumented request answered {resp.status_code}, not {expected}")
        try:
            body = json.loads(resp.data or b"null")
            errors = list(_error_validator().iter_errors(body))
            problems += [f"error shape: {e.message}" for e in errors]
        except ValueError as e:
            problems.append(f"body is not JSON: {e}")
        if problems:
            raise OpenAPIMismatch(_describe(req, resp) + "\n" + "\n".join(problems))
        return Checked(req.method, template, None, resp.status_code)
    raw = RawRequest(req.method, req.api_path, req.query, req.body, req.headers)
    try:
        openapi().validate_response(raw, resp)
    except Exception as e:  # openapi-core raises several unrelated types
        raise OpenAPIMismatch(_describe(req, resp) + "\n" + _error_details(e)) from e
    return Checked(req.method, template, operation.get("operationId"), resp.status_code)


async def checked_api(client, method: str, route: str, *, record: list | None = None, **kw):
    """``client.api(...)`` and ``validate_live`` on its answer; returns the response."""
    resp = await client.api(method, route, **kw)
    body = kw.get("raw", kw.get("body"))
    checked = validate_live({"method": method, "path": route, "body": body, "headers": kw.get("headers")}, resp)
    if record is not None and checked is not None:
        record.append(checked)
    return resp


def documented_operations() -> set[tuple[str, str]]:
    """Every ``(METHOD, path template)`` of the document."""
    return {
        (method.upper(), template)
        for template, item in spec_dict()["paths"].items()
        for method in item
        if method in METHODS
    }

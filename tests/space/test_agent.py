"""The space agent in a real (in-process) jupyter server, over real HTTP."""

import json
import time

import pytest
import tornado.httpclient
import tornado.websocket
from jupyter_server.utils import url_path_join

from jupyter_spaces import routes
from jupyter_spaces.signing import generate_secret, sign_request
from jupyter_spaces.space.authorizer import SpaceAuthorizer
from jupyter_spaces.space.identity import SpaceIdentityProvider

from .conftest import IDENTITIES, SPACE, target

# jupyter_server_terminals' TermSocket checks auth itself; with
# allow_unauthenticated_access=False jupyter_server warns about it, and the
# project turns warnings into errors, which would stop terminals from loading.
pytestmark = pytest.mark.filterwarnings("ignore:Extension endpoints without @allow_unauthenticated")


def message(response):
    return json.loads(response.body)["message"]


async def test_agent_replaces_auth(jp_serverapp):
    assert isinstance(jp_serverapp.identity_provider, SpaceIdentityProvider)
    assert isinstance(jp_serverapp.authorizer, SpaceAuthorizer)
    assert jp_serverapp.identity_provider.token == ""
    assert not jp_serverapp.identity_provider.login_available


async def test_secret_file_is_removed(jp_serverapp, tmp_path):
    assert not (tmp_path / "space-secret").exists()


@pytest.mark.parametrize("parts", [("api", "me"), ("api", "contents"), ("api", "status")])
async def test_unsigned_api_request_is_403(fetch, parts):
    r = await fetch(*parts, role=None)
    assert r.code == 403
    assert "only requests through the jupyter-spaces domain" in message(r)


async def test_unsigned_page_request_is_403_not_a_login_redirect(fetch, jp_root_dir):
    (jp_root_dir / "notes.txt").write_text("hello")
    r = await fetch("view", "notes.txt", role=None)
    assert r.code == 403
    assert "Location" not in r.headers
    assert (await fetch("view", "notes.txt", role="viewer")).code == 200


async def test_there_is_no_login_page(fetch):
    assert (await fetch("login", role=None)).code == 403
    assert (await fetch("login", role="owner")).code == 404


async def test_unsigned_with_cookie_or_token_is_403(fetch, jp_serverapp):
    r = await fetch(
        "api", "me", role=None, headers={"Authorization": "token anything", "Cookie": "_xsrf=x"}
    )
    assert r.code == 403


async def test_me_shows_the_signed_identity(fetch):
    r = await fetch("api", "me", role="editor", params={"permissions": json.dumps({"contents": ["read", "write"]})})
    assert r.code == 200
    body = json.loads(r.body)
    assert body["identity"] == {
        "username": "editor-user",
        "name": "The Editor",
        "display_name": "The Editor",
        "initials": "ED",
        "avatar_url": None,
        "color": "#1f77b4",
        "role": "editor",
    }
    assert body["permissions"]["contents"] == ["read", "write"]
    assert body["permissions"]["updatable_fields"] == []
    # Nothing to log in with later: the agent never sets a login cookie.
    assert not any("username-" in c for c in r.headers.get_list("Set-Cookie"))


async def test_viewer_permissions_in_me(fetch):
    perms = {"contents": ["read", "write"], "kernels": ["read", "write", "execute"], "terminals": ["execute"]}
    r = await fetch("api", "me", role="viewer", params={"permissions": json.dumps(perms)})
    assert json.loads(r.body)["permissions"] == {
        "contents": ["read"],
        "kernels": ["read"],
        "terminals": [],
        "updatable_fields": [],
    }


async def test_forged_signature_is_403(fetch):
    r = await fetch("api", "me", sign={"secret": generate_secret()})
    assert r.code == 403
    assert "signature does not match" in message(r)


async def test_promoted_role_is_403(fetch, jp_base_url, space_secret):
    # A viewer's valid headers with the identity swapped for an owner's.
    path = target(jp_base_url, "api", "contents", "x.txt")
    headers = sign_request(space_secret, SPACE, "PUT", path, IDENTITIES["viewer"])
    owner = sign_request(space_secret, SPACE, "PUT", path, IDENTITIES["owner"])
    headers["X-Jupyter-Spaces-Identity"] = owner["X-Jupyter-Spaces-Identity"]
    body = json.dumps({"type": "file", "format": "text", "content": "x"})
    r = await fetch("api", "contents", "x.txt", role=None, headers=headers, method="PUT", body=body)
    assert r.code == 403


async def test_replayed_signature_is_403(fetch, jp_base_url, space_secret):
    headers = sign_request(space_secret, SPACE, "GET", target(jp_base_url, "api", "me"), IDENTITIES["owner"])
    assert (await fetch("api", "me", role=None, headers=headers)).code == 200
    r = await fetch("api", "me", role=None, headers=headers)
    assert r.code == 403
    assert "replay" in message(r)


@pytest.mark.parametrize("offset", [-60, 60])
async def test_stale_or_future_timestamp_is_403(fetch, offset):
    r = await fetch("api", "me", sign={"now": time.time() + offset})
    assert r.code == 403
    assert "clock skew" in message(r)


@pytest.mark.parametrize(
    "sign",
    [
        {"space": "other-space"},
        {"path": "/a%40b/api/contents"},
        {"method": "POST"},
    ],
    ids=["other-space", "other-path", "other-method"],
)
async def test_signature_for_something_else_is_403(fetch, sign):
    r = await fetch("api", "me", sign=sign)
    assert r.code == 403
    assert "signature does not match" in message(r)


async def test_query_is_signed(fetch, jp_base_url, space_secret):
    path = target(jp_base_url, "api", "contents", params={"content": "0"})
    headers = sign_request(space_secret, SPACE, "GET", path, IDENTITIES["viewer"])
    r = await fetch("api", "contents", role=None, headers=headers, params={"content": "1"})
    assert r.code == 403


async def test_signed_unsafe_request_needs_no_xsrf_and_ignores_origin(fetch):
    # The signature is the credential (see identity.py): no _xsrf cookie, foreign Origin.
    r = await fetch("api", "contents", method="POST", body=json.dumps({"type": "file"}),
                    headers={"Origin": "https://elsewhere.example"})
    assert r.code == 201


# --- role matrix -----------------------------------------------------------------


@pytest.fixture
def files(jp_root_dir):
    (jp_root_dir / "data.txt").write_text("numbers\n1\n2\n")
    nb = {
        "cells": [{"cell_type": "markdown", "metadata": {}, "source": "# Hi", "id": "c1"}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (jp_root_dir / "analysis.ipynb").write_text(json.dumps(nb))
    return jp_root_dir


@pytest.mark.parametrize("role", ["viewer", "editor", "owner"])
async def test_everyone_reads(fetch, files, role):
    listing = await fetch("api", "contents", role=role)
    assert listing.code == 200
    assert {m["name"] for m in json.loads(listing.body)["content"]} >= {"data.txt", "analysis.ipynb"}
    nb = await fetch("api", "contents", "analysis.ipynb", role=role)
    assert nb.code == 200
    assert json.loads(nb.body)["content"]["cells"][0]["source"] == "# Hi"
    assert (await fetch("files", "data.txt", role=role)).code == 200
    assert (await fetch("api", "kernelspecs", role=role)).code == 200
    assert (await fetch("api", "sessions", role=role)).code == 200


TEXT = json.dumps({"type": "file", "format": "text", "content": "changed"})


async def test_viewer_cannot_change_anything(fetch, files):
    cases = [
        ("PUT", ("api", "contents", "data.txt"), TEXT),
        ("PUT", ("api", "contents", "new.txt"), TEXT),
        ("POST", ("api", "contents"), json.dumps({"type": "notebook"})),
        ("PATCH", ("api", "contents", "data.txt"), json.dumps({"path": "renamed.txt"})),
        ("DELETE", ("api", "contents", "data.txt"), None),
        ("POST", ("api", "contents", "analysis.ipynb", "checkpoints"), "{}"),
        ("POST", ("api", "kernels"), json.dumps({"name": "python3"})),
        ("POST", ("api", "sessions"), json.dumps({"path": "analysis.ipynb", "type": "notebook",
                                                   "kernel": {"name": "python3"}})),
        ("POST", ("api", "terminals"), "{}"),
        ("POST", ("api", "shutdown"), "{}"),
    ]
    for method, parts, body in cases:
        kwargs = {"body": body} if body is not None else {}
        r = await fetch(*parts, role="viewer", method=method, allow_nonstandard_methods=True, **kwargs)
        assert r.code == 403, (method, parts, r.code)
        # The space's route table refuses first (space/routes.py); the authorizer is the second
        # line. JupyterLab shows the message in its error dialog: it says what a viewer is.
        assert json.loads(r.body)["reason"] == "forbidden", r.body
        # (a shutdown is nobody's)
        said = routes.NOT_ALLOWED if parts == ("api", "shutdown") else routes.NOT_FOR_VIEWER
        assert json.loads(r.body)["message"] == said, (method, parts, r.body)
    assert (files / "data.txt").read_text() == "numbers\n1\n2\n"
    assert not (files / "new.txt").exists()


@pytest.mark.parametrize("role", ["editor", "owner"])
async def test_editor_and_owner_change_files(fetch, files, role):
    assert (await fetch("api", "contents", "data.txt", role=role, method="PUT", body=TEXT)).code == 200
    assert (files / "data.txt").read_text() == "changed"
    r = await fetch("api", "contents", "data.txt", role=role, method="PATCH",
                    body=json.dumps({"path": "renamed.txt"}))
    assert r.code == 200
    r = await fetch("api", "contents", "renamed.txt", role=role, method="DELETE")
    assert r.code == 204
    assert not (files / "renamed.txt").exists()


async def only_editors_connect(port: int, path: str, secret: str) -> None:
    """The websocket at ``path`` refuses a signed viewer and an unsigned caller with 403,
    and opens for a signed editor."""

    async def connect(role):
        headers = sign_request(secret, SPACE, "GET", path, IDENTITIES[role]) if role else {}
        req = tornado.httpclient.HTTPRequest(f"ws://localhost:{port}{path}", headers=headers)
        return await tornado.websocket.websocket_connect(req)

    for role in ("viewer", None):
        with pytest.raises(tornado.httpclient.HTTPClientError) as e:
            await connect(role)
        assert e.value.code == 403
    (await connect("editor")).close()


async def test_terminals(fetch, jp_http_port, jp_base_url, space_secret):
    created = await fetch("api", "terminals", role="editor", method="POST")
    assert created.code == 200
    name = json.loads(created.body)["name"]
    await only_editors_connect(jp_http_port, url_path_join(jp_base_url, "terminals", "websocket", name), space_secret)
    assert (await fetch("api", "terminals", name, role="viewer", method="DELETE")).code == 403
    assert (await fetch("api", "terminals", name, role="editor", method="DELETE")).code == 204


@pytest.mark.timeout(120)
async def test_kernels_and_sessions(fetch, files, jp_http_port, jp_base_url, space_secret):
    body = json.dumps({"path": "analysis.ipynb", "type": "notebook", "kernel": {"name": "python3"}})
    r = await fetch("api", "sessions", role="editor", method="POST", body=body)
    assert r.code == 201
    session = json.loads(r.body)
    kernel_id = session["kernel"]["id"]
    channels = url_path_join(jp_base_url, "api", "kernels", kernel_id, "channels") + "?session_id=test"
    await only_editors_connect(jp_http_port, channels, space_secret)
    # Viewers see that a kernel exists but cannot touch it.
    assert (await fetch("api", "kernels", kernel_id, role="viewer")).code == 200
    for parts, method in [
        (("api", "kernels", kernel_id, "interrupt"), "POST"),
        (("api", "kernels", kernel_id, "restart"), "POST"),
        (("api", "kernels", kernel_id), "DELETE"),
        (("api", "sessions", session["id"]), "DELETE"),
    ]:
        assert (await fetch(*parts, role="viewer", method=method)).code == 403
    assert (await fetch("api", "sessions", session["id"], role="editor", method="DELETE")).code == 204

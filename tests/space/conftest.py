"""A real in-process space server with the agent, and a client that signs like the domain."""

import urllib.parse

import pytest
from jupyter_server.utils import url_path_join
from tornado.escape import url_escape
from traitlets.config import Config

from jupyter_spaces.signing import generate_secret, sign_request

SPACE = "demo-space"

IDENTITIES = {
    role: {
        "name": f"{role}-user",
        "display_name": f"The {role.title()}",
        "initials": role[:2].upper(),
        "color": "#1f77b4",
        "role": role,
    }
    for role in ("owner", "editor", "viewer")
}


@pytest.fixture
def space_secret():
    return generate_secret()


@pytest.fixture
def jp_server_config(space_secret, tmp_path):
    secret_file = tmp_path / "space-secret"
    secret_file.write_text(space_secret + "\n")
    secret_file.chmod(0o600)
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_spaces.space": True, "jupyter_server_terminals": True},
                "allow_unauthenticated_access": False,
            },
            "SpaceAgentApp": {
                "space_name": SPACE,
                "secret_file": str(secret_file),
                # Keep the pytest process dumpable; the subprocess tests cover the default.
                "protect_process_memory": False,
            },
        }
    )


def target(base_url, *parts, params=None):
    """The request target exactly as jp_fetch sends it (and so as the server sees it)."""
    path = url_path_join(base_url, url_escape(url_path_join(*parts), plus=False))
    query = urllib.parse.urlencode(params or {})
    # tornado's client drops an empty "?", so the server sees the bare path.
    return path + "?" + query if query else path


@pytest.fixture
def fetch(jp_fetch, jp_base_url, space_secret):
    """``fetch(*parts, role=..., method=..., ...)``: a request signed like the domain proxy does.

    ``role=None`` sends it unsigned; ``sign=`` overrides what is signed
    (keys: secret, space, method, path, identity, now) to forge mistakes.
    Returns the response; HTTP errors are returned too, not raised.
    """

    async def _fetch(*parts, role="editor", sign=None, params=None, headers=None, **kwargs):
        method = kwargs.get("method", "GET")
        headers = dict(headers or {})
        if role is not None:
            how = {
                "secret": space_secret,
                "space": SPACE,
                "method": method,
                "path": target(jp_base_url, *parts, params=params),
                "identity": IDENTITIES[role],
            }
            how.update(sign or {})
            headers.update(sign_request(**how))
        kwargs.setdefault("raise_error", False)
        kwargs.setdefault("follow_redirects", False)
        if method in ("POST", "PUT", "PATCH") and "body" not in kwargs:
            kwargs["body"] = "{}"
        return await jp_fetch(*parts, params=params, headers=headers, **kwargs)

    return _fetch

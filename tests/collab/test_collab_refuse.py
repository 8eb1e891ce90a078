"""The service refuses to run beside jupyter-collaboration's server extension."""

from __future__ import annotations

import pytest
from jupyter_spaces.collab import get_service
from jupyter_spaces.collab.service import conflicting_extension
from traitlets.config import Config

from tests.collab.conftest import headers, roles_config


@pytest.fixture
def jp_server_config():
    cfg = roles_config()
    cfg["ServerApp"]["jpserver_extensions"]["jupyter_server_ydoc"] = True
    return Config(cfg)


async def test_refuses_beside_jupyter_server_ydoc(jp_serverapp, jp_fetch):
    assert conflicting_extension(jp_serverapp) == "jupyter_server_ydoc"
    assert get_service(jp_serverapp) is None
    from tornado.httpclient import HTTPClientError

    with pytest.raises(HTTPClientError) as e:
        await jp_fetch("api", "collaboration", "session", "x.ipynb", method="PUT", body="{}", headers=headers())
    assert e.value.code == 404

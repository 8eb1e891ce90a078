"""The config of an in-process domain server in tests (pytest-jupyter's ``jp_server_config``)."""

from __future__ import annotations

from jupyter_spaces.domain.auth import DomainAuthorizer, DomainIdentityProvider

#: For tests of the API, not of running spaces: starts are accepted (202), then fail fast.
UNLAUNCHABLE = {"name": "default", "display_name": "Unlaunchable", "description": "",
                "python": "/nonexistent/bin/python3"}


def domain_server_config(data_dir, *, python: str | None = None, server: dict | None = None,
                         domain: dict | None = None, **sections) -> dict:
    """The domain extension with its own identity provider and authorizer, unauthenticated
    access off, state in ``data_dir``; its one image runs ``python`` (the project installed
    in a venv, tests/conftest.py), or cannot launch when None. ``server`` and ``domain`` add
    ServerApp and DomainApp settings; ``sections``, other classes' config."""
    image = {"name": "default", "display_name": "Installed", "description": "", "python": python} if python else UNLAUNCHABLE
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_spaces": True},
            "identity_provider_class": DomainIdentityProvider,
            "authorizer_class": DomainAuthorizer,
            "allow_unauthenticated_access": False,
            **(server or {}),
        },
        "DomainApp": {"data_dir": str(data_dir), "images": [image], **(domain or {})},
        **sections,
    }


def lifecycle_running(lifecycle, loop):
    """For a fixture: ``lifecycle`` started (its background checks on), then, after the
    test, every space it runs stopped and whatever it left behind cleaned up."""
    loop.run_until_complete(lifecycle.start())
    yield

    async def stop_everything():
        await lifecycle.settle()
        for name, state in list(lifecycle._running.items()):
            await lifecycle.launcher.stop(name, state)
        await lifecycle.launcher.cleanup_orphans({})

    loop.run_until_complete(stop_everything())

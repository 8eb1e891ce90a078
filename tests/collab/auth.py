"""Test identity and roles: the token authenticates; headers say who and which role.
(In a space, the space agent's trusted-identity provider and role authorizer do this.)"""

from __future__ import annotations

from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.identity import IdentityProvider, User

COLORS = {"alice": "#e6194b", "bob": "#3cb44b", "carol": "#4363d8"}


class HeaderIdentityProvider(IdentityProvider):
    async def get_user(self, handler):  # type: ignore[override]
        user = await super().get_user(handler)
        if user is None:
            return None
        name = handler.request.headers.get("X-Test-User", "alice")
        return User(
            username=name,
            name=name,
            display_name=name.title() + " Test",
            initials=name[:1].upper() + "T",
            color=COLORS.get(name, "#911eb4"),
        )


class HeaderRoleAuthorizer(Authorizer):
    def is_authorized(self, handler, user, action, resource):  # type: ignore[override]
        role = handler.request.headers.get("X-Test-Role", "editor")
        if role == "viewer" and action == "write":
            return False
        return True

"""Routes: me, users, tokens, sessions, audit."""

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..revocation import token_credential
from ..schemas import AuditQuery, Page, TokenCreate, UserCreate, UserUpdate
from ..servicebase import iso
from .base import DomainHandler

NAME = r"(?P<name>[^/]+)"


class MeHandler(DomainHandler):
    @web.authenticated
    @authorized
    async def get(self):
        self.reply(await self.call(self.domain.service.me, self.caller))


class UsersHandler(DomainHandler):
    @web.authenticated
    @authorized
    async def get(self):
        page = self.query(Page)
        self.reply(await self.call(self.domain.service.list_users, self.caller, page))

    @web.authenticated
    @authorized
    async def post(self):
        body = self.body(UserCreate)
        user = await self.call(self.domain.service.create_user, self.caller, body)
        self.set_header("Location", f"{self.base_url}spaces/api/users/{user['name']}")
        self.reply(user, 201)


class UserHandler(DomainHandler):
    @web.authenticated
    @authorized
    async def get(self, name):
        self.reply(await self.call(self.domain.service.get_user, self.caller, name))

    @web.authenticated
    @authorized
    async def patch(self, name):
        body = self.body(UserUpdate)
        session = self.identity_provider.session_of(self)
        user = await self.call(self.domain.service.update_user, self.caller, name, body, session)
        self.identity_provider.cache.clear()  # admin rights and names apply at once
        if body.admin is not None:
            await self.domain.revocations.admin_changed(name)
        if "password" in body.model_fields_set:  # its other sessions ended: so do their connections
            changed = await self.call(self.domain.service.user_by_name, name)
            self.domain.revocations.sessions_ended(changed.id)
        self.reply(user)

    @web.authenticated
    @authorized
    async def delete(self, name):
        gone = await self.call(self.domain.service.user_by_name, name)
        await self.call(self.domain.service.delete_user, self.caller, name)
        self.identity_provider.cache.clear()
        await self.domain.revocations.user_removed(gone.id, name)
        self.no_content()


class TokensHandler(DomainHandler):
    @web.authenticated
    @authorized
    async def get(self, name):
        self.reply(await self.call(self.domain.service.list_tokens, self.caller, name))

    @web.authenticated
    @authorized
    async def post(self, name):
        body = self.body(TokenCreate)
        self.reply(await self.call(self.domain.service.create_token, self.caller, name, body), 201)


class TokenHandler(DomainHandler):
    @web.authenticated
    @authorized
    async def delete(self, name, token_id):
        digest = await self.call(self.domain.service.delete_token, self.caller, name, int(token_id))
        self.identity_provider.cache.clear()
        self.domain.revocations.credential_revoked(token_credential(digest))
        self.no_content()


class SessionsHandler(DomainHandler):
    @web.authenticated
    @authorized
    async def delete(self, name):
        """Sign out everywhere: end all of the user's browser sessions (self or admin)."""
        user_id = await self.call(self.domain.service.sign_out_everywhere, self.caller, name)
        self.identity_provider.cache.forget_user(user_id)
        self.domain.revocations.sessions_ended(user_id)
        self.no_content()


class LoginLinkHandler(DomainHandler):
    @web.authenticated
    @authorized
    async def post(self, name):
        """A new one-time login link for the user (admin), on the domain's own address."""
        token, expires = await self.call(self.domain.service.new_login_link, self.caller, name)
        origins, host = self.domain.origins, self.request.host
        # The domain's host even when asked from another name of it (127.0.0.1)
        origin = origins.domain_origin(self.request.protocol, host) if origins.isolated else (
            f"{self.request.protocol}://{host}"
        )
        url = f"{origin}{self.base_url}login?token={token}"
        self.reply({"user": name, "url": url, "expires": iso(expires)}, 201)


class AuditHandler(DomainHandler):
    @web.authenticated
    @authorized
    async def get(self):
        query = self.query(AuditQuery)
        self.reply(await self.call(self.domain.service.list_audit, self.caller, query))


handlers = [
    (r"/spaces/api/me", MeHandler),
    (r"/spaces/api/users", UsersHandler),
    (rf"/spaces/api/users/{NAME}", UserHandler),
    (rf"/spaces/api/users/{NAME}/tokens", TokensHandler),
    (rf"/spaces/api/users/{NAME}/tokens/(?P<token_id>[0-9]{{1,12}})", TokenHandler),
    (rf"/spaces/api/users/{NAME}/sessions", SessionsHandler),
    (rf"/spaces/api/users/{NAME}/login-link", LoginLinkHandler),
    (r"/spaces/api/audit", AuditHandler),
]

"""Domain identity for jupyter_server: who is calling, and what the domain server serves.

- ``DomainIdentityProvider``: API tokens (``Authorization: token ...`` or ``?token=``)
  and the login cookie, both resolved against the domain's users; Jupyter's
  single-token mode is off. The login cookie carries the random id of a server-side
  session (``DomainService.create_session``), never a user name.
- ``LoginHandler``: password form (failures rate-limited per user name and per
  client address) and one-time login links; each sign-in starts a session.
- ``LogoutHandler``: ends the session, not only the cookie.
- ``DomainAuthorizer``: the domain server runs no user code and serves no files, so
  only its own API and Jupyter's identity/status routes are allowed — for everyone,
  admins included (from kernels or contents here one would reach every volume).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from urllib.parse import urlparse

from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.auth.identity import IdentityProvider, User
from jupyter_server.auth.logout import LogoutHandler as JupyterLogoutHandler
from jupyter_server.base.handlers import JupyterHandler
from tornado import web
from tornado.escape import url_escape, xhtml_escape
from traitlets import Bool, Float, Int, default

from ..errors import Forbidden, TooManyRequests
from .accounts import LoginThrottle, token_digest
from .origins import SPACE_COOKIE
from .servicebase import LOGIN_LINK_TTL
from .space_entry import space_session_user
from .policy import Caller

SETTINGS_KEY = "jupyter_spaces_domain"


@dataclass
class DomainUser(User):
    """jupyter_server's user with the domain's id and admin flag."""

    id: int = 0
    admin: bool = False
    #: the login session behind a cookie (None for API tokens)
    session_id: int | None = None
    #: the space a space session is bound to (None: the domain's own credentials)
    space: str | None = None

    @property
    def caller(self) -> Caller:
        return Caller(id=self.id, name=self.username, admin=self.admin)


def to_domain_user(user) -> DomainUser:
    return DomainUser(
        username=user.name,
        name=user.display_name,
        display_name=user.display_name,
        initials=user.initials,
        color=user.color,
        id=user.id,
        admin=user.admin,
    )


class IdentityCache:
    """Who a token or login cookie was, for a couple of seconds.

    Every proxied request needs the caller; asking the store each time costs a
    thread hop and a query. A removed user or revoked token stays valid for at
    most ``ttl`` seconds — unless this process changed it: then ``forget_user``
    drops the user's entries at once. Failures are never cached.
    """

    def __init__(self, ttl: float = 2.0, size: int = 10_000):
        self.ttl = ttl
        self.size = size
        self._entries: dict[str, tuple[float, DomainUser]] = {}

    def get(self, key: str) -> DomainUser | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key: str, user: DomainUser) -> None:
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self.ttl, user)

    def clear(self) -> None:
        self._entries.clear()

    def forget_user(self, user_id: int) -> None:
        """Drop every cached token and cookie of this user (their sessions just ended)."""
        for key, (_, user) in list(self._entries.items()):
            if user.id == user_id:
                self._entries.pop(key, None)


class DomainIdentityProvider(IdentityProvider):
    # No shared server token: every request needs a domain user.
    need_token = Bool(False)

    @default("token")
    def _token_default(self):
        return ""

    @property
    def auth_enabled(self) -> bool:
        return True

    @property
    def login_available(self) -> bool:
        return True

    @default("login_handler_class")
    def _login_handler_class_default(self):
        return LoginHandler

    @default("logout_handler_class")
    def _logout_handler_class_default(self):
        return LogoutHandler

    def validate_security(self, app, ssl_options=None) -> None:
        pass  # the base class warns about a missing token, which a domain never has

    cache_seconds = Float(
        2.0,
        config=True,
        help="Seconds a token's or login cookie's user is remembered without asking the store. "
        "A removed user or revoked token keeps working for at most this long.",
    )

    @property
    def cache(self) -> IdentityCache:
        if not hasattr(self, "_cache"):
            self._cache = IdentityCache(self.cache_seconds)
        return self._cache

    login_failures_per_user = Int(
        5,
        config=True,
        help="Failed password sign-ins for one user name (each within "
        "login_failure_window_seconds of the last) after which that name is locked out.",
    )
    login_failures_per_address = Int(
        20,
        config=True,
        help="Failed password sign-ins from one client address (any user names) after which "
        "that address is locked out.",
    )
    login_failure_window_seconds = Float(
        900.0,
        config=True,
        help="Failures are forgotten this many seconds after the last one (and any lock-out's end).",
    )
    login_lockout_seconds = Float(
        30.0,
        config=True,
        help="The first lock-out's length; each failure after a lock-out doubles it, up to "
        "login_max_lockout_seconds. While locked out, every sign-in (a right password too) "
        "answers 429 with Retry-After.",
    )
    login_max_lockout_seconds = Float(900.0, config=True, help="The longest lock-out, in seconds.")

    @property
    def throttle(self) -> LoginThrottle:
        if not hasattr(self, "_throttle"):
            self._throttle = LoginThrottle(
                per_user=self.login_failures_per_user,
                per_address=self.login_failures_per_address,
                window=self.login_failure_window_seconds,
                lockout=self.login_lockout_seconds,
                max_lockout=self.login_max_lockout_seconds,
            )
        return self._throttle

    async def get_user(self, handler: web.RequestHandler) -> DomainUser | None:
        cached = getattr(handler, "_jupyter_current_user", None)
        if cached:
            return cached
        domain = handler.settings.get(SETTINGS_KEY)
        if domain is None:
            return None
        space = domain.origins.space_of(handler.request.host)
        token = self.get_token(handler)
        if space is not None and not token:
            return await self._space_session_user(handler, domain, space)
        if token:
            key = "t:" + token_digest(token)
            user = self.cache.get(key)
            if user is None:
                found = await domain.run(domain.service.user_for_token, token)
                if found is None:
                    return None
                user = to_domain_user(found)
                self.cache.put(key, user)
            handler._token_authenticated = True
            return user
        raw = handler.get_cookie(self.get_cookie_name(handler))
        if not raw:
            return None
        key = "c:" + raw
        user = self.cache.get(key)
        if user is not None:
            return user
        session = self.session_of(handler)
        if not session:
            return None
        found = await domain.run(domain.service.session_user, session)
        if found is None:
            return None
        user, session_id = found
        user = replace(to_domain_user(user), session_id=session_id)
        self.cache.put(key, user)
        return user

    def session_of(self, handler: web.RequestHandler) -> str | None:
        """The raw session id in the request's (signed) login cookie."""
        value = handler.get_secure_cookie(self.get_cookie_name(handler), **self.get_secure_cookie_kwargs)
        try:
            return value.decode("ascii") if value else None
        except UnicodeDecodeError:
            return None

    def set_session_cookie(self, handler: web.RequestHandler, session: str) -> None:
        """The login cookie, carrying a raw session id (with jupyter_server's cookie options)."""
        options = {"httponly": True, "samesite": "Lax", "path": handler.base_url, **self.cookie_options}
        secure = self.secure_cookie if self.secure_cookie is not None else handler.request.protocol == "https"
        if secure:
            options.setdefault("secure", True)
        handler.set_secure_cookie(self.get_cookie_name(handler), session, **options)

    def persist_user_model(self, handler: web.RequestHandler) -> None:
        pass  # the user lives in the store; the cookie only ever carries the session id

    async def _space_session_user(self, handler, domain, space: str) -> DomainUser | None:
        """On a space's own host only its space session cookie counts (never the login cookie)."""
        raw = handler.get_cookie(SPACE_COOKIE)
        if not raw:
            return None
        key = "s:" + raw
        user = self.cache.get(key)
        if user is not None:
            return user
        session = handler.get_secure_cookie(SPACE_COOKIE, **self.get_secure_cookie_kwargs)
        if not session:
            return None
        found = await domain.run(space_session_user, domain.service, session.decode("ascii", "replace"), space)
        if found is None:
            return None
        user, session_id = found
        user = replace(to_domain_user(user), session_id=session_id, space=space)
        self.cache.put(key, user)
        return user

    def identity_model(self, user: User) -> dict:
        model = asdict(user)
        for internal in ("id", "session_id", "space"):
            model.pop(internal, None)
        return model


class DomainAuthorizer(Authorizer):
    """Allow the domain's own resources only; kernels, terminals, contents ... never."""

    allowed_resources = frozenset({"spaces", "api", "csp"})

    def is_authorized(self, handler, user, action, resource) -> bool:
        return user is not None and resource in self.allowed_resources


LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · Jupyter Spaces</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{{font-family:system-ui,sans-serif;background:#f5f5f5;color:#222;display:flex;
justify-content:center;padding-top:12vh;margin:0}}
form{{background:#fff;padding:2rem 2.5rem;border-radius:8px;box-shadow:0 1px 4px #0002;width:20rem}}
h1{{font-size:1.3rem;margin:0 0 1rem}} label{{display:block;margin:.8rem 0 .2rem}}
input[type=text],input[type=password]{{width:100%;padding:.5rem;box-sizing:border-box}}
button{{margin-top:1.2rem;width:100%;padding:.6rem;background:#1976d2;color:#fff;border:0;
border-radius:4px;font-size:1rem}} .error{{color:#b00020;margin:.5rem 0}}
@media (prefers-color-scheme: dark){{
body{{background:#111;color:#ddd}} form{{background:#222;box-shadow:0 1px 4px #0008}}
input[type=text],input[type=password]{{background:#111;color:#ddd;border:1px solid #555}}
.error{{color:#ff8a80}}
}}
</style></head><body>
<form method="post" action="{action}">
<h1>Jupyter Spaces</h1>
{error}
{xsrf}
<input type="hidden" name="next" value="{next}">
<label for="username">User name</label><input id="username" type="text" name="username" autofocus>
<label for="password">Password</label><input id="password" type="password" name="password">
<button type="submit">Sign in</button>
</form></body></html>"""


# A login link that no longer works: what happened and what to do, no password form
# (a user added in the console may have no password to type).
LINK_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} · Jupyter Spaces</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{{font-family:system-ui,sans-serif;background:#f5f5f5;color:#222;display:flex;
justify-content:center;padding-top:12vh;margin:0}}
main{{background:#fff;padding:2rem 2.5rem;border-radius:8px;box-shadow:0 1px 4px #0002;max-width:28rem}}
h1{{font-size:1.3rem;margin:0 0 1rem}} p{{line-height:1.45}} .alt{{color:#555;font-size:.9rem}}
code{{background:#eee;padding:0 .2rem}} a{{color:#1976d2}}
@media (prefers-color-scheme: dark){{
body{{background:#111;color:#ddd}} main{{background:#222;box-shadow:0 1px 4px #0008}}
.alt{{color:#aaa}} code{{background:#333}} a{{color:#64b5f6}}
}}
</style></head><body>
<main role="main">
<h1>{title}</h1>
<p>{why}</p>
<p>Ask an administrator of this domain for a new login link: in the spaces home,
<em>Users (admin)</em> → <em>Login link</em>, or <code>jupyter spaces user login-link NAME</code>
on the server. Each link works once, within {hours} hours.</p>
<p class="alt">Already signed in here or have a password? <a href="{login}">Sign in</a>.</p>
</main></body></html>"""

LINK_PROBLEMS = {
    "expired": ("This login link has expired", "Login links stop working after {hours} hours, and this one is older."),
    "unknown": (
        "This login link no longer works",
        "It was already used (each link signs in once), or it is not a link this domain made.",
    ),
}


class LoginHandler(JupyterHandler):
    """Password form, and ``login?token=...`` one-time login links."""

    @property
    def domain(self):
        return self.settings[SETTINGS_KEY]

    def _next_url(self) -> str:
        """Only a path on this server (no open redirect)."""
        target = self.get_argument("next", "")
        parsed = urlparse(target)
        if target.startswith(self.base_url) and not parsed.scheme and not parsed.netloc and "\\" not in target:
            return target
        return self.base_url

    def _render(self, error: str = "", status: int = 200) -> None:
        self.set_status(status)
        self.finish(
            LOGIN_PAGE.format(
                action=xhtml_escape(self.request.path),
                error=f'<p class="error">{xhtml_escape(error)}</p>' if error else "",
                xsrf=self.xsrf_form_html(),
                next=xhtml_escape(self._next_url()),
            )
        )

    def _link_problem(self, why: str) -> None:
        hours = int(LOGIN_LINK_TTL.total_seconds() // 3600)
        title, text = LINK_PROBLEMS[why]
        self.set_status(403)
        self.finish(
            LINK_PAGE.format(
                title=title, why=text.format(hours=hours), hours=hours,
                login=xhtml_escape(self.request.path + "?next=" + url_escape(self._next_url())),
            )
        )

    def _signed_in(self, session: str) -> None:
        self.identity_provider.set_session_cookie(self, session)
        self.redirect(self._next_url())

    @allow_unauthenticated
    async def get(self):
        token = self.get_argument("token", "")
        if token:
            service = self.domain.service
            user, why = await self.domain.run(service.consume_login_link, token)
            if user is None:
                return self._link_problem(why)
            session = await self.domain.run(service.create_session, user.id, self.request.remote_ip or "", "link")
            return self._signed_in(session)
        if self.current_user:
            return self.redirect(self._next_url())
        self._render()

    @allow_unauthenticated
    async def post(self):
        name = self.get_body_argument("username", "")
        password = self.get_body_argument("password", "")
        service, throttle = self.domain.service, self.identity_provider.throttle
        try:
            session = await self.domain.run(
                service.password_login, name, password, self.request.remote_ip or "", throttle
            )
        except TooManyRequests as e:
            self.set_header("Retry-After", str(e.retry_after))
            return self._render(e.message, e.status)
        except Forbidden as e:
            return self._render(e.message, e.status)
        self._signed_in(session)


class LogoutHandler(JupyterLogoutHandler):
    """Ends the browser's session (and so its space sessions), then clears the cookie."""

    @allow_unauthenticated
    async def get(self):
        session = self.identity_provider.session_of(self)
        domain = self.settings.get(SETTINGS_KEY)
        if session and domain is not None:
            user_id = await domain.run(domain.service.end_session, session)
            if user_id is not None:
                self.identity_provider.cache.forget_user(user_id)
                domain.revocations.sessions_ended(user_id)
        super().get()

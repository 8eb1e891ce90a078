"""The authenticated reverse proxy: ``<base_url>spaces/<name>/...`` → the space's server.

Every request, HTTP or websocket, goes through the same steps:

1. **Identity.** The domain's identity provider (API token or login cookie).
   Anonymous: a browser asking for a page is redirected to the login page,
   anything else gets 403 JSON.
2. **Cross-site checks**, because the space agent trusts signed requests like
   token-authenticated ones (``jupyter_spaces.space.identity``): for
   cookie-authenticated unsafe methods the domain's own XSRF check (the
   ``X-XSRFToken`` header must match the domain's ``_xsrf`` cookie), and for
   cookie-authenticated websocket upgrades the ``Origin`` check. Requests
   authenticated with an API token need neither, as in jupyter_server.
3. **Policy.** ``DomainService.open_target`` — the one policy check: a space
   the caller may not see is the same 404 as a missing one; a space that is
   not ``running`` answers 409 (JSON ``{"message", "reason": "not_running",
   "status"}``, or for a browser page an HTML page that says how to start it).
4. **Forwarding.** Inbound ``X-Jupyter-Spaces-*`` headers are dropped, so are
   the domain's credentials (an ``Authorization: token|bearer ...`` header,
   every ``token`` query parameter, the domain's login cookie), then the
   request is signed (``jupyter_spaces.signing.sign_request``) with the
   request target exactly as the space server receives it.

The shared ``_xsrf`` cookie
---------------------------
A space's JupyterLab is served under the domain's origin, so the browser has
one cookie jar for both. jupyter_server (in the domain and in the space) names
its XSRF cookie ``_xsrf``; JupyterLab reads ``_xsrf`` from ``document.cookie``
and sends it as ``X-XSRFToken``. To keep exactly one such cookie (the domain's,
path ``<base_url>``), the proxy makes sure a cookie-authenticated browser has
it before the request reaches the space (setting it if missing and passing it
on, so the space server never mints its own) and drops any ``Set-Cookie:
_xsrf`` the space sends. JupyterLab inside the space therefore sends the
domain's token, which is what the domain checks.

Caching (how fast a change takes effect)
----------------------------------------
``open_target`` results for running spaces are cached per (user, space) for
``TARGET_TTL`` seconds (2 s): a membership or role change, or a stop, takes
effect in the proxy within that time. Refusals and non-running spaces are never
cached. A failed connection to a space server drops its cache entries and
re-asks the service once. Identity (token or cookie → user) is resolved by the
identity provider on every request (which caches it for ``cache_seconds``).

A caller's repeat ``GET``/``HEAD`` requests do not reach the handler: the fast
path in front of the application (``fast``) serves them from these same caches,
and hands anything it has no cached answer for to the handler.

Connections
-----------
HTTP bodies stream both ways with bounded memory (``relay``). TCP_NODELAY is
set once on both sides and left on. Connections to space servers are kept alive
and reused (``pool``: a small per-upstream pool; a pooled connection closed by
the server is detected before reuse).

Activity
--------
Proxied traffic tells the domain that a space is in use (``Proxy.note_activity``),
at most once a second per space (HTTP requests, websocket bytes either way).

The parts
---------
- ``state``: ``Proxy``, what the proxy keeps per domain; the domain holds it
  (``domain.proxy``) and calls its ``forget`` on changes, ``shutdown`` at the end;
- ``handler``: ``SpaceProxyHandler``, HTTP and websockets, every decision; its
  mixins ``upgrade`` (websocket upgrades) and ``personal`` (a space's
  ``lab/api/settings``, answered from the user's own settings);
- ``fast``: the fast path, repeating the handler's cached decisions; ``upstream``: its
  connections to space servers (asyncio protocols) and their pool;
- ``headers``: what is forwarded each way; ``relay``: a response to the client;
- ``response``: a space server's response head and chunked framing, as the fast path reads them;
- ``websocket``: a websocket's handshake, then its bytes spliced both ways;
- ``pool``: kept-alive connections; ``limits``: sizes and times;
- ``pages``: the proxy's own pages (``templates/``);
- ``tornado_compat``: every tornado internal used, behind one function each.
"""

from .fast import install as install_fast_path
from .handler import SpaceProxyHandler, proxy_handlers
from .limits import TARGET_TTL
from .state import Proxy

__all__ = ["TARGET_TTL", "Proxy", "SpaceProxyHandler", "install_fast_path", "proxy_handlers"]

"""The proxy handler's websocket upgrades (``WebSocketSplicing``): registered with the
domain's revocations, the space server's handshake, then the bytes spliced
(``websocket.Splice``)."""

from __future__ import annotations

import asyncio

from ...errors import BadGateway, Forbidden
from .. import revocation
from . import tornado_compat, websocket
from .headers import request_head, upstream_target
from .limits import CONNECT_TIMEOUT

__all__ = ["WebSocketSplicing"]


class WebSocketSplicing:
    """A mixin of ``SpaceProxyHandler``: ``_proxy_websocket`` answers an upgrade request
    the handler's ``prepare`` has let through."""

    _splice: websocket.Splice | None = None
    _open: revocation.Open | None = None  # this socket in the revocation registry
    _revoked: str | None = None  # why its access ended, once it has

    async def _proxy_websocket(self):
        # Registered before the space is reached, so access revoked meanwhile ends it too.
        registry = revocation.connections(self.domain)
        self._open = registry.add(
            self._target.name, self.current_user.id, revocation.credential_of(self),
            self._target.identity.role, self._revoke,
        )
        try:
            await self._splice_websocket()
        finally:
            if self._splice is None:  # refused, unreachable or revoked: nothing is relayed
                registry.discard(self._open)

    def _revoke(self, reason: str) -> None:
        """The access this socket was opened with is gone: it closes now."""
        self._revoked = reason
        if self._splice is not None:
            self._splice.close(revocation.CLOSE_CODE, reason)

    async def _splice_websocket(self):
        t = self._target
        proxy = self.domain.proxy
        target_path = upstream_target(self.request.uri)
        headers = self._upstream_headers(target_path, "GET", self.token_authenticated, ws=True)
        headers += [("Connection", "Upgrade"), ("Upgrade", "websocket")]
        name = t.name
        try:
            splice = await websocket.open_upstream(
                t.netloc, request_head("GET", target_path, headers), lambda: proxy.note_activity(name),
                CONNECT_TIMEOUT,
            )
        except (OSError, asyncio.TimeoutError):
            proxy.forget(name)
            error = BadGateway("The space's server is not answering; try again in a moment.", reason="unreachable")
            return self._refuse(error)
        answer = splice.upstream.handshake
        if answer.code != 101:
            # The space server refused the upgrade: pass its answer on.
            tornado_compat.drop_headers(self)
            self.set_status(answer.code, answer.reason)
            ctype = answer.headers.get("Content-Type")
            if ctype:
                self.set_header("Content-Type", ctype)
            return self.finish(answer.body)
        if self._revoked is not None:
            splice.end()
            return self._refuse(Forbidden(self._revoked, reason="revoked"))
        self.set_status(101)
        self.application.log_request(self)
        client_sock, early = await tornado_compat.take_socket(self.detach())
        self._splice = splice
        proxy.sockets.add(splice)
        splice.closed.add_done_callback(lambda _: self._spliced_end(splice))
        try:
            await splice.start(client_sock, early)
        except OSError:
            splice.end()

    def _spliced_end(self, splice) -> None:
        self.domain.proxy.sockets.discard(splice)
        if self._open is not None:
            revocation.connections(self.domain).discard(self._open)

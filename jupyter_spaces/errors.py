"""The one error shape of jupyter-spaces: ``{"message": ..., "reason": ...}`` with a status.

Core code (store, policy, service) raises these; HTTP handlers turn them into
responses. They carry no tornado types so the core stays testable without a server.
"""

from __future__ import annotations


class SpacesError(Exception):
    status = 500
    reason = "error"

    def __init__(self, message: str, *, reason: str | None = None, detail: dict | None = None):
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason
        self.detail = detail or {}

    def to_json(self) -> dict:
        body = {"message": self.message, "reason": self.reason}
        body.update(self.detail)
        return body


class BadRequest(SpacesError):
    status = 400
    reason = "bad_request"


class Forbidden(SpacesError):
    status = 403
    reason = "forbidden"


class NotFound(SpacesError):
    status = 404
    reason = "not_found"


class Conflict(SpacesError):
    status = 409
    reason = "conflict"


class TooLarge(SpacesError):
    status = 413
    reason = "too_large"


class Invalid(SpacesError):
    status = 422
    reason = "invalid"


class BadGateway(SpacesError):
    """A space's server did not answer, or not in HTTP."""

    status = 502
    reason = "bad_gateway"


class TooManyRequests(SpacesError):
    """Refused for now; ``retry_after`` seconds from now it may be tried again."""

    status = 429
    reason = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


def space_not_found(name: str) -> NotFound:
    """The single refusal for a space the caller may not see, identical to a missing one.

    It does not even echo the name back, so no response ever carries a hidden name.
    """
    return NotFound("There is no such space.")

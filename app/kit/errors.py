"""Domain exceptions carrying their HTTP status and stable error code; one handler renders them."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status: int = 400
    code: str = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}
        #: More fields of the error object (``{"error": {"code", "message", …extra}}``).
        self.extra = extra or {}


class NotAuthenticated(DomainError):
    status = 401
    code = "not_authenticated"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class TooManyRequests(DomainError):
    status = 429
    code = "too_many_requests"


class Unavailable(DomainError):
    status = 503
    code = "unavailable"


class ProtocolError(Exception):
    """A refused WebSocket frame, the socket twin of ``DomainError``: ``code`` is stable
    (docs/PROTOCOL.md), ``message`` is for people, ``ref`` names the envelope it refers to."""

    def __init__(self, code: str, message: str, ref: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref

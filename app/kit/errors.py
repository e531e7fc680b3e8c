"""Domain exceptions carrying their HTTP status and stable error code; one handler renders them."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
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


#: A field name of ours, as a model declares it; anything else in a location is the client's.
_OUR_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def validation_message(errors: Sequence[Mapping[str, Any]]) -> str:
    """The 422 message for request validation errors: the fields of ours that are invalid or
    missing, never a submitted value (R-17) and never a key the client made up — an unexpected
    key may be a password typed in the wrong place, so it is counted, not named."""
    named: set[str] = set()
    unexpected = 0
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())[1:]]
        if error.get("type") == "extra_forbidden":
            unexpected += 1
            loc = loc[:-1]
        shown = [part if _OUR_NAME.match(part) or part.isdigit() else "…" for part in loc]
        if shown or error.get("type") != "extra_forbidden":
            named.add(".".join(shown) or "body")
    parts = []
    if named:
        parts.append("invalid or missing: " + ", ".join(sorted(named)))
    if unexpected:
        parts.append(f"{unexpected} unexpected field{'s' if unexpected > 1 else ''}")
    return "; ".join(parts) or "invalid request"

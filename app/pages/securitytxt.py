"""``/.well-known/security.txt`` (RFC 9116): where to report a vulnerability in this deployment.

The code's maintainers take reports through GitHub's private vulnerability reporting (the
repository's ``SECURITY.md``); the centre that runs the service names its own contact in
``VH_SECURITY_CONTACT``. Served only when that is set (otherwise 404 ``not_found``, the API's
JSON error: a file without a contact would be no use). ``Expires`` is always a month ahead:
the file is made from the setting at each request, so it is as current as the setting is.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from app.state import get_state

router = APIRouter(tags=["security"])

#: How far ahead ``Expires`` lies (RFC 9116 §2.5.5 asks for less than a year).
EXPIRES_AHEAD = timedelta(days=30)


def security_txt(contact: str, now: datetime) -> str:
    """The file's text for ``contact`` (already checked by the settings) at ``now``."""
    expires = (now + EXPIRES_AHEAD).replace(microsecond=0).astimezone(UTC)
    return (
        f"Contact: {contact}\n"
        f"Expires: {expires.strftime('%Y-%m-%dT%H:%M:%SZ')}\n"
        "Preferred-Languages: sv, en\n"
    )


@router.get(
    "/.well-known/security.txt",
    response_class=PlainTextResponse,
    responses={404: {}},
)
async def well_known_security_txt(request: Request) -> Response:
    """RFC 9116 ``security.txt`` from ``VH_SECURITY_CONTACT``; 404 when it is not set."""
    state = get_state(request)
    contact = state.settings.security_contact
    if contact is None:
        error = {"code": "not_found", "message": "no security contact is set for this service"}
        return JSONResponse({"error": error}, status_code=404)
    now = datetime.fromtimestamp(state.clock(), UTC)
    return PlainTextResponse(security_txt(contact, now), media_type="text/plain; charset=utf-8")

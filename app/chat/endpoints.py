"""The young person's return visit: fetch a conversation's ciphertext by a return code's locator.

Only the locator travels (CRYPTO.md §3): the code itself, the KEK and the plaintext stay in the
page. Nothing here sets a cookie or learns who asks. (A code filed just after a chat ended is
``app/triage/latecode_api.py``: it needs the ticket.)
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from app.chat import segments
from app.chat.sealing import get_sealer
from app.db import transaction
from app.kit.errors import NotFound, TooManyRequests
from app.security.dependencies import check_origin
from app.state import get_state

router = APIRouter(prefix="/api/youth", tags=["youth"])


class ReturnRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    locator: str = Field(min_length=22, max_length=22, pattern=r"^[A-Za-z0-9_-]{21}[AQgw]$")


@router.post("/return", responses={404: {}, 429: {}})
async def return_visit(body: ReturnRequest, request: Request) -> dict[str, Any]:
    check_origin(request)
    state = get_state(request)
    now, bucket = state.clock(), state.client_bucket(request)
    if not state.return_limits.hit(bucket, now):
        retry = int(state.return_limits.retry_after(bucket, now)) + 1
        raise TooManyRequests(
            "too many attempts; try again later", headers={"Retry-After": str(retry)}
        )
    sealer = get_sealer(request)
    async with transaction(state.sessionmaker) as session:
        conversations = await segments.history(session, sealer, body.locator)
        # A return visit keeps what it found for another full retention (CRYPTO.md §6).
        await segments.keep_for_visit(session, sealer, [c["conv"] for c in conversations], now)
    if not conversations:
        raise NotFound("no conversation has this return code (it may have expired)")
    return {"conversations": conversations}

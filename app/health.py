"""Liveness and readiness (DESIGN.md §6)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.db import ping
from app.state import get_state

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    state = get_state(request)
    checks = {"database": "ok", "broker": "ok"}
    try:
        async with asyncio.timeout(2.0), state.engine.connect() as conn:
            await ping(conn)
    except Exception:
        checks["database"] = "unreachable"
    try:
        async with asyncio.timeout(2.0):
            await state.broker.ping()
    except Exception:
        checks["broker"] = "unreachable"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", **checks}, status_code=200 if ready else 503
    )

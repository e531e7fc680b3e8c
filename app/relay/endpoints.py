"""The WebSocket endpoints: the young person's socket and the counsellor's console socket.

Each socket runs one task, the reader: it parses frames (``protocol``) and hands them to the
socket's handler; the handler's frames go out through the socket's ``Outbox``. Identity and role
come from the ticket or the staff session bound to the socket, never from a frame (SECURITY
R-4).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketState

from app.chat.sealing import get_sealer
from app.chat.store import get_store
from app.db import is_outage
from app.keys import devices
from app.keys.devices import DeviceCert
from app.kit.errors import NotFound, ProtocolError
from app.kit.ratelimit import SlidingWindow
from app.metrics import SocketKind
from app.models import Staff, StaffSession
from app.relay import frames, protocol
from app.relay.base import SocketHandler
from app.relay.connection import Outbox
from app.relay.staff import StaffHandler
from app.relay.youth import YouthHandler
from app.security.guard import get_guard
from app.security.origin import origin_allowed
from app.security.service import authenticate
from app.state import AppState, get_state
from app.supervision.live import get_board_feed
from app.supervision.queuefeed import get_queue_feed
from app.triage.dispatcher import get_dispatcher

log = logging.getLogger(__name__)
router = APIRouter()


def _origin_ok(state: AppState, websocket: WebSocket) -> bool:
    return origin_allowed(
        websocket.headers.get("origin"),
        state.settings.allowed_origins,
        websocket.headers.get("host"),
    )


@router.websocket("/ws/youth")
async def youth_socket(websocket: WebSocket) -> None:
    state = get_state(websocket)
    if not _origin_ok(state, websocket):
        await websocket.close(code=1008)  # before accept: the server answers HTTP 403
        return
    client = state.client_bucket(websocket)
    async with _slot(state, websocket, client) as admitted:
        if not admitted:
            return
        outbox = Outbox(websocket, state.metrics.socket_error)
        handler = YouthHandler(
            state,
            get_store(websocket),
            get_sealer(websocket),
            get_dispatcher(websocket),
            outbox,
            client,
        )
        await _serve(state, websocket, outbox, handler, protocol.YOUTH_TYPES, "youth")


@router.websocket("/ws/staff")
async def staff_socket(websocket: WebSocket) -> None:
    state = get_state(websocket)
    if not _origin_ok(state, websocket):
        await websocket.close(code=1008)
        return
    try:
        async with state.sessionmaker() as session, session.begin():
            found = await authenticate(
                session,
                state.settings,
                websocket.cookies.get(state.settings.cookie_name),
                state.clock(),
                secret=get_guard(websocket).secret,
            )
            device = await _device(session, found, websocket.query_params.get("device"), state)
    except Exception as exc:
        if is_outage(exc):  # the console reconnects with backoff; no traceback for an outage
            log.warning("staff socket: database unavailable (%s)", type(exc).__name__)
        else:
            log.exception("staff socket: session lookup failed")
        await websocket.close(code=1011)
        return
    if found is None or found[1].role not in ("counsellor", "supervisor", "admin"):
        await websocket.close(code=1008)  # no valid session: HTTP 403
        return
    record, staff = found
    async with _slot(state, websocket, state.client_bucket(websocket)) as admitted:
        if not admitted:
            return
        outbox = Outbox(websocket, state.metrics.socket_error)
        handler = StaffHandler(
            state,
            get_store(websocket),
            get_sealer(websocket),
            get_dispatcher(websocket),
            outbox,
            staff,
            record.token_digest,
            device,
            get_board_feed(websocket),
            get_queue_feed(websocket),
        )
        await _serve(state, websocket, outbox, handler, protocol.STAFF_TYPES, "staff")


@asynccontextmanager
async def _slot(state: AppState, websocket: WebSocket, client: str) -> AsyncIterator[bool]:
    """Accept the socket; while this address already holds ``ws_sockets_per_client`` sockets
    here, tell it ``too_many_connections`` and close 1013 (try again later) instead."""
    await websocket.accept()
    if not state.socket_slots.take(client):
        message = frames.error("too_many_connections", "too many connections from here")
        await websocket.send_text(message)
        await websocket.close(code=1013)
        state.metrics.socket_error("too_many_connections")
        yield False
        return
    try:
        yield True
    finally:
        state.socket_slots.release(client)


async def _device(
    session: AsyncSession,
    found: tuple[StaffSession, Staff] | None,
    device_id: str | None,
    state: AppState,
) -> DeviceCert | None:
    """The console's device (``?device=<id>``), if it is the staff member's and usable."""
    if found is None or not device_id:
        return None
    try:
        return await devices.usable(
            session, found[1].id, device_id, state.clock(), service_key=state.service_key
        )
    except NotFound:
        return None


async def _serve(
    state: AppState,
    websocket: WebSocket,
    outbox: Outbox,
    handler: SocketHandler,
    allowed: frozenset[str],
    kind: SocketKind,
) -> None:
    state.metrics.socket_opened(kind)
    try:
        await handler.start()
        await _read(state, websocket, outbox, handler, allowed)
    except Exception:
        log.exception("socket handler failed")
        outbox.close(1011, "internal error")
    finally:
        state.metrics.socket_closed(kind)
        await handler.stop()
        if not outbox.closing:
            outbox.close(1000)
        await outbox.flush(timeout=5)


async def _read(
    state: AppState,
    websocket: WebSocket,
    outbox: Outbox,
    handler: SocketHandler,
    allowed: frozenset[str],
) -> None:
    limiter = SlidingWindow(state.settings.ws_frames_per_minute, 60.0)
    while not outbox.closing and websocket.client_state == WebSocketState.CONNECTED:
        message: Mapping[str, Any] = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        if not limiter.hit(state.clock()):
            outbox.send(frames.rate_limited())
            outbox.close(1008, "rate limited")
            return
        text = message.get("text")
        if text is None:
            outbox.send(frames.not_text())
            continue
        try:
            frame = protocol.parse_frame(text, allowed)
            await handler.handle(frame)
        except ProtocolError as exc:
            if exc.__cause__ is not None:  # the store failed under it: the operator's to see
                log.warning(
                    "%s frame refused as %s: %s",
                    handler.role,
                    exc.code,
                    type(exc.__cause__).__name__,
                )
            outbox.send(frames.error(exc.code, exc.message, exc.ref))


class DirectSockets:
    """ASGI wrapper that hands the two socket paths straight to their endpoints.

    Every frame a Starlette/FastAPI WebSocket receives or sends passes through each middleware's
    and the router's wrappers of ``receive``/``send``; for the relay's hot path that costs more
    than the relay's own work. HTTP, and any other WebSocket path, go to the app unchanged. The
    endpoints do their own Origin and session checks (R-1, R-2), so nothing is skipped.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.endpoints = {"/ws/youth": youth_socket, "/ws/staff": staff_socket}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = (
            self.endpoints.get(scope.get("path", "")) if scope["type"] == "websocket" else None
        )
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        scope.setdefault("app", self.app)
        await endpoint(WebSocket(scope, receive, send))

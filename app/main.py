"""``create_app(settings)``: the FastAPI application; the lifespan owns every shared resource."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import apidocs, health
from app.canned import endpoints as canned
from app.centre import endpoints as centre_api
from app.centre.holder import CentreConfig, CentreRefresh
from app.centre.service import base_centre
from app.chat import endpoints as returns
from app.chat.sealing import sealer_from
from app.chat.store import EnvelopeStore
from app.config import Settings
from app.db import is_outage, make_engine, make_sessionmaker
from app.events.broker import make_broker
from app.expiry import endpoints as expiry
from app.expiry.purge import Purge, PurgeChore
from app.keys import endpoints as keys
from app.keys.service import describe_service_key, load_service_key, warn_without_period
from app.kit.clock import Clock, system_clock
from app.kit.errors import DomainError, validation_message
from app.kit.gcepochs import GcEpochs
from app.kit.ratelimit import KeyedWindows
from app.metrics import Metrics
from app.pages import endpoints as pages
from app.pages import errors as error_pages
from app.pages import house as house_pages
from app.pages import securitytxt
from app.pages import youth as youth_pages
from app.pages.assets import STATIC, assets
from app.relay import endpoints as relay
from app.security.bodylimit import BodyLimitMiddleware
from app.security.guard import make_guard
from app.security.headers import SecurityHeadersMiddleware, content_security_policy, header_map
from app.security.prune import LoginPrune
from app.security.secret import load_server_secret
from app.staff import admin_devices as staff_admin_devices
from app.staff import admin_endpoints as staff_admin
from app.staff import endpoints as staff_api
from app.staff.shifts import StaffSweep
from app.state import AppState
from app.supervision import auditlog, feedbackapi, statsapi
from app.supervision import endpoints as supervision
from app.supervision.live import BoardFeed
from app.supervision.queuefeed import QueueFeed
from app.supervision.rollup import RollUp
from app.triage import endpoints as youth
from app.triage import latecode_api
from app.triage.dispatcher import Dispatcher

log = logging.getLogger(__name__)

#: Seconds a client is asked to wait before trying again while the database is down.
RETRY_AFTER_OUTAGE = 5


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock = system_clock,
    gc_epochs: bool = False,
) -> FastAPI:
    """``gc_epochs``: the serving process's own app (``vhouse serve``), whose full garbage
    collections then walk only recent objects (``app/kit/gcepochs.py``); never in a process
    that runs other apps, such as the tests."""
    settings = settings or Settings()
    settings.check_serving()
    service_key = load_service_key(settings)
    sealer = sealer_from(settings)
    metrics = Metrics()
    login_guard = make_guard(settings, load_server_secret(settings), metrics.password_checks.inc)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        sessionmaker = make_sessionmaker(engine)
        broker = make_broker(settings.broker_url, prefix=settings.broker_prefix)
        await broker.start()
        store = EnvelopeStore(engine, batch_max=settings.commit_batch_max)
        await store.start()
        centre = CentreConfig(base_centre(settings))
        await _load_centre(centre, sessionmaker)
        setup = centre.current().setup
        dispatcher = Dispatcher(
            sessionmaker,
            broker,
            clock,
            setup=lambda: centre.current().setup,
            chat_grace=settings.youth_grace_seconds,
            metrics=metrics,
        )
        dispatcher.add_chore(
            StaffSweep(
                sessionmaker,
                broker,
                clock,
                dispatcher,
                timeout=settings.staff_heartbeat_timeout_seconds,
                accept_timeout=settings.accept_timeout_seconds,
            )
        )
        dispatcher.add_chore(LoginPrune(sessionmaker, settings, clock))
        dispatcher.add_chore(CentreRefresh(sessionmaker, centre))
        # The statistics' days and the purge's weeks keep the timezone the server started with.
        dispatcher.add_chore(RollUp(sessionmaker, clock, timezone=setup.schedule.timezone))
        purge = Purge(sessionmaker, engine, sealer, timezone=setup.schedule.timezone)
        dispatcher.add_chore(PurgeChore(purge, clock, interval=settings.purge_interval_seconds))
        if gc_epochs:
            dispatcher.add_chore(GcEpochs(time.monotonic))
        await dispatcher.start()
        app.state.store = store
        app.state.sealer = sealer
        app.state.login_guard = login_guard
        app.state.centre = centre
        app.state.board_feed = BoardFeed(
            sessionmaker,
            clock,
            lambda: centre.current().setup,
            lambda: centre.current().thresholds,
        )
        app.state.queue_feed = QueueFeed(sessionmaker, clock, lambda: centre.current().setup)
        app.state.dispatcher = dispatcher
        app.state.vh = AppState(
            settings=settings,
            engine=engine,
            sessionmaker=sessionmaker,
            broker=broker,
            clock=clock,
            join_limits=KeyedWindows(
                settings.youth_joins_per_window, settings.youth_join_window_seconds
            ),
            return_limits=KeyedWindows(
                settings.youth_returns_per_window, settings.youth_join_window_seconds
            ),
            service_key=service_key,
            metrics=metrics,
        )
        await warn_without_period(sessionmaker, clock())
        try:
            yield
        finally:
            await app.state.board_feed.close()
            await app.state.queue_feed.close()
            await dispatcher.close()
            await store.close()
            await broker.close()
            await engine.dispose()

    docs = settings.docs_enabled
    app = FastAPI(
        title="Virtual House",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    hsts = settings.mode == "production"
    # Inside the headers middleware, so that a 413 carries the security headers too.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.http_max_body_bytes)
    app.add_middleware(
        SecurityHeadersMiddleware, hsts=hsts, script_hashes=(assets().importmap_csp,)
    )
    page_error = partial(
        error_pages.error_page,
        quick_exit_for=settings.quick_exit_for,
        service_key=describe_service_key(service_key).public_key,
    )
    _add_error_handlers(app, metrics, page_error, hsts=hsts)
    app.include_router(health.router)
    app.include_router(securitytxt.router)
    app.include_router(keys.router)
    app.include_router(staff_api.router)
    app.include_router(staff_admin.router)
    app.include_router(staff_admin_devices.router)
    app.include_router(returns.router)
    app.include_router(latecode_api.router)
    app.include_router(expiry.router)
    app.include_router(youth.router)
    app.include_router(feedbackapi.router)
    app.include_router(supervision.router)
    app.include_router(canned.router)
    app.include_router(statsapi.router)
    app.include_router(auditlog.router)
    app.include_router(centre_api.router)
    app.include_router(relay.router)
    app.include_router(pages.router)
    app.include_router(youth_pages.router)
    app.include_router(house_pages.router)  # after youth_pages: /sv/chat is the chat
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.openapi = partial(apidocs.document, app)  # type: ignore[method-assign]
    return app


async def _load_centre(
    centre: CentreConfig, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """The stored settings at startup; with the database down, the files until it is back
    (``CentreRefresh`` then reads them within a sweep)."""
    try:
        await centre.reload(sessionmaker)
    except Exception as exc:
        if not is_outage(exc):
            raise
        log.warning("centre settings: database unavailable at startup; the files hold for now")


def _error(
    status: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JSONResponse:
    body = {"code": code, "message": message, **(extra or {})}
    return JSONResponse({"error": body}, status, headers=headers)


def _add_error_handlers(
    app: FastAPI, metrics: Metrics, page_error: Callable[..., Response], *, hsts: bool
) -> None:
    """JSON errors for the API (PROTOCOL.md §1); a page request's 404 and 500 are HTML pages
    with the quick exit (``app/pages/errors.py``)."""

    def answer(
        status: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> JSONResponse:
        metrics.error("http", code)  # codes are the fixed ones of PROTOCOL.md §1
        return _error(status, code, message, headers, extra)

    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        return answer(exc.status, exc.code, exc.message, exc.headers, exc.extra)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return answer(422, "invalid_request", validation_message(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400 and exc.__cause__ is not None:
            # FastAPI's body parser failing on a body that is not JSON text (not UTF-8, nested
            # too deep): the same invalid body as malformed JSON, not an undocumented 400.
            return answer(422, "invalid_request", validation_message([{"loc": ("body",)}]))
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        if exc.status_code == 404 and error_pages.is_page_request(request.url.path):
            metrics.error("http", code)
            return page_error(request, 404)
        return answer(exc.status_code, code, str(exc.detail), exc.headers)

    async def outage(_: Request, exc: Exception) -> JSONResponse:
        if not is_outage(exc):
            raise exc
        log.warning("database unavailable: %s", type(exc).__name__)
        return answer(
            503,
            "unavailable",
            "the service cannot reach its database right now; try again shortly",
            {"Retry-After": str(RETRY_AFTER_OUTAGE)},
        )

    # Registered per type so that they are answered inside the app (with the security headers)
    # and never reach the crash handler below; anything else of these types re-raises there.
    for outage_type in (DBAPIError, DisconnectionError, SATimeoutError, OSError):
        app.add_exception_handler(outage_type, outage)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> Response:
        log.error("unhandled %s", type(exc).__name__, exc_info=exc)
        # Sent by ServerErrorMiddleware, outside SecurityHeadersMiddleware: add them here.
        headers = header_map(hsts=hsts)
        if error_pages.is_page_request(request.url.path):
            try:
                # The page's one inline script (the import map) is allowed by its hash.
                csp = content_security_policy((assets().importmap_csp,))
                metrics.error("http", "internal_error")
                return page_error(request, 500, headers={**headers, "content-security-policy": csp})
            except Exception:  # the page itself failed: the plain answer below, never a loop
                log.error("the error page failed to render")
        return answer(500, "internal_error", "something went wrong on our side", headers)

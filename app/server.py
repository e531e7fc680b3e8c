"""Running the app under uvicorn with the settings the requirements ask for (R-5, R-6, R-20),
and, with ``VH_METRICS_BIND``, the internal metrics listener beside it.

With ``VH_TLS_CERT_FILE`` and ``VH_TLS_KEY_FILE`` uvicorn terminates TLS itself (TLS 1.2 at
least, ``tls_context``). With ``workers`` > 1 a uvicorn supervisor runs that many worker
processes on one listening socket; each builds its own app (``worker_app``: its own dispatcher,
store and broker subscription), so they need what processes can share: PostgreSQL and Redis
(``workers_refusal``).

The metrics listener is a second uvicorn server in the same event loop, serving only
``supervision.scrape.internal_app`` (``GET /metrics`` without a session). Its socket is bound
before anything starts, so a bad address stops ``vhouse serve`` at once with the reason. It
captures no signals of its own: it stops when the main server begins to shut down (SIGTERM or
Ctrl+C), and the main server's signal is passed on only after both have stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors import Multiprocess

from app.config import Settings, check_tls
from app.kit import arenas
from app.logging_config import logging_config
from app.main import create_app
from app.relay.endpoints import DirectSockets
from app.supervision.scrape import internal_app

log = logging.getLogger("app.server")


class MetricsBindError(OSError):
    """``VH_METRICS_BIND`` names an address this process cannot listen on."""


#: The import string of the worker processes' app factory (``--workers``).
WORKER_APP = "app.server:worker_app"
#: How long uvicorn's supervisor waits for a worker to answer its health ping before it kills
#: and replaces it. uvicorn's 5 s is shorter than a new worker's imports on a busy machine: the
#: workers were killed before they could answer, again and again, and never served.
WORKER_HEALTHCHECK_SECONDS = 30


def worker_app() -> DirectSockets:
    """The app of one worker process, from the ``VH_*`` settings of its environment."""
    arenas.limit_arenas()
    return DirectSockets(create_app(Settings(), gc_epochs=True))


def tls_context(_config: uvicorn.Config, default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    """uvicorn's context for the certificate and key, refusing anything older than TLS 1.2."""
    context = default()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def serving_settings(settings: Settings, *, cert: Path | None, key: Path | None) -> Settings:
    """``settings`` with the ``--tls-cert``/``--tls-key`` options over ``VH_TLS_*``, checked
    (``ValueError`` with the reason). The options are put in the environment too: worker
    processes read their settings from there."""
    cert = cert or settings.tls_cert_file
    key = key or settings.tls_key_file
    check_tls(cert, key)
    if (cert, key) != (settings.tls_cert_file, settings.tls_key_file):  # both set: checked
        os.environ["VH_TLS_CERT_FILE"] = str(cert)
        os.environ["VH_TLS_KEY_FILE"] = str(key)
        settings = settings.model_copy(update={"tls_cert_file": cert, "tls_key_file": key})
    settings.check_serving()
    return settings


def workers_refusal(settings: Settings, workers: int) -> str | None:
    """Why ``workers`` processes cannot serve with these settings (None: they can)."""
    if workers < 1:
        return "--workers must be at least 1"
    if workers == 1:
        return None
    if settings.is_sqlite or not settings.broker_url.startswith(("redis://", "rediss://")):
        return (
            f"--workers {workers} needs PostgreSQL (VH_DATABASE_URL) and Redis "
            "(VH_BROKER_URL=redis://...): worker processes cannot share SQLite or the "
            "in-process broker"
        )
    if settings.metrics_bind is not None:
        return (
            f"--workers {workers} cannot share one VH_METRICS_BIND listener: run one "
            "`vhouse serve` per port instead (docs/OPERATIONS.md)"
        )
    return None


def uvicorn_config(
    settings: Settings,
    *,
    host: str,
    port: int,
    app: FastAPI | None = None,
    workers: int = 1,
) -> uvicorn.Config:
    tls = settings.tls_cert_file is not None
    return uvicorn.Config(
        WORKER_APP if workers > 1 else DirectSockets(app or create_app(settings)),
        factory=workers > 1,
        workers=workers,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        host=host,
        port=port,
        ssl_certfile=settings.tls_cert_file if tls else None,
        ssl_keyfile=settings.tls_key_file if tls else None,
        ssl_context_factory=tls_context if tls else None,
        ws="websockets-sansio",
        ws_max_size=settings.ws_max_frame_bytes,  # bigger frames: close 1009
        ws_per_message_deflate=False,  # memory and safety
        ws_ping_interval=settings.ws_ping_interval_seconds,
        ws_ping_timeout=settings.ws_ping_timeout_seconds,
        server_header=False,
        access_log=False,
        log_config=logging_config(),
        proxy_headers=False,
        timeout_graceful_shutdown=10,
        lifespan="on",
    )


def serve(settings: Settings, *, host: str, port: int, workers: int = 1) -> None:
    """Serve until SIGTERM or Ctrl+C. Raises ``MetricsBindError`` before serving anything when
    the metrics listener's address cannot be bound. ``workers`` > 1 must have passed
    ``workers_refusal``; each worker reads its settings from the environment."""
    scheme = "https" if settings.serves_tls else "http"
    if workers > 1:  # each worker limits its own (worker_app)
        config = uvicorn_config(settings, host=host, port=port, workers=workers)
        log.info(
            "Virtual House serving on %s://%s:%d with %d workers (mode %s)",
            *(scheme, host, port, workers, settings.mode),
        )
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    arenas.limit_arenas()
    app = create_app(settings, gc_epochs=True)
    server = uvicorn.Server(uvicorn_config(settings, host=host, port=port, app=app))
    address = settings.metrics_address()
    if address is None:
        log.info("Virtual House serving on %s://%s:%d (mode %s)", scheme, host, port, settings.mode)
        server.run()
        return
    listener = bind(*address)
    metrics = MetricsServer(
        uvicorn.Config(
            internal_app(app),
            ws="none",
            lifespan="off",
            server_header=False,
            access_log=False,
            log_config=None,  # the main server's configuration already applies
            proxy_headers=False,
            timeout_graceful_shutdown=2,
        ),
        follows=server,
    )
    log.info(
        "Virtual House serving on %s://%s:%d (mode %s), metrics on http://%s/metrics",
        scheme,
        host,
        port,
        settings.mode,
        settings.metrics_bind,
    )
    with asyncio.Runner(loop_factory=server.config.get_loop_factory()) as runner:
        runner.run(_serve_both(server, metrics, listener))


async def _serve_both(
    server: uvicorn.Server, metrics: MetricsServer, listener: socket.socket
) -> None:
    # The main server's signal handlers cover both; re-raised only once both have stopped.
    with server.capture_signals():
        task = asyncio.create_task(metrics.serve(sockets=[listener]), name="metrics-listener")
        try:
            await server.serve()
        finally:
            metrics.should_exit = True
            await task


class MetricsServer(uvicorn.Server):
    """A uvicorn server that stops with ``follows`` and leaves signals to it."""

    def __init__(self, config: uvicorn.Config, *, follows: uvicorn.Server) -> None:
        super().__init__(config)
        self._follows = follows

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def on_tick(self, counter: int) -> bool:
        if self._follows.should_exit:
            self.should_exit = True
        return await super().on_tick(counter)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port); ``MetricsBindError`` with the reason."""
    try:
        family, kind, proto, _, where = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise MetricsBindError(f"VH_METRICS_BIND {host}:{port}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(where)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise MetricsBindError(
            f"VH_METRICS_BIND {host}:{port}: cannot listen there ({exc.strerror or exc})"
        ) from None
    return sock

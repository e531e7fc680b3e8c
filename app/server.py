"""Running the app under uvicorn with the settings the requirements ask for (R-5, R-6, R-20),
and, with ``VH_METRICS_BIND``, the internal metrics listener beside it.

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
import socket
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from app.config import Settings
from app.logging_config import logging_config
from app.main import create_app
from app.relay.endpoints import DirectSockets
from app.supervision.scrape import internal_app

log = logging.getLogger("app.server")


class MetricsBindError(OSError):
    """``VH_METRICS_BIND`` names an address this process cannot listen on."""


def uvicorn_config(
    settings: Settings, *, host: str, port: int, app: FastAPI | None = None
) -> uvicorn.Config:
    return uvicorn.Config(
        DirectSockets(app or create_app(settings)),
        host=host,
        port=port,
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


def serve(settings: Settings, *, host: str, port: int) -> None:
    """Serve until SIGTERM or Ctrl+C. Raises ``MetricsBindError`` before serving anything when
    the metrics listener's address cannot be bound."""
    app = create_app(settings)
    server = uvicorn.Server(uvicorn_config(settings, host=host, port=port, app=app))
    address = settings.metrics_address()
    if address is None:
        log.info("Virtual House serving on http://%s:%d (mode %s)", host, port, settings.mode)
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
        "Virtual House serving on http://%s:%d (mode %s), metrics on http://%s/metrics",
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

"""Running the app under uvicorn with the settings the requirements ask for (R-5, R-6, R-20)."""

from __future__ import annotations

import logging

import uvicorn

from app.config import Settings
from app.logging_config import logging_config
from app.main import create_app
from app.relay.endpoints import DirectSockets

log = logging.getLogger("app.server")


def uvicorn_config(settings: Settings, *, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        DirectSockets(create_app(settings)),
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
    config = uvicorn_config(settings, host=host, port=port)
    server = uvicorn.Server(config)
    log.info("Virtual House serving on http://%s:%d (mode %s)", host, port, settings.mode)
    server.run()

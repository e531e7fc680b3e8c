"""Liveness and readiness (DESIGN.md §6, SECURITY R-21)."""

from __future__ import annotations

from pathlib import Path

import httpx

from app.client import YouthClient
from tests.conftest import Database, Server, free_port, start_server
from tests.support import shared_server

served = shared_server()


async def test_healthz_and_readyz_when_all_is_well(served: Server) -> None:
    async with httpx.AsyncClient(base_url=served.base_url) as client:
        live = await client.get("/healthz")
        ready = await client.get("/readyz")
    assert live.status_code == 200
    assert live.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok", "broker": "ok"}


async def test_readyz_is_503_while_the_database_is_unreachable(tmp_path: Path) -> None:
    # A PostgreSQL URL whose port has no listener: the service starts (liveness) but is not ready.
    """R-21: Readyz is 503 while the database is unreachable."""
    nowhere = Database("postgresql", f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/x")
    server = start_server(nowhere, tmp_path, migrate=False)
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
            live = await client.get("/healthz")
            ready = await client.get("/readyz")
        assert live.status_code == 200
        assert ready.status_code == 503
        assert ready.json() == {"status": "unavailable", "database": "unreachable", "broker": "ok"}

        # A young person gets an honest error frame, not a crash or a silent hang.
        youth = YouthClient(server.base_url)
        await youth.connect()
        try:
            join = {
                "type": "join",
                "triage": {"language": "sv", "kind": "youth", "danger_now": False},
            }
            for _ in range(2):  # the socket stays open: the client may try again on it
                await youth.send(join)
                assert (await youth.expect("error"))["code"] == "unavailable"
        finally:
            await youth.close()
        assert server.alive()
    finally:
        server.stop()
    assert "Traceback" not in ready.text

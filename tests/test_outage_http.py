"""While the database is down every HTTP endpoint answers 503 ``unavailable``, and the service
recovers by itself when it returns (issue "Nobody waits for nobody", item 10; PROTOCOL.md §1).

The database is a PostgreSQL cluster of this test's own (``tests/pgcluster.py``), stopped and
started under a running server; the shared server is never touched.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from app.kit.ids import new_token
from tests.conftest import Database, _create_staff, start_server
from tests.pgcluster import pg_cluster

pytestmark = pytest.mark.postgres

LOCATOR = "A" * 21 + "A"


def _unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.request.url, response.text)
    assert response.json()["error"]["code"] == "unavailable"
    assert int(response.headers["retry-after"]) >= 1


async def test_every_endpoint_answers_503_while_the_database_is_down(tmp_path: Path) -> None:
    """R-21: Every endpoint answers 503 while the database is down."""
    with pg_cluster(tmp_path) as cluster:
        database = Database("postgresql", cluster.url)
        server = start_server(database, tmp_path)
        try:
            account = await _create_staff(database, "nadia", "Nadia", role="supervisor")
            origin = {"Origin": server.base_url}
            async with httpx.AsyncClient(base_url=server.base_url, timeout=15) as client:
                login = {"username": "nadia", "password": account.password}
                ok = await client.post(
                    "/staff/api/login", json={**login, "totp": account.code()}, headers=origin
                )
                assert ok.status_code == 200
                csrf = {**origin, "X-CSRF-Token": ok.json()["csrf_token"]}

                cluster.stop()
                _unavailable(
                    await client.post(
                        "/staff/api/login",
                        json={**login, "totp": account.code(time.time() + 30)},
                        headers=origin,
                    )
                )
                _unavailable(await client.get("/staff/api/me"))
                _unavailable(await client.get("/staff/api/colleagues"))
                _unavailable(await client.get("/staff/api/board"))
                _unavailable(await client.post("/staff/api/logout", headers=csrf))
                _unavailable(
                    await client.post(
                        "/api/youth/leave", json={"ticket": new_token()}, headers=origin
                    )
                )
                _unavailable(
                    await client.post(
                        "/api/youth/return", json={"locator": LOCATOR}, headers=origin
                    )
                )
                _unavailable(
                    await client.post(
                        "/api/youth/feedback",
                        json={"ticket": new_token(), "answer": "yes"},
                        headers=origin,
                    )
                )
                _unavailable(await client.get("/api/keys"))
                ready = await client.get("/readyz")
                assert ready.status_code == 503
                # Pages that need no database still render, with the quick exit.
                assert (await client.get("/sv/chat")).status_code == 200

                cluster.start()
                deadline = time.monotonic() + 30
                while True:
                    me = await client.get("/staff/api/me")
                    if me.status_code == 200 or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.5)
                assert me.status_code == 200, me.text
                assert (await client.get("/readyz")).status_code == 200
            assert "Traceback" not in server.log()
        finally:
            server.stop()

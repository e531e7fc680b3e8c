"""``vhouse stats export``: finished tickets rolled up once, cells under 5 suppressed."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime

from app.db import make_engine, make_sessionmaker, transaction
from app.kit.ids import new_token, token_digest
from app.models import Ticket
from tests.conftest import ROOT, Database

# Wednesday 25 November 2026, 10:00 in Stockholm.
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC).timestamp()


async def _tickets(database: Database) -> None:
    """Forced marriage in sv: 5 served (waits 60..300 s) and 5 abandoned; threats: 1 served."""
    engine = make_engine(database.settings())
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            for i in range(11):
                served = i < 5 or i == 10
                session.add(
                    Ticket(
                        token_digest=token_digest(new_token()),
                        kind="youth",
                        language="sv",
                        topic="threats_violence" if i == 10 else "forced_marriage",
                        urgent=False,
                        status="ended" if served else "left",
                        joined_at=NOW + i,
                        assigned_at=NOW + i + 60 * (i + 1) if served else None,
                        ended_at=NOW + 3600,
                    )
                )
    finally:
        await engine.dispose()


def _export(database: Database, fmt: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VH_")}
    result = subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "app.cli", "stats", "export", "--format", fmt],
        cwd=ROOT,
        env={**env, "VH_MODE": "test", "VH_DATABASE_URL": database.url},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def test_export_suppresses_cells_under_five(database: Database) -> None:
    asyncio.run(_tickets(database))
    rows = json.loads(_export(database, "json"))
    assert rows == [
        {
            "day": "2026-11-25",
            "queue": "youth",
            "topic": "forced_marriage",
            "language": "sv",
            "joins": 10,
            "served": 5,
            "abandoned": 5,
            "dropped": None,  # no chat was abandoned mid-way (0 is suppressed too)
            "wait_p50": 180.0,
            "wait_p90": 300.0,
        },
        {
            "day": "2026-11-25",
            "queue": "youth",
            "topic": "threats_violence",
            "language": "sv",
            "joins": None,
            "served": None,
            "abandoned": None,
            "dropped": None,
            "wait_p50": None,
            "wait_p90": None,
        },
    ]
    # Exporting again counts nothing twice; CSV shows suppressed cells as empty.
    table = list(csv.DictReader(io.StringIO(_export(database, "csv"))))
    assert [r["joins"] for r in table] == ["10", ""]
    assert table[1]["wait_p50"] == ""

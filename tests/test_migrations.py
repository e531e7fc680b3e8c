"""Alembic migrations on SQLite and PostgreSQL (SECURITY R-23)."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from app.config import Settings
from app.db import make_engine
from app.migrate import alembic_config, downgrade, upgrade
from app.models import Base
from tests.conftest import Database

ALL_TABLES = set(Base.metadata.tables)


def _run(database: Database, fn: Any) -> Any:
    """``fn(sync_connection)`` on the database (alembic's inspection API is synchronous)."""

    async def run() -> Any:
        engine = make_engine(Settings(mode="test", database_url=database.url))
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(fn)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names()) - {"alembic_version"}


def _drift(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(
        conn, opts={"compare_type": True, "compare_server_default": True}
    )
    diff: list[Any] = compare_metadata(context, Base.metadata)
    return diff


def _version(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def test_exactly_one_head() -> None:
    """R-23: Exactly one head."""
    script = ScriptDirectory.from_config(alembic_config("sqlite+aiosqlite://"))
    assert len(script.get_heads()) == 1
    # Every revision is reachable from the head, down to one base.
    assert len(script.get_bases()) == 1
    assert {r.revision for r in script.walk_revisions()} == {
        r.revision for r in script.revision_map.iterate_revisions(script.get_current_head(), "base")
    }


def test_upgrade_head_from_empty_creates_every_table(empty_database: Database) -> None:
    """R-23: Upgrade head from empty creates every table."""
    assert _run(empty_database, _tables) == set()
    upgrade(empty_database.url)
    assert _run(empty_database, _tables) == ALL_TABLES
    head = ScriptDirectory.from_config(alembic_config(empty_database.url)).get_current_head()
    assert _run(empty_database, _version) == head


def test_downgrade_base_then_upgrade_head_round_trip(empty_database: Database) -> None:
    """R-23: Downgrade base then upgrade head round trip."""
    upgrade(empty_database.url)
    downgrade(empty_database.url, "base")
    assert _run(empty_database, _tables) == set()
    assert _run(empty_database, _version) is None
    upgrade(empty_database.url)
    assert _run(empty_database, _tables) == ALL_TABLES
    assert _run(empty_database, _drift) == []
    upgrade(empty_database.url)  # already at head: nothing to do, nothing breaks


def test_no_drift_between_migrations_and_models(empty_database: Database) -> None:
    """R-23: No drift between migrations and models."""
    upgrade(empty_database.url)
    assert _run(empty_database, _drift) == []

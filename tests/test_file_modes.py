"""Database files are owner-only whatever the umask (issue 13 (4)): the SQLite file, its WAL and
shared-memory files, the database folder we create, and the demo's ``var/`` folder."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from app.config import Settings
from app.db import make_engine, make_sessionmaker, transaction
from app.kit.files import private_database, private_directory


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the usual default: new files 0644, folders 0755
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("loose_umask")
def test_a_new_database_and_its_wal_are_owner_only(tmp_path: Path) -> None:
    """R-28: A new database and its wal are owner only."""
    path = tmp_path / "new" / "deeper" / "vh.sqlite3"
    settings = Settings(mode="test", database_url=f"sqlite+aiosqlite:///{path}")

    async def write_and_hold() -> None:
        engine = make_engine(settings)
        try:
            async with transaction(make_sessionmaker(engine)) as session:
                await session.execute(text("CREATE TABLE t (x TEXT)"))
                await session.execute(text("INSERT INTO t VALUES ('secret')"))
            # The connection pool keeps the database open: the WAL and -shm files exist now.
            assert path.with_name(path.name + "-wal").exists()
            for file in (path, *(path.with_name(path.name + t) for t in ("-wal", "-shm"))):
                assert mode(file) == 0o600, f"{file.name} is {mode(file):o}"
        finally:
            await engine.dispose()

    asyncio.run(write_and_hold())
    assert mode(path.parent) == 0o700
    assert mode(path.parent.parent) == 0o700


@pytest.mark.usefixtures("loose_umask")
def test_loose_files_of_an_older_install_are_tightened(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "vh.sqlite3"
    for file in (path, path.with_name(path.name + "-wal")):
        file.write_bytes(b"")
        file.chmod(0o644)
    assert sorted(private_database(path)) == sorted([path, path.with_name(path.name + "-wal")])
    assert mode(path) == 0o600
    assert private_database(path) == []  # nothing more to do
    settings = Settings(mode="test", database_url=f"sqlite+aiosqlite:///{path}")
    path.chmod(0o640)
    with caplog.at_level("WARNING"):
        asyncio.run(make_engine(settings).dispose())
    assert mode(path) == 0o600
    assert "readable by others" in caplog.text


@pytest.mark.usefixtures("loose_umask")
def test_our_folder_is_tightened_and_an_operators_folder_is_left(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "var", tmp_path / "srv"
    ours.mkdir(mode=0o755)
    theirs.mkdir(mode=0o755)
    private_directory(ours, tighten=True)
    private_directory(theirs)
    assert mode(ours) == 0o700
    assert mode(theirs) == 0o755

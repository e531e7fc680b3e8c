"""Apply Alembic migrations (``vhouse migrate``) without an alembic.ini in the working directory,
and tell the other commands whether the database is there and migrated (``check_ready``)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from app.config import Settings
from app.db import make_engine

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(database_url: str, key_dir: Path | None = None) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = database_url
    cfg.attributes["key_dir"] = key_dir
    return cfg


def upgrade(database_url: str, revision: str = "head", *, key_dir: Path | None = None) -> None:
    """Migrate to ``revision``. ``key_dir`` (the settings' key directory) is what migrations
    that seal stored secrets under the server secret need (0016); without it they refuse to
    run on a database holding such secrets unsealed."""
    command.upgrade(alembic_config(database_url, key_dir), revision)


def downgrade(database_url: str, revision: str, *, key_dir: Path | None = None) -> None:
    command.downgrade(alembic_config(database_url, key_dir), revision)


# ---------------------------------------------------------------------- is it ready?


class DatabaseNotReady(Exception):
    """The database cannot be used by a command: unreachable, absent, or not migrated. The
    message is one line for an operator and says what to do; ``reachable`` is False when the
    database did not answer (it may yet: the server starts anyway, SECURITY R-21)."""

    def __init__(self, message: str, *, reachable: bool = True) -> None:
        super().__init__(message)
        self.reachable = reachable


#: How long a command waits for the database before saying it cannot reach it.
CONNECT_TIMEOUT = 10.0


def printable_url(database_url: str) -> str:
    """The database URL without its password, for messages."""
    try:
        return make_url(database_url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unparsable VH_DATABASE_URL)"


def check_ready(settings: Settings, fix: str = "run `vhouse migrate`") -> None:
    """Raise ``DatabaseNotReady`` unless the database answers and is at the latest migration;
    the messages end with ``fix``, what the operator should do about it.

    A SQLite file that does not exist is not created by asking.
    """
    where = printable_url(settings.database_url)
    path = settings.sqlite_path()
    if path is not None and not path.exists():
        raise DatabaseNotReady(f"there is no database at {path}: {fix}")
    try:
        current = asyncio.run(_current_revision(settings))
    except Exception as exc:
        raise DatabaseNotReady(
            f"cannot reach the database at {where}: {reason(exc)}", reachable=False
        ) from None
    script = ScriptDirectory.from_config(alembic_config(settings.database_url))
    head = script.get_current_head()
    if current == head:
        return
    if current is None:
        raise DatabaseNotReady(f"the database at {where} is not migrated: {fix}")
    try:
        script.get_revision(current)
    except CommandError:
        raise DatabaseNotReady(
            f"the database at {where} is at migration {current}, which this version does not "
            "know (was it migrated by a newer Virtual House?)"
        ) from None
    raise DatabaseNotReady(f"the database at {where} is at an older migration ({current}): {fix}")


async def _current_revision(settings: Settings) -> str | None:
    engine = make_engine(settings)
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT), engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()


def reason(exc: BaseException) -> str:
    """Why a connection failed, in a few words (never SQL parameters: they are hidden)."""
    if isinstance(exc, TimeoutError):
        return f"no answer within {CONNECT_TIMEOUT:.0f} s"
    cause: BaseException = exc
    while isinstance(cause, DBAPIError) and cause.orig is not None:
        cause = cause.orig
    if isinstance(cause, OSError) and (cause.errno or cause.strerror):
        return os.strerror(cause.errno) if cause.errno else str(cause.strerror)
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return text or type(cause).__name__

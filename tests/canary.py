"""Canary search (R-15, CRYPTO.md §7): where, if anywhere, a unique phrase was stored or logged.

``canary_phrase()`` makes a phrase no test data can contain by chance; ``find_canary`` looks for
it in a SQLite database file with its WAL and shared-memory files, in every row of a PostgreSQL
database, and in any further files (logs, exports) — as UTF-8, UTF-16 (both byte orders) and
base64/base64url at each of the three alignments, so that a store which encodes plaintext
instead of encrypting it is caught too. It answers with the places, so a failing assertion says
where the phrase leaked.

Limits: PostgreSQL is searched as a client sees it (live rows of the ``public`` schema); its WAL
and dead tuples are on the server's disk, out of a client's reach. Redis keeps nothing (pub/sub
only): what crosses it is watched with MONITOR by
``tests/events/test_redis_server.py::test_the_canary_phrase_never_crosses_redis``.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable
from pathlib import Path

from tests.conftest import Database, _asyncpg_dsn, run_sync

_SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def canary_phrase() -> str:
    """A phrase with a random part: found somewhere means written there by the code under test."""
    return f"canary {secrets.token_hex(8)} lantern over the river"


def encodings(phrase: str) -> dict[str, bytes]:
    """Every byte form of ``phrase`` searched for, by name."""
    raw = phrase.encode("utf-8")
    forms = {
        "utf-8": raw,
        "utf-16-le": phrase.encode("utf-16-le"),
        "utf-16-be": phrase.encode("utf-16-be"),
    }
    for shift in range(3):
        # The first characters mix in the bytes before the phrase, the last ones those after it
        # (or padding): keep only the characters that depend on the phrase alone.
        for name, encode in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
            encoded = encode(b"\0" * shift + raw).rstrip(b"=")
            head = (shift * 4 + 2) // 3
            forms[f"{name}+{shift}"] = encoded[head:-3]
    return forms


def _search(blob: bytes, forms: dict[str, bytes], where: str) -> list[str]:
    return [f"{where} ({name})" for name, form in forms.items() if form and form in blob]


def _files_of(database: Database) -> list[Path]:
    if database.path is None:
        return []
    return [Path(f"{database.path}{suffix}") for suffix in _SQLITE_SUFFIXES]


async def _postgres_rows(url: str) -> list[tuple[str, str]]:
    import asyncpg

    conn = await asyncpg.connect(_asyncpg_dsn(url), timeout=5)
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        rows: list[tuple[str, str]] = []
        for table in tables:
            name = table["tablename"]
            quoted = '"' + name.replace('"', '""') + '"'
            for row in await conn.fetch(f"SELECT CAST(t AS text) AS r FROM {quoted} t"):  # noqa: S608
                rows.append((name, row["r"]))
        return rows
    finally:
        await conn.close()


def find_canary(
    phrase: str, *, database: Database | None = None, paths: Iterable[Path] = ()
) -> list[str]:
    """Where ``phrase`` occurs: ``[]`` when nowhere. Missing files are skipped."""
    forms = encodings(phrase)
    found: list[str] = []
    candidates = [*(_files_of(database) if database is not None else []), *paths]
    for path in candidates:
        if path.is_file():
            found += _search(path.read_bytes(), forms, str(path))
    if database is not None and database.kind == "postgresql":
        for table, text in run_sync(_postgres_rows(database.url)):
            found += _search(text.encode("utf-8"), forms, f"postgresql table {table}")
    return found

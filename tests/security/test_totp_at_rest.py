"""TOTP secrets sealed at rest (issue 13 (1), (4); SECURITY R-9, R-25): what the database keeps
of a TOTP secret opens only with the server secret of the key directory and only for its own
account; migration 0016 seals the secrets stored before it."""

from __future__ import annotations

import asyncio
import secrets
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from app.config import Settings
from app.db import make_engine, make_sessionmaker, transaction
from app.migrate import downgrade, upgrade
from app.models import Staff
from app.security import totp, totpseal
from app.security.secret import ensure_secret
from app.staff import repository as staff_repo
from app.types import StaffId
from tests.conftest import Database, create_staff


def test_a_sealed_secret_opens_only_for_its_account_and_key() -> None:
    """SECURITY R-25: a sealed TOTP secret opens under its server secret, for its account only;
    a plaintext, altered or moved value opens nowhere."""
    key, other_key = secrets.token_bytes(32), secrets.token_bytes(32)
    plain = totp.new_secret()
    sealed = totpseal.seal(key, "staffA", plain)
    assert plain not in sealed
    assert sealed.startswith(totpseal.PREFIX)
    assert totpseal.unseal(key, "staffA", sealed) == plain
    assert totpseal.seal(key, "staffA", plain) != sealed  # a fresh nonce each time
    assert totpseal.unseal(key, "staffB", sealed) is None  # moved to another account
    assert totpseal.unseal(other_key, "staffA", sealed) is None  # another server secret
    assert totpseal.unseal(key, "staffA", plain) is None  # written in plaintext
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    assert totpseal.unseal(key, "staffA", flipped) is None
    assert totpseal.unseal(key, "staffA", "v1.!!") is None
    assert totpseal.unseal(key, "staffA", "v1.AAAA") is None


async def _stored(database: Database, username: str) -> tuple[str, str]:
    engine = make_engine(Settings(mode="test", database_url=database.url))
    try:
        async with make_sessionmaker(engine)() as session:
            staff = (
                await session.execute(select(Staff).where(Staff.username == username))
            ).scalar_one()
            return staff.id, staff.totp_secret
    finally:
        await engine.dispose()


def test_a_database_reader_sees_no_totp_secret(database: Database) -> None:
    """SECURITY R-25: what the database keeps of an account's TOTP secret is not the secret."""
    account = create_staff(database, "anna", "Anna")
    staff_id, stored = asyncio.run(_stored(database, "anna"))
    assert account.totp_secret not in stored
    assert totpseal.unseal(database.server_secret(), staff_id, stored) == account.totp_secret


async def _add_plain(url: str, username: str, plain: str) -> str:
    engine = make_engine(Settings(mode="test", database_url=url))
    staff_id = StaffId(secrets.token_urlsafe(16)[:22])
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            staff_repo.add_account(
                session,
                staff_id=staff_id,
                username=username,
                alias="Anna",
                role="counsellor",
                password_hash="-",
                totp_secret=plain,
                languages="sv",
                skills="youth",
                capacity=2,
                organisation="municipality",
                now=time.time(),
            )
    finally:
        await engine.dispose()
    return staff_id


def test_migration_0016_seals_the_stored_secrets(empty_database: Database, tmp_path: Path) -> None:
    upgrade(empty_database.url, "0015")
    plain = totp.new_secret()
    staff_id = asyncio.run(_add_plain(empty_database.url, "anna", plain))
    # Without the key directory there is no key to seal with: refused, nothing changed.
    with pytest.raises(RuntimeError, match="VH_KEY_DIR"):
        upgrade(empty_database.url)
    assert asyncio.run(_stored(empty_database, "anna")) == (staff_id, plain)
    key_dir = tmp_path / "keys"
    upgrade(empty_database.url, key_dir=key_dir)
    _, stored = asyncio.run(_stored(empty_database, "anna"))
    assert plain not in stored
    assert totpseal.unseal(ensure_secret(key_dir), staff_id, stored) == plain
    # And back: the downgrade opens them again, with the same key directory only.
    with pytest.raises(RuntimeError, match="VH_KEY_DIR"):
        downgrade(empty_database.url, "0015")
    downgrade(empty_database.url, "0015", key_dir=key_dir)
    assert asyncio.run(_stored(empty_database, "anna")) == (staff_id, plain)

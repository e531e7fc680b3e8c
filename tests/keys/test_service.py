"""Period keys on a migrated database (SQLite and PostgreSQL): certify, register, list, destroy."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crypto import certs, hpke, sign
from app.keys import files
from app.keys import service as keys_service
from app.kit import b64
from app.kit.errors import Conflict, NotFound
from app.models import AuditEntry
from tests.conftest import Database

T = TypeVar("T")
PASSPHRASE = "a long custody passphrase"
NOT_BEFORE, NOT_AFTER = 1793491200, 1796083200  # 2026-11-01, 2026-12-01 UTC


def _in_transaction(database: Database, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    from app.db import make_engine, make_sessionmaker, transaction

    async def run() -> T:
        engine = make_engine(database.settings())
        try:
            async with transaction(make_sessionmaker(engine)) as session:
                return await fn(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _new_period(
    database: Database, service_key: ec.EllipticCurvePrivateKey, out: Path
) -> keys_service.Period:
    return _in_transaction(
        database,
        lambda session: keys_service.new_period(
            session,
            service_key=service_key,
            out=out,
            passphrase=PASSPHRASE,
            not_before=NOT_BEFORE,
            not_after=NOT_AFTER,
            now=1793500000.0,
        ),
    )


def _audit(database: Database) -> list[tuple[str, str]]:
    async def read(session: AsyncSession) -> list[tuple[str, str]]:
        rows = (await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars()
        return [(row.action, row.detail) for row in rows]

    return _in_transaction(database, read)


def test_new_period_is_certified_listed_and_its_file_is_the_private_half(
    database: Database, tmp_path: Path
) -> None:
    service_key = sign.generate_private_key()
    out = tmp_path / "period.pem"
    period = _new_period(database, service_key, out)

    certs.verify_period_cert(
        sign.public_key_bytes(service_key),
        b64.decode(period.period_id),
        b64.decode(period.public_key),
        period.not_before,
        period.not_after,
        b64.decode(period.certificate),
        now=NOT_BEFORE + 1,
    )
    private = files.load_period_key(out, PASSPHRASE)
    assert b64.encode(hpke.public_key_bytes(private)) == period.public_key
    with pytest.raises(files.KeyFileError):
        files.load_period_key(out, "another long passphrase")

    listed = _in_transaction(database, keys_service.list_periods)
    assert listed == [period]
    assert keys_service.is_certified(period, sign.public_key_bytes(service_key))
    other_service = sign.public_key_bytes(sign.generate_private_key())
    assert not keys_service.is_certified(period, other_service)

    action, detail = _audit(database)[-1]
    assert action == "keys.new_period"
    assert json.loads(detail)["period_id"] == period.period_id


def test_new_period_refuses_a_weak_passphrase_and_an_existing_file_before_registering(
    database: Database, tmp_path: Path
) -> None:
    service_key = sign.generate_private_key()
    existing = tmp_path / "existing.pem"
    existing.write_text("keep me")
    with pytest.raises(files.KeyFileError, match="already exists"):
        _new_period(database, service_key, existing)
    assert existing.read_text() == "keep me"

    async def weak(session: AsyncSession) -> keys_service.Period:
        return await keys_service.new_period(
            session,
            service_key=service_key,
            out=tmp_path / "weak.pem",
            passphrase="short",
            not_before=NOT_BEFORE,
            not_after=NOT_AFTER,
            now=0.0,
        )

    with pytest.raises(ValueError, match="at least 12"):
        _in_transaction(database, weak)
    assert not (tmp_path / "weak.pem").exists()
    assert _in_transaction(database, keys_service.list_periods) == []


def test_destroy_period_removes_the_file_and_marks_it_once(
    database: Database, tmp_path: Path
) -> None:
    out = tmp_path / "period.pem"
    period = _new_period(database, sign.generate_private_key(), out)

    def destroy(period_id: str, key_file: Path) -> None:
        _in_transaction(
            database,
            lambda session: keys_service.destroy_period(
                session, period_id=period_id, key_file=key_file, now=1796100000.0
            ),
        )

    with pytest.raises(NotFound):
        destroy(b64.encode(bytes(16)), out)
    assert out.exists()
    destroy(period.period_id, out)
    assert not out.exists()
    (listed,) = _in_transaction(database, keys_service.list_periods)
    assert listed.destroyed_at == 1796100000.0
    assert _audit(database)[-1] == (
        "keys.destroy_period",
        json.dumps({"period_id": period.period_id}),
    )
    files.write_period_key(out, hpke.generate_private_key(), PASSPHRASE)
    with pytest.raises(Conflict):
        destroy(period.period_id, out)
    assert out.exists()  # an already destroyed period never takes another file with it


def _add_period(
    database: Database,
    service_key: ec.EllipticCurvePrivateKey,
    public_key: bytes,
    not_before: int = NOT_BEFORE,
    not_after: int = NOT_AFTER,
) -> keys_service.Period:
    return _in_transaction(
        database,
        lambda session: keys_service.add_period(
            session,
            service_key=service_key,
            public_key=public_key,
            not_before=not_before,
            not_after=not_after,
            now=1793500000.0,
        ),
    )


def test_add_period_certifies_and_registers_only_the_public_half(database: Database) -> None:
    service_key = sign.generate_private_key()
    private = hpke.generate_private_key()  # as make-period-key makes it, elsewhere
    period = _add_period(database, service_key, hpke.public_key_bytes(private))

    assert b64.decode(period.public_key) == hpke.public_key_bytes(private)
    certs.verify_period_cert(
        sign.public_key_bytes(service_key),
        b64.decode(period.period_id),
        b64.decode(period.public_key),
        period.not_before,
        period.not_after,
        b64.decode(period.certificate),
        now=NOT_BEFORE + 1,
    )
    assert _in_transaction(database, keys_service.list_periods) == [period]
    action, detail = _audit(database)[-1]
    assert action == "keys.add_period"
    assert json.loads(detail) == {
        "period_id": period.period_id,
        "not_before": NOT_BEFORE,
        "not_after": NOT_AFTER,
        "fingerprint": period.fingerprint,
    }


def test_add_period_refuses_a_bad_point_reversed_bounds_and_a_key_used_twice(
    database: Database,
) -> None:
    service_key = sign.generate_private_key()
    point = hpke.public_key_bytes(hpke.generate_private_key())
    off_curve = b"\x04" + bytes(64)
    compressed = bytes([0x02 + (point[-1] & 1)]) + point[1:33]
    for bad in (off_curve, compressed, point[:-1], b""):
        with pytest.raises(ValueError, match="P-256"):
            _add_period(database, service_key, bad)
    with pytest.raises(ValueError, match="later than"):
        _add_period(database, service_key, point, NOT_AFTER, NOT_BEFORE)
    assert _in_transaction(database, keys_service.list_periods) == []

    first = _add_period(database, service_key, point)
    with pytest.raises(Conflict, match=first.period_id):
        _add_period(database, service_key, point, NOT_AFTER, NOT_AFTER + 86400)
    assert _in_transaction(database, keys_service.list_periods) == [first]


def test_new_period_writes_the_private_half_under_the_strong_kdf(
    database: Database, tmp_path: Path
) -> None:
    out = tmp_path / "period.pem"
    _new_period(database, sign.generate_private_key(), out)
    assert files.period_key_kdf(out) == (files.PERIOD_KEY_KDF, files.PERIOD_KEY_KDF_ITERATIONS)

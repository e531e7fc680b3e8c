"""Period keys: certify and register, list, record destruction (CRYPTO.md §2, §6).

A period's public half is registered either as made by its custodian elsewhere
(``add_period``) or together with a private half made here (``new_period``); both go through
``_certify_and_register``.

Services never commit: the caller's transaction does, after the call returns.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit import repository as audit_log
from app.config import Settings
from app.crypto import certs, hpke, sign
from app.keys import engine, files
from app.keys import repository as repo
from app.kit import b64
from app.kit.errors import Conflict, NotFound
from app.models import PeriodKey

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServiceKey:
    """The public face of the service signing key: what pages embed and docs publish."""

    public_key: str  # the 65-byte point, base64url
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Period:
    period_id: str
    public_key: str
    not_before: int
    not_after: int
    fingerprint: str
    certificate: str
    destroyed_at: float | None

    def as_dict(self) -> dict[str, object]:
        """The certified period key as pages, clients and tools receive it (PROTOCOL.md §6.1)."""
        return {
            "period_id": self.period_id,
            "public_key": self.public_key,
            "not_before": self.not_before,
            "not_after": self.not_after,
            "certificate": self.certificate,
        }


def describe_service_key(key: ec.EllipticCurvePrivateKey) -> ServiceKey:
    point = sign.public_key_bytes(key)
    return ServiceKey(b64.encode(point), engine.fingerprint(point))


def _period(row: PeriodKey) -> Period:
    return Period(
        period_id=row.id,
        public_key=row.public_key,
        not_before=row.not_before,
        not_after=row.not_after,
        fingerprint=engine.fingerprint(b64.decode(row.public_key)),
        certificate=row.certificate,
        destroyed_at=row.destroyed_at,
    )


async def _certify_and_register(
    session: AsyncSession,
    *,
    service_key: ec.EllipticCurvePrivateKey,
    public_key: bytes,
    not_before: int,
    not_after: int,
    now: float,
    action: str,
) -> Period:
    """Certify a period's public half with the service key, register it and audit ``action``;
    flushed, so that a clash or a dead database fails here. The one way a period comes to be.

    Raises ``ValueError`` (bounds, or not a P-256 point) or ``Conflict`` (the same public key is
    already a period: one private key must never serve two periods, or destroying it at the end
    of one period's retention would end the other's early, or keep it alive late).
    """
    if not_after <= not_before:
        raise ValueError("not_after must be later than not_before")
    engine.check_public_point(public_key)
    public = b64.encode(public_key)
    existing = await repo.period_by_public_key(session, public)
    if existing is not None:
        raise Conflict(
            f"this public key is already period {existing.id}; make a new key for each period"
        )
    period_id = secrets.token_bytes(certs.ID_BYTES)
    signature = certs.issue_period_cert(service_key, period_id, public_key, not_before, not_after)
    row = PeriodKey(
        id=b64.encode(period_id),
        public_key=public,
        not_before=not_before,
        not_after=not_after,
        certificate=b64.encode(signature),
        created_at=now,
        destroyed_at=None,
    )
    repo.add_period(session, row)
    detail = {
        "period_id": row.id,
        "not_before": not_before,
        "not_after": not_after,
        "fingerprint": engine.fingerprint(public_key),
    }
    await audit_log.audit(session, staff_id=None, action=action, detail=json.dumps(detail), now=now)
    await session.flush()
    return _period(row)


async def add_period(
    session: AsyncSession,
    *,
    service_key: ec.EllipticCurvePrivateKey,
    public_key: bytes,
    not_before: int,
    not_after: int,
    now: float,
) -> Period:
    """Certify and register the public half of a period key made by its custodian, elsewhere
    (``vhouse keys make-period-key``); the server never sees the private half.

    Raises ``ValueError`` (bounds, or not a 65-byte point on P-256) or ``Conflict`` (that public
    key is already registered).
    """
    return await _certify_and_register(
        session,
        service_key=service_key,
        public_key=public_key,
        not_before=not_before,
        not_after=not_after,
        now=now,
        action="keys.add_period",
    )


async def new_period(
    session: AsyncSession,
    *,
    service_key: ec.EllipticCurvePrivateKey,
    out: Path,
    passphrase: str,
    not_before: int,
    not_after: int,
    now: float,
) -> Period:
    """Generate a period's HPKE key pair here, write the private half encrypted to the new file
    ``out`` (``files.write_period_key``), and register the public half as ``add_period`` does.

    Raises ``WeakPassphrase``, ``ValueError`` (bounds) or ``KeyFileError`` (``out`` exists) before
    anything is written. After this returns the file exists: if the caller's commit then fails,
    the caller must ``files.destroy(out)``, or an unregistered key stays on disk.
    """
    engine.check_passphrase(passphrase)
    if not_after <= not_before:
        raise ValueError("not_after must be later than not_before")
    if out.exists() or out.is_symlink():
        raise files.KeyFileError(f"{out} already exists; refusing to overwrite a key")
    private = hpke.generate_private_key()
    period = await _certify_and_register(
        session,
        service_key=service_key,
        public_key=hpke.public_key_bytes(private),
        not_before=not_before,
        not_after=not_after,
        now=now,
        action="keys.new_period",
    )
    files.write_period_key(out, private, passphrase)  # after the flush: no key for a failed row
    return period


async def list_periods(session: AsyncSession) -> list[Period]:
    """Every registered period, oldest first, destroyed ones included."""
    return [_period(row) for row in await repo.all_periods(session)]


def is_certified(period: Period, service_public_key: bytes) -> bool:
    """Whether the stored certificate verifies under ``service_public_key`` (dates aside)."""
    message = certs.period_cert_message(
        b64.decode(period.period_id),
        b64.decode(period.public_key),
        period.not_before,
        period.not_after,
    )
    return sign.verify(service_public_key, message, b64.decode(period.certificate))


async def destroy_period(
    session: AsyncSession, *, period_id: str, key_file: Path, now: float
) -> None:
    """Record the destruction of a period's private key, audit it, then zero-fill and remove
    ``key_file``.

    Raises ``NotFound`` (unknown period), ``Conflict`` (already destroyed) or ``KeyFileError``
    (the file is missing or not an encrypted key) before touching the file. The rows are flushed
    before the file is destroyed, so a database failure leaves the key intact; the caller must
    commit right after this returns.
    """
    row = await repo.period_by_id(session, period_id)
    if row is None:
        raise NotFound(f"no period {period_id!r}")
    if row.destroyed_at is not None:
        raise Conflict(f"period {period_id!r} was already destroyed")
    files.check_period_key_file(key_file)
    if not await repo.mark_destroyed(session, period_id, now):
        raise Conflict(f"period {period_id!r} was already destroyed")
    await audit_log.audit(
        session,
        staff_id=None,
        action="keys.destroy_period",
        detail=json.dumps({"period_id": period_id}),
        now=now,
    )
    await session.flush()
    files.destroy(key_file)


def load_service_key(settings: Settings) -> ec.EllipticCurvePrivateKey:
    """The service signing key named by the settings; a throwaway one in test mode without a file.

    Raises ``KeyFileError`` when the named file is missing or unsafe: the service must not start
    without the key its published fingerprint belongs to.
    """
    if settings.service_key_file is not None:
        return files.load_service_key(settings.service_key_file)
    if settings.mode != "test":
        raise files.KeyFileError("VH_SERVICE_KEY_FILE is not set ('vhouse keys init')")
    log.warning("test mode: using a throwaway service key")
    return sign.generate_private_key()


async def current_period(session: AsyncSession, now: float) -> Period | None:
    """The period key new segments are sealed to: valid now, not destroyed, latest start."""
    row = await repo.current_period(session, int(now))
    return None if row is None else _period(row)


async def warn_without_period(sessionmaker: async_sessionmaker[AsyncSession], now: float) -> None:
    """Log loudly when no period key covers now: new chats are then readable by counsellors only."""
    try:
        async with sessionmaker() as session:
            period = await current_period(session, now)
    except Exception as exc:  # the database may not be migrated yet; readiness reports it
        log.warning("could not look up the period key: %s", type(exc).__name__)
        return
    if period is None:
        log.warning(
            "no period key is valid now: new chats cannot be exported by the organisation "
            "('vhouse keys make-period-key' by the custodian, then 'add-period' here)"
        )


async def period_by_id(session: AsyncSession, period_id: str) -> Period | None:
    row = await repo.period_by_id(session, period_id)
    return None if row is None else _period(row)

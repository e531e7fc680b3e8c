"""Counsellor devices: register public keys and certify them with the service key (CRYPTO.md §2).

A device is certified only for a staff member whose password+TOTP login is fresh (the endpoint
checks the server-signed proof, ``app.security.freshlogin``), so a stolen session cookie alone
cannot add a key that young people would seal to. Services never commit.
"""

from __future__ import annotations

import json
import logging
import secrets

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import repository as audit_log
from app.crypto import _p256, certs, sign
from app.crypto.certs import DeviceCert as DeviceCert  # the one type; relay and chat import it here
from app.keys import repository as repo
from app.kit import b64
from app.kit.errors import DomainError, NotFound
from app.models import Device

log = logging.getLogger(__name__)


class LoginNotFresh(DomainError):
    status = 403
    code = "login_not_fresh"


class BadPublicKey(DomainError):
    status = 422
    code = "invalid_request"


def to_cert(row: Device) -> DeviceCert:
    return DeviceCert(
        device_id=row.id,
        staff_id=row.staff_id,
        hpke_public_key=row.hpke_public_key,
        sig_public_key=row.sig_public_key,
        not_after=row.not_after,
        certificate=row.certificate,
    )


def _point(text: str, name: str) -> bytes:
    try:
        raw = b64.decode(text)
        _p256.load_public(raw)
    except ValueError:
        raise BadPublicKey(f"{name} must be a 65-byte uncompressed P-256 point") from None
    return raw


async def register(
    session: AsyncSession,
    *,
    service_key: ec.EllipticCurvePrivateKey,
    staff_id: str,
    hpke_public_key: str,
    sig_public_key: str,
    lifetime_seconds: int,
    now: float,
) -> DeviceCert:
    """Certify a new device of ``staff_id``, whose fresh login the caller has checked."""
    hpke_pub = _point(hpke_public_key, "hpke_public_key")
    sig_pub = _point(sig_public_key, "sig_public_key")
    if hpke_pub == sig_pub:
        raise BadPublicKey("the two keys of a device must differ")
    device_id = secrets.token_bytes(certs.ID_BYTES)
    not_after = int(now) + lifetime_seconds
    signature = certs.issue_device_cert(
        service_key, b64.decode(staff_id), device_id, hpke_pub, sig_pub, not_after
    )
    row = Device(
        id=b64.encode(device_id),
        staff_id=staff_id,
        hpke_public_key=hpke_public_key,
        sig_public_key=sig_public_key,
        not_after=not_after,
        certificate=b64.encode(signature),
        created_at=now,
    )
    repo.add_device(session, row)
    detail = json.dumps({"device_id": row.id, "not_after": not_after})
    await audit_log.audit(
        session, staff_id=staff_id, action="device.register", detail=detail, now=now
    )
    await session.flush()
    return to_cert(row)


async def usable(
    session: AsyncSession,
    staff_id: str,
    device_id: str,
    now: float,
    *,
    service_key: ec.EllipticCurvePrivateKey,
) -> DeviceCert:
    """The device if it is ``staff_id``'s, not revoked, not expired and its certificate is the
    service key's signature of exactly this row; ``NotFound`` otherwise. A device row written
    into the database without the service key (issue 13 (1)) is not a usable device: a console
    naming it gets no device and cannot go on duty."""
    row = await repo.device(session, device_id) if b64.is_b64url(device_id, nbytes=16) else None
    unusable = row is None or row.revoked_at is not None or row.not_after <= now
    if unusable or row is None or row.staff_id != staff_id:
        raise NotFound("no usable device with this id: register the device again")
    cert = to_cert(row)
    try:
        cert.verify(sign.public_key_bytes(service_key), int(now))
    except ValueError:  # VerificationError is one, as is a field of the wrong length
        log.warning("device %s of staff_id=%s: certificate does not verify", row.id, staff_id)
        raise NotFound("no usable device with this id: register the device again") from None
    return cert


async def renew(
    session: AsyncSession,
    *,
    service_key: ec.EllipticCurvePrivateKey,
    staff_id: str,
    device_id: str,
    lifetime_seconds: int,
    now: float,
) -> DeviceCert:
    """A new certificate of the same keys, valid ``lifetime_seconds`` from now, for a usable
    device of ``staff_id`` whose fresh login the caller has checked (certificates are short,
    and a counsellor who logs in keeps their device). ``NotFound`` for a device that is not
    usable: revoked or expired ones are registered again, with an enrolment code."""
    await usable(session, staff_id, device_id, now, service_key=service_key)
    row = await repo.device(session, device_id)
    assert row is not None  # noqa: S101 - usable found it
    not_after = int(now) + lifetime_seconds
    signature = certs.issue_device_cert(
        service_key,
        b64.decode(staff_id),
        b64.decode(device_id),
        b64.decode(row.hpke_public_key),
        b64.decode(row.sig_public_key),
        not_after,
    )
    row.not_after, row.certificate = not_after, b64.encode(signature)
    detail = json.dumps({"device_id": row.id, "not_after": not_after})
    await audit_log.audit(session, staff_id=staff_id, action="device.renew", detail=detail, now=now)
    await session.flush()
    return to_cert(row)


async def by_id(session: AsyncSession, device_id: str) -> DeviceCert | None:
    row = await repo.device(session, device_id)
    return None if row is None else to_cert(row)


async def revoke_all(session: AsyncSession, staff_id: str, now: float) -> None:
    """Revoke every device of a staff member (account disabled or keys lost)."""
    for row in await repo.devices_of(session, staff_id):
        if row.revoked_at is None:
            row.revoked_at = now

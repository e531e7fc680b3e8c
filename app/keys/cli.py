"""``vhouse keys``: the service signing key and the organisation's period keys."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from app.config import Settings
from app.crypto import sign
from app.db import make_engine, make_sessionmaker, transaction
from app.keys import engine, files
from app.keys import service as keys_service
from app.kit import b64
from app.kit.cliargs import iso_day
from app.kit.errors import DomainError


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _fail(text: str) -> int:
    sys.stderr.write(f"vhouse: {text}\n")
    return 2


def _service_key_path(settings: Settings, override: Path | None = None) -> Path:
    path = override or settings.service_key_file
    if path is None:
        raise files.KeyFileError("no service key file: set VH_SERVICE_KEY_FILE (or pass --file)")
    return path


def add_keys_parser(sub: Any) -> Any:
    """Add ``vhouse keys``; returns its subparsers, for commands other parts add."""
    keys = sub.add_parser("keys", help="service signing key and period keys (CRYPTO.md §2)")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)

    init = keys_sub.add_parser("init", help="create the service signing key (never overwrites)")
    init.add_argument("--file", type=Path, help="where to write it (default: VH_SERVICE_KEY_FILE)")
    init.set_defaults(func=cmd_init)

    new = keys_sub.add_parser(
        "new-period",
        help="create a period key: encrypted private half to --out, certified public half "
        "registered; dates are midnight UTC, --not-after exclusive (default: this month)",
    )
    new.add_argument("--not-before", type=iso_day, help="first day, YYYY-MM-DD")
    new.add_argument("--not-after", type=iso_day, help="the day after the last, YYYY-MM-DD")
    new.add_argument("--out", type=Path, required=True, help="new file for the private key")
    new.add_argument(
        "--passphrase-stdin", action="store_true", help="read the passphrase from stdin"
    )
    new.set_defaults(func=cmd_new_period)

    lst = keys_sub.add_parser("list", help="the service key fingerprint, then one line a period")
    lst.set_defaults(func=cmd_list)

    destroy = keys_sub.add_parser(
        "destroy-period", help="zero-fill and remove a period's private key; record it"
    )
    destroy.add_argument("--file", type=Path, required=True, help="the period's private key file")
    destroy.add_argument(
        "--period-id", required=True, help="write --period-id=ID (an id may start with '-')"
    )
    destroy.set_defaults(func=cmd_destroy_period)

    fingerprint = keys_sub.add_parser(
        "fingerprint",
        help="the service key's fingerprint, from its file or from a public key as a page or "
        "GET /api/keys shows it; --expect compares (exit 1 when it differs)",
    )
    source = fingerprint.add_mutually_exclusive_group()
    source.add_argument(
        "--file", type=Path, help="the service key file (default: VH_SERVICE_KEY_FILE)"
    )
    source.add_argument("--public", help="a 65-byte P-256 point in base64url (vh-service-key)")
    fingerprint.add_argument("--expect", help="the published fingerprint to compare with")
    fingerprint.set_defaults(func=cmd_fingerprint)
    return keys_sub


# ---------------------------------------------------------------------- init


def cmd_init(settings: Settings, args: argparse.Namespace) -> int:
    try:
        path = _service_key_path(settings, args.file)
        key = files.create_service_key(path)
    except files.KeyFileError as exc:
        return _fail(str(exc))
    described = keys_service.describe_service_key(key)
    _out(f"service signing key written to {path} (mode 0600); keep it off backups of the database")
    _out(f"public key:  {described.public_key}")
    _out(f"fingerprint: {described.fingerprint}")
    _out("publish the fingerprint (docs/THREAT-MODEL.md) so that it can be checked independently")
    return 0


# ---------------------------------------------------------------------- new-period


def _passphrase(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Passphrase for the period key (12+ characters): ")
    if getpass.getpass("Again: ") != first:
        raise ValueError("the passphrases differ")
    return first


async def _new_period(
    settings: Settings,
    service_key: ec.EllipticCurvePrivateKey,
    args: argparse.Namespace,
    passphrase: str,
    bounds: tuple[int, int],
) -> keys_service.Period:
    existed = args.out.exists() or args.out.is_symlink()
    db = make_engine(settings)
    try:
        async with transaction(make_sessionmaker(db)) as session:
            return await keys_service.new_period(
                session,
                service_key=service_key,
                out=args.out,
                passphrase=passphrase,
                not_before=bounds[0],
                not_after=bounds[1],
                now=time.time(),
            )
    except BaseException:
        if not existed and args.out.exists():
            files.destroy(args.out)  # written but not registered: no orphan key on disk
        raise
    finally:
        await db.dispose()


def cmd_new_period(settings: Settings, args: argparse.Namespace) -> int:
    if (args.not_before is None) != (args.not_after is None):
        return _fail("give both --not-before and --not-after, or neither for this month")
    first, following = (
        (args.not_before, args.not_after)
        if args.not_before is not None
        else engine.calendar_month(datetime.now(UTC).date())
    )
    try:
        bounds = engine.period_bounds(first, following)
        service_key = files.load_service_key(_service_key_path(settings))
        passphrase = _passphrase(args.passphrase_stdin)
        engine.check_passphrase(passphrase)
        period = asyncio.run(_new_period(settings, service_key, args, passphrase, bounds))
    except (ValueError, files.KeyFileError) as exc:
        return _fail(str(exc))
    except DomainError as exc:
        return _fail(exc.message)
    _out(json.dumps(_period_json(period) | {"file": str(args.out)}))
    return 0


# ---------------------------------------------------------------------- list


def _period_json(period: keys_service.Period) -> dict[str, Any]:
    return {
        "period_id": period.period_id,
        "not_before": engine.day_of(period.not_before),
        "not_after": engine.day_of(period.not_after),
        "fingerprint": period.fingerprint,
        "destroyed": period.destroyed_at is not None,
    }


async def _list_periods(settings: Settings) -> list[keys_service.Period]:
    db = make_engine(settings)
    try:
        async with make_sessionmaker(db)() as session:
            return await keys_service.list_periods(session)
    finally:
        await db.dispose()


def cmd_list(settings: Settings, _args: argparse.Namespace) -> int:
    service_pub: bytes | None = None
    if settings.service_key_file is None:
        _out(json.dumps({"service_key_fingerprint": None}))
    else:
        try:
            key = files.load_service_key(settings.service_key_file)
        except files.KeyFileError as exc:
            return _fail(str(exc))
        service_pub = sign.public_key_bytes(key)
        described = keys_service.describe_service_key(key)
        _out(
            json.dumps(
                {
                    "service_key_fingerprint": described.fingerprint,
                    "service_public_key": described.public_key,
                }
            )
        )
    for period in asyncio.run(_list_periods(settings)):
        certified = None if service_pub is None else keys_service.is_certified(period, service_pub)
        _out(json.dumps(_period_json(period) | {"certified": certified}))
    return 0


# ---------------------------------------------------------------------- destroy-period


async def _destroy_period(settings: Settings, args: argparse.Namespace) -> None:
    db = make_engine(settings)
    try:
        async with transaction(make_sessionmaker(db)) as session:
            await keys_service.destroy_period(
                session, period_id=args.period_id, key_file=args.file, now=time.time()
            )
    finally:
        await db.dispose()


def cmd_destroy_period(settings: Settings, args: argparse.Namespace) -> int:
    try:
        asyncio.run(_destroy_period(settings, args))
    except files.KeyFileError as exc:
        return _fail(str(exc))
    except DomainError as exc:
        return _fail(exc.message)
    _out(f"period {args.period_id}: {args.file} zero-filled and removed; destruction recorded")
    return 0


# ---------------------------------------------------------------------- fingerprint


def _public_point(text: str) -> bytes:
    """The 65-byte point of a base64url public key; ``ValueError`` unless it is on P-256."""
    try:
        point = b64.decode(text.strip())
    except ValueError:
        raise ValueError("--public is not base64url") from None
    if len(point) != sign.PUBLIC_KEY_BYTES or point[0] != 0x04:
        raise ValueError("--public is not a 65-byte uncompressed P-256 point")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise ValueError("--public is not a point on P-256") from None
    return point


def _normalised(fingerprint: str) -> str:
    """Lowercase hex without separators, so that ``AB:CD``, ``abcd`` and ``ab cd`` compare."""
    return "".join(ch for ch in fingerprint.lower() if ch in "0123456789abcdef")


def cmd_fingerprint(settings: Settings, args: argparse.Namespace) -> int:
    try:
        if args.public is not None:
            point = _public_point(args.public)
        else:
            point = sign.public_key_bytes(
                files.load_service_key(_service_key_path(settings, args.file))
            )
    except (ValueError, files.KeyFileError) as exc:
        return _fail(str(exc))
    fingerprint = engine.fingerprint(point)
    _out(f"public key:  {b64.encode(point)}")
    _out(f"fingerprint: {fingerprint}")
    if args.expect is None:
        return 0
    if _normalised(args.expect) != _normalised(fingerprint):
        sys.stderr.write(f"vhouse: DIFFERENT from the expected fingerprint {args.expect.strip()}\n")
        return 1
    _out("matches the expected fingerprint")
    return 0

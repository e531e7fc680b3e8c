"""``vhouse keys``: the service signing key, the list of periods, their destruction, and
fingerprints; making and registering period keys is ``cli_period.py``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from app.config import Settings
from app.crypto import sign
from app.db import make_engine, make_sessionmaker, transaction
from app.keys import engine, files
from app.keys import service as keys_service
from app.keys.cli_common import normalised, period_json, public_point, service_key_path
from app.keys.cli_period import add_period_parsers
from app.kit import b64
from app.kit.cliout import fail, listing, out
from app.kit.errors import DomainError


def add_keys_parser(sub: Any) -> Any:
    """Add ``vhouse keys``; returns its subparsers, for commands other parts add."""
    keys = sub.add_parser("keys", help="service signing key and period keys (CRYPTO.md §2)")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)

    init = keys_sub.add_parser("init", help="create the service signing key (never overwrites)")
    init.add_argument("--file", type=Path, help="where to write it (default: VH_SERVICE_KEY_FILE)")
    init.set_defaults(func=cmd_init)

    add_period_parsers(keys_sub)

    lst = keys_sub.add_parser(
        "list", help="the service key's fingerprint and the periods (a table, or --json)"
    )
    lst.add_argument(
        "--json", action="store_true", help="JSON lines: the service key, then one a period"
    )
    lst.set_defaults(func=cmd_list, database=True)

    destroy = keys_sub.add_parser(
        "destroy-period", help="zero-fill and remove a period's private key; record it"
    )
    destroy.add_argument("--file", type=Path, required=True, help="the period's private key file")
    destroy.add_argument(
        "--period-id", required=True, help="write --period-id=ID (an id may start with '-')"
    )
    destroy.set_defaults(func=cmd_destroy_period, database=True)

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
        path = service_key_path(settings, args.file)
        key = files.create_service_key(path)
    except files.KeyFileError as exc:
        return fail(str(exc))
    described = keys_service.describe_service_key(key)
    out(f"service signing key written to {path} (mode 0600); keep it off backups of the database")
    out(f"public key:  {described.public_key}")
    out(f"fingerprint: {described.fingerprint}")
    out("publish the fingerprint (docs/THREAT-MODEL.md) so that it can be checked independently")
    return 0


# ---------------------------------------------------------------------- list


async def _list_periods(settings: Settings) -> list[keys_service.Period]:
    db = make_engine(settings)
    try:
        async with make_sessionmaker(db)() as session:
            return await keys_service.list_periods(session)
    finally:
        await db.dispose()


PERIOD_COLUMNS = ("period_id", "not_before", "not_after", "certified", "destroyed", "fingerprint")


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    """The service key (fingerprint and public key), then the periods: a table, or with
    ``--json`` one JSON object a line (the service key's first)."""
    service: dict[str, str | None] = {"service_key_fingerprint": None}
    service_pub: bytes | None = None
    if settings.service_key_file is not None:
        try:
            key = files.load_service_key(settings.service_key_file)
        except files.KeyFileError as exc:
            return fail(str(exc))
        service_pub = sign.public_key_bytes(key)
        described = keys_service.describe_service_key(key)
        service = {
            "service_key_fingerprint": described.fingerprint,
            "service_public_key": described.public_key,
        }
    periods = [
        period_json(p)
        | {"certified": None if service_pub is None else keys_service.is_certified(p, service_pub)}
        for p in asyncio.run(_list_periods(settings))
    ]
    if args.json:
        out(json.dumps(service))
        listing(periods, PERIOD_COLUMNS, as_json=True)
        return 0
    if service_pub is None:
        out("service key:  none (VH_SERVICE_KEY_FILE is not set)")
    else:
        out(f"service key:  {service['service_key_fingerprint']}")
        out(f"public key:   {service['service_public_key']}")
    out()
    if periods:
        listing(periods, PERIOD_COLUMNS, as_json=False)
    else:
        out("no period keys yet: `vhouse keys make-period-key`, then `vhouse keys add-period`")
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
        return fail(str(exc))
    except DomainError as exc:
        return fail(exc.message)
    out(f"period {args.period_id}: {args.file} zero-filled and removed; destruction recorded")
    return 0


# ---------------------------------------------------------------------- fingerprint


def cmd_fingerprint(settings: Settings, args: argparse.Namespace) -> int:
    try:
        if args.public is not None:
            point = public_point(args.public)
        else:
            point = sign.public_key_bytes(
                files.load_service_key(service_key_path(settings, args.file))
            )
    except (ValueError, files.KeyFileError) as exc:
        return fail(str(exc))
    fingerprint = engine.fingerprint(point)
    out(f"public key:  {b64.encode(point)}")
    out(f"fingerprint: {fingerprint}")
    if args.expect is None:
        return 0
    if normalised(args.expect) != normalised(fingerprint):
        sys.stderr.write(f"vhouse: DIFFERENT from the expected fingerprint {args.expect.strip()}\n")
        return 1
    out("matches the expected fingerprint")
    return 0

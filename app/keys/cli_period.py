"""``vhouse keys`` for a period key's two halves (CRYPTO.md §2).

The custody flow: ``make-period-key`` on the custodian's own machine (offline: no database, no
service key, no settings) writes the encrypted private half and a ``.pub`` file; only the
``.pub`` goes to the server, where ``add-period`` certifies and registers it. ``new-period``
does both on the server, for convenience. ``check-period`` says how strongly a private key
file's passphrase is stretched, without the passphrase.
"""

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
from sqlalchemy.exc import SQLAlchemyError

from app.config import Settings
from app.crypto import hpke
from app.db import make_engine, make_sessionmaker, transaction
from app.keys import engine, files
from app.keys import service as keys_service
from app.keys.cli_common import normalised, period_json, public_point, service_key_path
from app.kit import b64
from app.kit.cliargs import iso_day
from app.kit.cliout import fail, out
from app.kit.errors import DomainError

_DATES = "dates are midnight UTC, --not-after exclusive (default: this month)"


def add_period_parsers(keys_sub: Any) -> None:
    make = keys_sub.add_parser(
        "make-period-key",
        help="on the custodian's machine, offline: a period key pair; the encrypted private half "
        "to --out, the public half to OUT.pub (for add-period on the server)",
    )
    make.add_argument("--out", type=Path, required=True, help="new file for the private key")
    make.add_argument("--public-out", type=Path, help="new file for the public half (OUT.pub)")
    _passphrase_arguments(make)
    make.set_defaults(func=cmd_make_period_key, offline=True)

    add = keys_sub.add_parser(
        "add-period",
        help=f"certify and register a period's public half made by make-period-key; {_DATES}",
    )
    add.add_argument(
        "--public",
        required=True,
        help="the .pub file make-period-key wrote, or the public key itself in base64url",
    )
    _date_arguments(add)
    add.set_defaults(func=cmd_add_period, database=True)

    new = keys_sub.add_parser(
        "new-period",
        help="make a period key on this server: encrypted private half to --out, certified "
        f"public half registered (make-period-key + add-period keeps it off the server); {_DATES}",
    )
    _date_arguments(new)
    new.add_argument("--out", type=Path, required=True, help="new file for the private key")
    _passphrase_arguments(new)
    new.set_defaults(func=cmd_new_period, database=True)

    check = keys_sub.add_parser(
        "check-period",
        help="how a period private key file's passphrase is stretched; exit 1 when weak",
    )
    check.add_argument("--file", type=Path, required=True, help="the period's private key file")
    check.set_defaults(func=cmd_check_period, offline=True)


def _date_arguments(parser: Any) -> None:
    parser.add_argument("--not-before", type=iso_day, help="first day, YYYY-MM-DD")
    parser.add_argument("--not-after", type=iso_day, help="the day after the last, YYYY-MM-DD")


def _passphrase_arguments(parser: Any) -> None:
    how = parser.add_mutually_exclusive_group()
    how.add_argument(
        "--passphrase-stdin", action="store_true", help="read the passphrase from stdin"
    )
    how.add_argument(
        "--generate-passphrase",
        action="store_true",
        help="generate the passphrase and print it to stderr, once, without asking",
    )


def _bounds(args: argparse.Namespace) -> tuple[int, int]:
    if (args.not_before is None) != (args.not_after is None):
        raise ValueError("give both --not-before and --not-after, or neither for this month")
    first, following = (
        (args.not_before, args.not_after)
        if args.not_before is not None
        else engine.calendar_month(datetime.now(UTC).date())
    )
    return engine.period_bounds(first, following)


def _refuse_existing(*paths: Path) -> None:
    for path in paths:
        if path.exists() or path.is_symlink():
            raise files.KeyFileError(f"{path} already exists; refusing to overwrite a key")


# ---------------------------------------------------------------------- passphrases


def passphrase(args: argparse.Namespace, target: Path) -> str:
    """The passphrase for a new period key file: from stdin, generated (``--generate-passphrase``)
    or asked for, with a generated one offered; ``ValueError`` when it is too short."""
    if args.passphrase_stdin:
        chosen = sys.stdin.readline().rstrip("\n")
    elif args.generate_passphrase:
        chosen = engine.generate_passphrase()
        sys.stderr.write(
            f"vhouse: passphrase of {target} (shown this once, kept nowhere):\n\n"
            f"    {chosen}\n\n"
            "vhouse: write this down or store it in your password manager now; "
            "without it the key cannot be opened\n"
        )
    else:
        chosen = _ask(target)
    engine.check_passphrase(chosen)
    return chosen


def _ask(target: Path) -> str:
    generated = engine.generate_passphrase()
    sys.stderr.write(
        f"A passphrase for {target} ({engine.GENERATED_PASSPHRASE_BITS} random bits):\n\n"
        f"    {generated}\n\n"
        "Write it down or store it in your password manager, then press Enter to use it;\n"
        f"or type a passphrase of your own ({engine.MIN_PASSPHRASE_CHARS}+ characters).\n"
    )
    typed = getpass.getpass("Passphrase [Enter: the one above]: ")
    if not typed:
        return generated
    engine.check_passphrase(typed)
    if getpass.getpass("Again: ") != typed:
        raise ValueError("the passphrases differ")
    return typed


# ---------------------------------------------------------------------- make-period-key


def cmd_make_period_key(_settings: object, args: argparse.Namespace) -> int:
    public_out: Path = args.public_out or args.out.with_name(args.out.name + ".pub")
    try:
        if public_out.absolute() == args.out.absolute():
            raise ValueError("--public-out must differ from --out")
        _refuse_existing(args.out, public_out)
        chosen = passphrase(args, args.out)
        private = hpke.generate_private_key()
        point = hpke.public_key_bytes(private)
        files.write_period_key(args.out, private, chosen)
        try:
            files.write_period_public(public_out, point)
        except BaseException:
            files.destroy(args.out)  # a private half without its public half is of no use
            raise
    except (ValueError, files.KeyFileError) as exc:
        return fail(str(exc))
    except OSError as exc:
        return fail(f"could not write the key: {exc.strerror or type(exc).__name__}")
    out(f"period private key written to {args.out} (mode 0600): keep it offline, with its")
    out("passphrase, until 'vhouse keys destroy-period' at the end of its retention")
    out(f"public half written to {public_out}: copy only this file to the server, and there run")
    out(f"'vhouse keys add-period --public {public_out.name}' with the period's dates")
    out(f"public key:  {b64.encode(point)}")
    out(f"fingerprint: {engine.fingerprint(point)}")
    return 0


# ---------------------------------------------------------------------- add-period


def _public_half(value: str) -> bytes:
    """The point of ``--public``: a ``.pub`` file (its stated fingerprint must match) or
    base64url text."""
    path = Path(value)
    if not path.is_file():
        return public_point(value)
    text, stated = files.read_period_public(path)
    point = public_point(text, f"the public key in {path}")
    if stated is not None and normalised(stated) != normalised(engine.fingerprint(point)):
        raise ValueError(f"{path} states a fingerprint that is not its public key's: damaged")
    return point


async def _add_period(
    settings: Settings,
    service_key: ec.EllipticCurvePrivateKey,
    point: bytes,
    bounds: tuple[int, int],
) -> keys_service.Period:
    db = make_engine(settings)
    try:
        async with transaction(make_sessionmaker(db)) as session:
            return await keys_service.add_period(
                session,
                service_key=service_key,
                public_key=point,
                not_before=bounds[0],
                not_after=bounds[1],
                now=time.time(),
            )
    finally:
        await db.dispose()


def cmd_add_period(settings: Settings, args: argparse.Namespace) -> int:
    try:
        bounds = _bounds(args)
        point = _public_half(args.public)
        service_key = files.load_service_key(service_key_path(settings))
        period = asyncio.run(_add_period(settings, service_key, point, bounds))
    except (ValueError, files.KeyFileError) as exc:
        return fail(str(exc))
    except DomainError as exc:
        return fail(exc.message)
    except SQLAlchemyError as exc:
        return fail(f"the period was not registered: {type(exc).__name__}")
    out(json.dumps(period_json(period)))
    return 0


# ---------------------------------------------------------------------- new-period


async def _new_period(
    settings: Settings,
    service_key: ec.EllipticCurvePrivateKey,
    args: argparse.Namespace,
    chosen: str,
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
                passphrase=chosen,
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
    try:
        bounds = _bounds(args)
        service_key = files.load_service_key(service_key_path(settings))
        _refuse_existing(args.out)
        chosen = passphrase(args, args.out)
        period = asyncio.run(_new_period(settings, service_key, args, chosen, bounds))
    except (ValueError, files.KeyFileError) as exc:
        return fail(str(exc))
    except DomainError as exc:
        return fail(exc.message)
    except SQLAlchemyError as exc:
        return fail(f"the period was not registered: {type(exc).__name__}")
    out(json.dumps(period_json(period) | {"file": str(args.out)}))
    return 0


# ---------------------------------------------------------------------- check-period


def cmd_check_period(_settings: object, args: argparse.Namespace) -> int:
    try:
        kdf = files.period_key_kdf(args.file)
    except files.KeyFileError as exc:
        return fail(str(exc))
    out(
        json.dumps(
            {
                "file": str(args.file),
                "algorithm": kdf.algorithm,
                "iterations": kdf.iterations,
                "weak": kdf.weak,
            }
        )
    )
    if kdf.weak:
        sys.stderr.write(
            f"vhouse: WEAK: {args.file} is not {files.PERIOD_KEY_KDF} with at least "
            f"{files.PERIOD_KEY_MIN_KDF_ITERATIONS:,} iterations; re-encrypt it "
            "(README.md, 'Period keys in custody')\n"
        )
        return 1
    return 0

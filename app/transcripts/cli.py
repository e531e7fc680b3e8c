"""``vhouse transcripts export``: read one conversation with an organisation period key.

Exit 0 with the transcript on stdout or in ``--out`` (a new 0600 file); exit 1 with a one-line
reason on stderr when the export is refused or fails. The audit row is committed before any
plaintext is written.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.exc import SQLAlchemyError

from app.chat.sealing import sealer_from
from app.config import Settings
from app.crypto import sign
from app.db import make_engine, make_sessionmaker, transaction
from app.keys import files
from app.kit import files as private_files
from app.transcripts import render
from app.transcripts import service as transcripts_service
from app.transcripts.engine import ExportRefused, NotTrusted, Transcript


class OutputError(Exception):
    """The output file cannot be written as asked; the message says why."""


def _fail(text: str) -> int:
    sys.stderr.write(f"vhouse: {text}\n")
    return 1


def add_transcripts_parser(sub: Any) -> None:
    transcripts = sub.add_parser("transcripts", help="organisation transcript export (audited)")
    transcripts_sub = transcripts.add_subparsers(dest="transcripts_command", required=True)
    export = transcripts_sub.add_parser(
        "export",
        help="decrypt one conversation with a period key, after verifying the counsellor "
        "device's acceptance; writes an audit record",
    )
    export.add_argument(
        "--conversation",
        required=True,
        help="the conversation id; write --conversation=ID (an id may start with '-')",
    )
    export.add_argument(
        "--period-key", type=Path, required=True, help="the period's encrypted private key file"
    )
    export.add_argument(
        "--passphrase-stdin", action="store_true", help="read the passphrase from stdin"
    )
    export.add_argument("--out", type=Path, help="a new file (0600) instead of stdout")
    export.add_argument("--format", choices=("text", "json"), default="text")
    export.add_argument(
        "--service-key-file", type=Path, help="the service key (default: VH_SERVICE_KEY_FILE)"
    )
    export.add_argument(
        "--allow-unaccepted",
        action="store_true",
        help="export segments no certified device accepted, marked NOT VERIFIED",
    )
    export.set_defaults(func=cmd_export, database=True)


def _service_public_key(settings: Settings, override: Path | None) -> bytes:
    path = override or settings.service_key_file
    if path is None:
        raise files.KeyFileError(
            "no service key file: set VH_SERVICE_KEY_FILE or pass --service-key-file"
        )
    return sign.public_key_bytes(files.load_service_key(path))


def _passphrase(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return getpass.getpass("Passphrase of the period key: ")


def _check_out(path: Path) -> None:
    """Fail before anything is read or audited if ``path`` cannot become a new file."""
    if path.exists() or path.is_symlink():
        raise OutputError(f"{path} already exists; refusing to overwrite it")
    parent = path.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{parent} is not a writable directory")


def _write_new(path: Path, text: str) -> None:
    """Create ``path`` 0600 (never overwriting) and write ``text`` durably."""
    try:
        private_files.write_private(path, text.encode("utf-8"))
    except FileExistsError:
        raise OutputError(f"{path} already exists; refusing to overwrite it") from None
    except OSError as exc:
        raise OutputError(f"{path}: {exc.strerror}") from None


async def _export(
    settings: Settings,
    args: argparse.Namespace,
    period_key: ec.EllipticCurvePrivateKey,
    service_public_key: bytes,
) -> Transcript:
    db = make_engine(settings)
    try:
        async with transaction(make_sessionmaker(db)) as session:
            return await transcripts_service.export_transcript(
                session,
                sealer_from(settings),
                conversation_id=args.conversation,
                period_key=period_key,
                service_public_key=service_public_key,
                allow_unverified=args.allow_unaccepted,
                now=time.time(),
            )
    finally:
        await db.dispose()


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    try:
        if args.out is not None:
            _check_out(args.out)
        service_public_key = _service_public_key(settings, args.service_key_file)
        period_key = files.load_period_key(args.period_key, _passphrase(args.passphrase_stdin))
        transcript = asyncio.run(_export(settings, args, period_key, service_public_key))
        text = render.to_json(transcript) if args.format == "json" else render.to_text(transcript)
        if args.out is not None:
            _write_new(args.out, text)
    except (files.KeyFileError, ExportRefused, OutputError, ValueError) as exc:
        hint = " (--allow-unaccepted exports it marked NOT VERIFIED)"
        return _fail(f"{exc}{hint if isinstance(exc, NotTrusted) else ''}")
    except (SQLAlchemyError, OSError) as exc:
        return _fail(f"export failed: {type(exc).__name__}")
    banner = render.warning(transcript)
    if banner:
        sys.stderr.write(f"vhouse: WARNING: {banner}\n")
    if args.out is None:
        sys.stdout.write(text)
    else:
        sys.stdout.write(
            f"{transcript.decrypted} messages ({transcript.undecryptable} undecryptable) "
            f"written to {args.out}; export audited\n"
        )
    sys.stdout.flush()
    return 0

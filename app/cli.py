"""``vhouse``: serve, demo, migrate, staff, keys, purge, settings, stats, canned, transcripts,
client.

Every command speaks as ``app.kit.cliout`` says: one ``vhouse: …`` line and exit code 2 for
a refusal (1 for a failed check), never a traceback for what an operator can fix. Commands
that use the database (``database=True`` in their defaults) first check that it answers and
is migrated (``migrate.check_ready``). ``vhouse --demo COMMAND`` runs a command on the demo
of this directory (``vhouse demo``: ./var/demo.sqlite3 and its keys) instead of ``VH_*``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging.config
import secrets
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from app.config import DEFAULT_SQLITE_URL, Settings
from app.db import is_outage, make_engine, make_sessionmaker, transaction
from app.keys import files as keys_files
from app.kit.cliout import fail, out
from app.kit.files import private_directory, write_private
from app.logging_config import logging_config
from app.migrate import DatabaseNotReady, check_ready, printable_url, reason, upgrade
from app.security import totp
from app.staff import cli as staff_cli

DEMO_DIR = Path("var")
DEMO_DB = DEMO_DIR / "demo.sqlite3"
DEMO_CREDENTIALS = DEMO_DIR / "demo-credentials.json"
DEMO_SERVICE_KEY = DEMO_DIR / "service-key.pem"
DEMO_PERIOD_KEY = DEMO_DIR / "demo-period.key"


def _migrate(settings: Settings) -> None:
    upgrade(settings.database_url, key_dir=settings.bucket_key_dir())


# ---------------------------------------------------------------------- serve and demo


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    _migrate(settings)
    out("database is at the latest migration")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from app.server import MetricsBindError, serve, serving_settings, workers_refusal

    try:
        settings = serving_settings(settings, cert=args.tls_cert, key=args.tls_key)
    except ValueError as exc:
        return fail(str(exc))
    refusal = workers_refusal(settings, args.workers)
    if refusal is not None:
        return fail(refusal)
    if args.migrate:
        _migrate(settings)
    else:
        try:
            check_ready(settings, "run `vhouse migrate` (or `vhouse serve --migrate`)")
        except DatabaseNotReady as exc:
            if exc.reachable:  # an unreachable database may come back: serve, not ready
                return fail(str(exc))
    try:
        serve(settings, host=args.host, port=args.port, workers=args.workers)
    except MetricsBindError as exc:
        return fail(str(exc))
    return 0


def demo_settings(port: int) -> Settings:
    origins = [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]
    return Settings(
        mode="demo",
        database_url=f"sqlite+aiosqlite:///./{DEMO_DB.as_posix()}",
        allowed_origins=origins,
        cookie_secure=False,  # plain http on the loopback only
        service_key_file=DEMO_SERVICE_KEY,
    )


def _ensure_demo_counsellor(settings: Settings) -> dict[str, str]:
    """The demo counsellor's login: created on the first run, read back on later runs."""
    exists = any(s["username"] == "demo" for s in asyncio.run(staff_cli.list_accounts(settings)))
    if exists and DEMO_CREDENTIALS.exists():
        saved: dict[str, str] = json.loads(DEMO_CREDENTIALS.read_text("utf-8"))
        return saved
    if exists:
        raise SystemExit(
            f"vhouse: the demo database has a demo counsellor but {DEMO_CREDENTIALS} is gone; "
            f"delete {DEMO_DB} to start the demo afresh"
        )
    password = secrets.token_urlsafe(15)
    args = argparse.Namespace(
        username="demo",
        alias="Sara",
        role="admin",  # a counsellor who also opens every staff page of the demo
        languages="sv,en,ar",
        skills="youth,professional",
        capacity=2,
        organisation="municipality",
    )
    created = asyncio.run(staff_cli.create_account(settings, args, password))
    saved = {"username": "demo", "password": password, "totp_secret": created.totp_secret}
    _save_credentials(saved)
    return saved


def _save_credentials(saved: dict[str, Any]) -> None:
    """The demo login, owner-only from its first byte (replaced whole, never rewritten)."""
    fresh = DEMO_CREDENTIALS.with_name(DEMO_CREDENTIALS.name + ".new")
    fresh.unlink(missing_ok=True)
    write_private(fresh, json.dumps(saved).encode())
    fresh.replace(DEMO_CREDENTIALS)


def cmd_demo(_settings: Settings, args: argparse.Namespace) -> int:
    from app.server import serve

    settings = demo_settings(args.port)
    private_directory(DEMO_DIR, tighten=True)
    _migrate(settings)
    service_key = keys_files.ensure_service_key(DEMO_SERVICE_KEY)
    creds = _ensure_demo_counsellor(settings)
    creds = asyncio.run(_ensure_demo_period(settings, service_key, creds))
    enrol_code = _demo_enrol_code(settings)
    out("Virtual House demo (SQLite, in-process broker). Not for real conversations.")
    out(f"  youth chat:    http://127.0.0.1:{args.port}/sv/chat  (also /en/chat, /ar/chat)")
    out(f"  staff console: http://127.0.0.1:{args.port}/staff")
    out(f"  username:      {creds['username']}")
    out(f"  password:      {creds['password']}")
    out(f"  TOTP secret:   {creds['totp_secret']}  (add it to an authenticator app)")
    out(f"  current code:  {totp.current_code(creds['totp_secret'], time.time())}")
    out("  a fresh code without an app: vhouse demo-code")
    out(
        f"  device code:   {enrol_code}  (asked once, when this browser's console sets up its keys;"
    )
    out("                 another: vhouse --demo staff enrol demo)")
    out("  other commands on this demo: vhouse --demo staff list (and so on)")
    if "period_passphrase" in creds:
        out(f"  period key:    {DEMO_PERIOD_KEY}, passphrase {creds['period_passphrase']}")
        out(f"  read a chat:   vhouse transcripts export --period-key {DEMO_PERIOD_KEY} ...")
    serve(settings, host="127.0.0.1", port=args.port)
    return 0


async def _ensure_demo_period(
    settings: Settings, service_key: Any, creds: dict[str, str]
) -> dict[str, str]:
    """Demo only: a period key for this month, so the organisation's export can be tried."""
    from app.keys import engine as keys_engine
    from app.keys import service as keys_service

    engine = make_engine(settings)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            if await keys_service.current_period(session, time.time()) is not None:
                return creds
            if DEMO_PERIOD_KEY.exists():
                keys_files.destroy(DEMO_PERIOD_KEY)  # an expired demo month
            passphrase = secrets.token_urlsafe(18)
            first, after = keys_engine.calendar_month(datetime.now(UTC).date())
            not_before, not_after = keys_engine.period_bounds(first, after)
            await keys_service.new_period(
                session,
                service_key=service_key,
                out=DEMO_PERIOD_KEY,
                passphrase=passphrase,
                not_before=not_before,
                not_after=not_after,
                now=time.time(),
            )
    finally:
        await engine.dispose()
    saved = {**creds, "period_passphrase": passphrase}
    _save_credentials(saved)
    return saved


def _demo_enrol_code(settings: Settings) -> str:
    """Demo only: a new enrolment code for the demo counsellor's next device, made as
    ``vhouse staff enrol demo`` makes it (the demo's key directory holds the server secret)."""
    from app.security.secret import load_server_secret
    from app.staff import device_cli

    secret = load_server_secret(settings)

    async def issue() -> str:
        engine = make_engine(settings)
        try:
            async with transaction(make_sessionmaker(engine)) as session:
                issued = await device_cli.issue_code(session, "demo", settings, secret, time.time())
        finally:
            await engine.dispose()
        return issued.code

    return asyncio.run(issue())


def cmd_demo_code(_settings: Settings, _args: argparse.Namespace) -> int:
    """Demo only: the demo counsellor's current TOTP code, read from the demo's own file."""
    if not DEMO_CREDENTIALS.exists():
        return fail(NO_DEMO)
    creds = json.loads(DEMO_CREDENTIALS.read_text("utf-8"))
    out(totp.current_code(creds["totp_secret"], time.time()))
    return 0


# ---------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vhouse", description="Virtual House service")
    parser.add_argument(
        "--demo",
        dest="on_demo",
        action="store_true",
        help="work on the demo of this directory (vhouse demo) instead of the VH_* settings",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the service (settings from VH_* variables)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--migrate", action="store_true", help="apply migrations first")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes on the one port (more than 1 needs PostgreSQL and Redis)",
    )
    serve.add_argument("--tls-cert", type=Path, help="PEM certificate chain (VH_TLS_CERT_FILE)")
    serve.add_argument("--tls-key", type=Path, help="PEM private key (VH_TLS_KEY_FILE)")
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo", help="SQLite demo with a demo counsellor on 127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.set_defaults(func=cmd_demo, offline=True)

    demo_code = sub.add_parser("demo-code", help="demo only: the demo counsellor's current code")
    demo_code.set_defaults(func=cmd_demo_code, offline=True)

    migrate = sub.add_parser("migrate", help="apply database migrations (alembic upgrade head)")
    migrate.set_defaults(func=cmd_migrate)

    staff_cli.add_staff_parser(sub)

    from app.expiry.cli import add_bucket_parser, add_purge_parser
    from app.keys.cli import add_keys_parser

    add_bucket_parser(add_keys_parser(sub))
    add_purge_parser(sub)

    from app.centre.cli import add_settings_parser

    add_settings_parser(sub)

    from app.supervision.cli import add_stats_parser

    add_stats_parser(sub)

    from app.canned.cli import add_canned_parser

    add_canned_parser(sub)

    from app.transcripts.cli import add_transcripts_parser

    add_transcripts_parser(sub)

    from app.client.cli import add_client_parser

    add_client_parser(sub)
    return parser


NO_DEMO = "no demo here: run `vhouse demo` in this directory first"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.config.dictConfig(logging_config())
    settings: Settings | None
    if args.on_demo:
        if not DEMO_DB.exists():
            return fail(NO_DEMO)
        settings = demo_settings(getattr(args, "port", 8000))
    elif getattr(args, "offline", False):
        settings = None  # no VH_* settings read: the demo, a client, a custodian's machine
    else:
        try:
            settings = Settings()
        except Exception as exc:
            return fail(f"configuration error: {exc}")
    if settings is not None and getattr(args, "database", False):
        try:
            check_ready(settings, f"run `vhouse {'--demo ' if args.on_demo else ''}migrate`")
        except DatabaseNotReady as exc:
            return fail(f"{exc}{_demo_hint(settings, args, argv)}")
    try:
        code: int = args.func(settings, args)
    except (SQLAlchemyError, OSError) as exc:
        # The database went away or refused after the check: one line, not a traceback.
        if settings is None or (isinstance(exc, OSError) and not is_outage(exc)):
            raise
        where = printable_url(settings.database_url)
        return fail(f"the database at {where} failed: {reason(exc)}")
    return code


def _demo_hint(settings: Settings, args: argparse.Namespace, argv: list[str] | None) -> str:
    """A newcomer who ran ``vhouse demo`` here and then a bare command is told how to reach
    the demo's database."""
    if args.on_demo or settings.database_url != DEFAULT_SQLITE_URL or not DEMO_DB.exists():
        return ""
    command = shlex.join(sys.argv[1:] if argv is None else argv)
    return f"; the demo of this directory is in {DEMO_DB}: `vhouse --demo {command}`"


if __name__ == "__main__":
    raise SystemExit(main())

"""``vhouse``: serve, demo, migrate, staff, keys, transcripts, client."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging.config
import secrets
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.config import Settings
from app.db import make_engine, make_sessionmaker, transaction
from app.keys import files as keys_files
from app.kit.errors import NotFound
from app.logging_config import logging_config
from app.security import passwords, totp
from app.staff import repository as staff_repo
from app.staff import service as staff_service

DEMO_DIR = Path("var")
DEMO_DB = DEMO_DIR / "demo.sqlite3"
DEMO_CREDENTIALS = DEMO_DIR / "demo-credentials.json"
DEMO_SERVICE_KEY = DEMO_DIR / "service-key.pem"
DEMO_PERIOD_KEY = DEMO_DIR / "demo-period.key"


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _fail(text: str) -> int:
    sys.stderr.write(f"vhouse: {text}\n")
    return 2


def _migrate(settings: Settings) -> None:
    from app import migrate

    migrate.upgrade(settings.database_url)


# ---------------------------------------------------------------------- staff


async def _add_staff(settings: Settings, args: argparse.Namespace, password: str) -> dict[str, str]:
    engine = make_engine(settings)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            created = await staff_service.add_staff(
                session,
                username=args.username,
                alias=args.alias,
                password=password,
                role=args.role,
                languages=args.languages.split(","),
                skills=args.skills.split(","),
                capacity=args.capacity,
                organisation=args.organisation,
                now=time.time(),
            )
    finally:
        await engine.dispose()
    return {
        "staff_id": created.staff_id,
        "totp_secret": created.totp_secret,
        "provisioning_uri": created.provisioning_uri,
    }


def cmd_staff_add(settings: Settings, args: argparse.Namespace) -> int:
    password = args.password_stdin and sys.stdin.readline().rstrip("\n")
    if not password:
        password = getpass.getpass("Password (12+ characters): ")
    try:
        created = asyncio.run(_add_staff(settings, args, password))
    except (ValueError, passwords.WeakPassword) as exc:
        return _fail(str(exc))
    except Exception as exc:
        return _fail(getattr(exc, "message", type(exc).__name__))
    _out(f"created {args.role} {args.username!r} (alias {args.alias!r})")
    _out(f"TOTP secret: {created['totp_secret']}")
    _out(f"TOTP provisioning URI: {created['provisioning_uri']}")
    return 0


async def _list_staff(settings: Settings) -> list[dict[str, Any]]:
    engine = make_engine(settings)
    try:
        async with make_sessionmaker(engine)() as session:
            rows = await staff_repo.all_staff(session)
    finally:
        await engine.dispose()
    return [
        {
            "username": s.username,
            "alias": s.alias,
            "role": s.role,
            "languages": s.languages,
            "skills": s.skills,
            "capacity": s.capacity,
            "organisation": s.organisation,
            "disabled": s.disabled,
            "on_duty": s.on_duty,
        }
        for s in rows
    ]


def cmd_staff_list(settings: Settings, _args: argparse.Namespace) -> int:
    for row in asyncio.run(_list_staff(settings)):
        _out(json.dumps(row))
    return 0


async def _disable_staff(settings: Settings, username: str) -> list[str]:
    engine = make_engine(settings)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            return await staff_service.disable_staff(session, username, time.time())
    finally:
        await engine.dispose()


def cmd_staff_disable(settings: Settings, args: argparse.Namespace) -> int:
    try:
        requeued = asyncio.run(_disable_staff(settings, args.username))
    except NotFound as exc:
        return _fail(exc.message)
    _out(f"disabled {args.username}: sessions ended, devices revoked, off duty")
    if requeued:
        _out(f"{len(requeued)} open chat(s) go back to the queue (the running service tells them)")
    return 0


# ---------------------------------------------------------------------- serve and demo


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    _migrate(settings)
    _out("database is at the latest migration")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from app.server import MetricsBindError, serve

    if args.migrate:
        _migrate(settings)
    try:
        serve(settings, host=args.host, port=args.port)
    except MetricsBindError as exc:
        return _fail(str(exc))
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
    exists = any(s["username"] == "demo" for s in asyncio.run(_list_staff(settings)))
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
        role="counsellor",
        languages="sv,en,ar",
        skills="youth,professional",
        capacity=2,
        organisation="municipality",
    )
    created = asyncio.run(_add_staff(settings, args, password))
    saved = {"username": "demo", "password": password, "totp_secret": created["totp_secret"]}
    DEMO_CREDENTIALS.write_text(json.dumps(saved), "utf-8")
    DEMO_CREDENTIALS.chmod(0o600)
    return saved


def cmd_demo(_settings: Settings, args: argparse.Namespace) -> int:
    from app.server import serve

    settings = demo_settings(args.port)
    DEMO_DIR.mkdir(exist_ok=True)
    _migrate(settings)
    service_key = keys_files.ensure_service_key(DEMO_SERVICE_KEY)
    creds = _ensure_demo_counsellor(settings)
    creds = asyncio.run(_ensure_demo_period(settings, service_key, creds))
    _out("Virtual House demo (SQLite, in-process broker). Not for real conversations.")
    _out(f"  youth chat:    http://127.0.0.1:{args.port}/chat")
    _out(f"  staff console: http://127.0.0.1:{args.port}/staff")
    _out(f"  username:      {creds['username']}")
    _out(f"  password:      {creds['password']}")
    _out(f"  TOTP secret:   {creds['totp_secret']}  (add it to an authenticator app)")
    _out(f"  current code:  {totp.current_code(creds['totp_secret'], time.time())}")
    _out("  a fresh code without an app: vhouse demo-code")
    if "period_passphrase" in creds:
        _out(f"  period key:    {DEMO_PERIOD_KEY}, passphrase {creds['period_passphrase']}")
        _out(f"  read a chat:   vhouse transcripts export --period-key {DEMO_PERIOD_KEY} ...")
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
    DEMO_CREDENTIALS.write_text(json.dumps(saved), "utf-8")
    DEMO_CREDENTIALS.chmod(0o600)
    return saved


def cmd_demo_code(_settings: Settings, _args: argparse.Namespace) -> int:
    """Demo only: the demo counsellor's current TOTP code, read from the demo's own file."""
    if not DEMO_CREDENTIALS.exists():
        return _fail("no demo here: run 'vhouse demo' in this directory first")
    creds = json.loads(DEMO_CREDENTIALS.read_text("utf-8"))
    _out(totp.current_code(creds["totp_secret"], time.time()))
    return 0


# ---------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vhouse", description="Virtual House service")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the service (settings from VH_* variables)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--migrate", action="store_true", help="apply migrations first")
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo", help="SQLite demo with a demo counsellor on 127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.set_defaults(func=cmd_demo, demo=True)

    demo_code = sub.add_parser("demo-code", help="demo only: the demo counsellor's current code")
    demo_code.set_defaults(func=cmd_demo_code, demo=True)

    migrate = sub.add_parser("migrate", help="apply database migrations (alembic upgrade head)")
    migrate.set_defaults(func=cmd_migrate)

    staff = sub.add_parser("staff", help="staff accounts")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)
    add = staff_sub.add_parser("add", help="create a staff account; prints the TOTP secret")
    add.add_argument("username")
    add.add_argument("--alias", required=True, help="the name young people see")
    add.add_argument("--role", choices=staff_service.ROLES, default="counsellor")
    add.add_argument("--languages", default="sv", help="comma-separated, e.g. sv,en,ar")
    add.add_argument("--skills", default="youth", help="comma-separated queue kinds and skills")
    add.add_argument("--capacity", type=int, default=2, help="chats at once")
    add.add_argument(
        "--organisation",
        choices=staff_service.ORGANISATIONS,
        default="municipality",
        help="the counsellor's organisation (a routing attribute)",
    )
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.set_defaults(func=cmd_staff_add)
    lst = staff_sub.add_parser("list", help="list staff accounts")
    lst.set_defaults(func=cmd_staff_list)
    disable = staff_sub.add_parser(
        "disable", help="disable an account now: sessions, devices and duty end"
    )
    disable.add_argument("username")
    disable.set_defaults(func=cmd_staff_disable)

    from app.expiry.cli import add_bucket_parser, add_purge_parser
    from app.keys.cli import add_keys_parser

    add_bucket_parser(add_keys_parser(sub))
    add_purge_parser(sub)

    from app.supervision.cli import add_stats_parser

    add_stats_parser(sub)

    from app.transcripts.cli import add_transcripts_parser

    add_transcripts_parser(sub)

    from app.client.cli import add_client_parser

    add_client_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.config.dictConfig(logging_config())
    settings: Settings | None
    if getattr(args, "demo", False):
        settings = Settings(mode="demo")
    elif getattr(args, "offline", False):
        settings = None  # e.g. make-period-key on a custodian's machine: no VH_* settings read
    else:
        settings = _settings_or_exit()
    code: int = args.func(settings, args)
    return code


def _settings_or_exit() -> Settings:
    try:
        return Settings()
    except Exception as exc:
        sys.stderr.write(f"vhouse: configuration error: {exc}\n")
        raise SystemExit(2) from exc


if __name__ == "__main__":
    raise SystemExit(main())

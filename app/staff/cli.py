"""``vhouse staff``: add, list and disable staff accounts (edit, enable and the credential
resets: ``admin_cli.py``).

``add`` checks the languages and skills against the centre's question set (the languages it
offers, the queues its topics route to, as an admin may have changed them in the database)
and refuses an alias already in use, so that nobody is created whom the queue would never
route a chat to.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import time
from typing import Any

from app.centre import service as centre_service
from app.config import Settings
from app.db import make_engine, make_sessionmaker, snapshot, transaction
from app.kit.cliout import CHECK_FAILED, fail, listing, out
from app.kit.errors import DomainError
from app.security import passwords
from app.security.secret import SecretFileError, load_server_secret
from app.staff import repository as repo
from app.staff import service
from app.staff.admin_cli import add_admin_parsers
from app.staff.device_cli import add_device_parsers
from app.triage.questions import QuestionSet
from app.triage.setup import InvalidSetup

COLUMNS = (
    "username",
    "alias",
    "role",
    "organisation",
    "languages",
    "skills",
    "capacity",
    "on_duty",
    "disabled",
)


def add_staff_parser(sub: Any) -> None:
    staff = sub.add_parser("staff", help="staff accounts")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)
    add = staff_sub.add_parser("add", help="create a staff account; prints the TOTP secret")
    add.add_argument("username")
    add.add_argument("--alias", required=True, help="the name young people see (unique)")
    add.add_argument("--role", choices=service.ROLES, default="counsellor")
    add.add_argument(
        "--languages", default="sv", help="comma-separated, among the centre's (e.g. sv,en,ar)"
    )
    add.add_argument(
        "--skills",
        default="youth",
        help="comma-separated queue kinds (youth, professional) and the centre's skill queues",
    )
    add.add_argument("--capacity", type=int, default=2, help="chats at once")
    add.add_argument(
        "--organisation",
        choices=service.ORGANISATIONS,
        default="municipality",
        help="the counsellor's organisation (a routing attribute)",
    )
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.set_defaults(func=cmd_add, database=True)

    lst = staff_sub.add_parser("list", help="list staff accounts (a table, or --json)")
    lst.add_argument("--json", action="store_true", help="one JSON object a line")
    lst.set_defaults(func=cmd_list, database=True)

    disable = staff_sub.add_parser(
        "disable",
        help="disable an account now: sessions, devices and duty end (exit 1 if it already was)",
    )
    disable.add_argument("username")
    disable.set_defaults(func=cmd_disable, database=True)

    add_admin_parsers(staff_sub)
    add_device_parsers(staff_sub)


# ---------------------------------------------------------------------- add


async def create_account(
    settings: Settings,
    args: argparse.Namespace,
    password: str,
    centre: QuestionSet | None = None,
) -> service.NewStaff:
    """The account of ``args`` (username, alias, role, languages, skills, capacity,
    organisation); with ``centre``, checked against it (``service.add_staff``). Its TOTP
    secret is sealed under the server secret of the settings' key directory: raises
    ``SecretFileError`` or ``ValueError`` (no key directory outside test mode)."""
    server_secret = load_server_secret(settings)
    engine = make_engine(settings)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            return await service.add_staff(
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
                server_secret=server_secret,
                centre=centre,
            )
    finally:
        await engine.dispose()


async def _centre_questions(settings: Settings) -> QuestionSet:
    """The question set in force: the file's, with the topic routing an admin stored (the
    skill queues a counsellor may be given). Raises ``InvalidSetup``."""
    base = centre_service.base_centre(settings)
    engine = make_engine(settings)
    try:
        async with snapshot(make_sessionmaker(engine)) as session:
            return (await centre_service.current(session, base)).setup.questions
    finally:
        await engine.dispose()


def cmd_add(settings: Settings, args: argparse.Namespace) -> int:
    try:
        centre = asyncio.run(_centre_questions(settings))
        # Before the password is asked for: a wrong language should not cost typing it.
        service.check_routing(centre, args.languages.split(","), args.skills.split(","))
    except (InvalidSetup, ValueError) as exc:
        return fail(str(exc))
    password = args.password_stdin and sys.stdin.readline().rstrip("\n")
    if not password:
        password = getpass.getpass("Password (12+ characters): ")
    try:
        created = asyncio.run(create_account(settings, args, password, centre))
    except (ValueError, SecretFileError, passwords.WeakPassword) as exc:
        return fail(str(exc))
    except DomainError as exc:
        return fail(exc.message)
    out(f"created {args.role} {args.username!r} (alias {args.alias!r})")
    out(f"TOTP secret: {created.totp_secret}")
    out(f"TOTP provisioning URI: {created.provisioning_uri}")
    return 0


# ---------------------------------------------------------------------- list


async def list_accounts(settings: Settings) -> list[dict[str, Any]]:
    engine = make_engine(settings)
    try:
        async with make_sessionmaker(engine)() as session:
            rows = await repo.all_staff(session)
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


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    listing(asyncio.run(list_accounts(settings)), COLUMNS, as_json=args.json)
    return 0


# ---------------------------------------------------------------------- disable


async def _disable(settings: Settings, username: str) -> list[str]:
    engine = make_engine(settings)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            return await service.disable_staff(session, username, time.time())
    finally:
        await engine.dispose()


def cmd_disable(settings: Settings, args: argparse.Namespace) -> int:
    try:
        requeued = asyncio.run(_disable(settings, args.username))
    except service.AlreadyDisabled as exc:
        return fail(exc.message, CHECK_FAILED)
    except DomainError as exc:
        return fail(exc.message)
    out(f"disabled {args.username}: sessions ended, devices revoked, off duty")
    if requeued:
        out(f"{len(requeued)} open chat(s) go back to the queue (the running service tells them)")
    return 0

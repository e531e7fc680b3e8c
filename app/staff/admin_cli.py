"""``vhouse staff edit | enable | reset-password | reset-totp``: the admin pages' actions on
the command line, with the same service functions (``admin.py``) and checks (the centre's
languages and skill queues, a free alias, the last admin, the password policy).

The CLI reaches no running server directly: an open console of the account notices a reset
(its session is gone) and an edit (its account changed) within ``QUICK_CHECK_SECONDS`` (2.5 s),
closes or applies it, and the chats of a closed console go back to the queue from there.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db import make_engine, make_sessionmaker, transaction
from app.kit.cliout import CHECK_FAILED, fail, listing, out
from app.kit.errors import DomainError
from app.security import passwords
from app.security.secret import SecretFileError, load_server_secret
from app.staff import admin, rules, service
from app.triage.setup import InvalidSetup, load_setup

T = TypeVar("T")


def add_admin_parsers(staff_sub: Any) -> None:
    edit = staff_sub.add_parser(
        "edit",
        help="change an account's alias, role, organisation, languages, skills or capacity",
    )
    edit.add_argument("username")
    edit.add_argument("--alias", help="the name young people see (unique)")
    edit.add_argument("--role", choices=rules.ROLES)
    edit.add_argument("--organisation", choices=rules.ORGANISATIONS)
    edit.add_argument("--languages", help="comma-separated, among the centre's (e.g. sv,en,ar)")
    edit.add_argument("--skills", help="comma-separated queue kinds and the centre's skill queues")
    edit.add_argument("--capacity", type=int, help="chats at once")
    edit.add_argument("--json", action="store_true", help="one JSON object a line")
    edit.set_defaults(func=cmd_edit, database=True)

    enable = staff_sub.add_parser(
        "enable", help="enable a disabled account (exit 1 if it already was)"
    )
    enable.add_argument("username")
    enable.set_defaults(func=cmd_enable, database=True)

    password = staff_sub.add_parser(
        "reset-password",
        help="set a new password: every session of the account ends, its devices are revoked",
    )
    password.add_argument("username")
    how = password.add_mutually_exclusive_group()
    how.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    how.add_argument("--generate", action="store_true", help="make one and print it once")
    password.set_defaults(func=cmd_reset_password, database=True)

    secret = staff_sub.add_parser(
        "reset-totp",
        help="a new TOTP secret (printed once): every session ends, devices are revoked",
    )
    secret.add_argument("username")
    secret.set_defaults(func=cmd_reset_totp, database=True)


async def in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    engine = make_engine(settings)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            return await work(session)
    finally:
        await engine.dispose()


def _run(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T | int:
    """``work`` in one transaction; a refusal printed as one line (its exit code returned)."""
    try:
        return asyncio.run(in_transaction(settings, work))
    except (admin.AlreadyEnabled, service.AlreadyDisabled) as exc:
        return fail(exc.message, CHECK_FAILED)
    except DomainError as exc:
        return fail(exc.message)
    except ValueError as exc:  # BadRouting, WeakPassword and the other account rules
        return fail(str(exc))


def _split(text: str | None) -> list[str] | None:
    return None if text is None else text.split(",")


def cmd_edit(settings: Settings, args: argparse.Namespace) -> int:
    edit = rules.Edit(
        alias=args.alias,
        role=args.role,
        organisation=args.organisation,
        languages=_split(args.languages),
        skills=_split(args.skills),
        capacity=args.capacity,
    )
    if edit == rules.Edit():
        return fail(
            "nothing to change: give --alias, --role, --organisation, --languages, "
            "--skills or --capacity"
        )
    try:
        centre = load_setup(settings).questions
    except InvalidSetup as exc:
        return fail(str(exc))
    done = _run(
        settings,
        lambda session: admin.edit_staff(
            session, args.username, edit, centre=centre, now=time.time()
        ),
    )
    if isinstance(done, int):
        return done
    if not done.changed:
        return fail(f"{done.username} has these values already; nothing changed", CHECK_FAILED)
    changes = [{"field": k, "before": old, "after": new} for k, (old, new) in done.changed.items()]
    listing(changes, ("field", "before", "after"), as_json=args.json)
    return 0


def cmd_enable(settings: Settings, args: argparse.Namespace) -> int:
    done = _run(settings, lambda s: admin.enable_staff(s, args.username, time.time()))
    if isinstance(done, int):
        return done
    out(f"enabled {args.username.strip().lower()}: it logs in and registers a device anew")
    return 0


def _ended(done: admin.Reset) -> None:
    out(f"{done.username}: every session ended and every device revoked")
    if done.held:
        out(f"{len(done.held)} open chat(s) go back to the queue (the running service tells them)")


def cmd_reset_password(settings: Settings, args: argparse.Namespace) -> int:
    password: str | None = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif not args.generate:
        password = getpass.getpass("New password (12+ characters): ")
    if password is not None:
        try:  # before the database: a weak password costs nothing
            passwords.check_policy(password, username=args.username.strip().lower())
        except passwords.WeakPassword as exc:
            return fail(f"password: {exc}")
    try:  # the running server's, from the key directory: to forget the name's failed logins
        secret: bytes | None = load_server_secret(settings)
    except SecretFileError as exc:
        return fail(str(exc))
    except ValueError:
        secret = None  # no key directory named here: the failures stay for their window
    done = _run(
        settings,
        lambda s: admin.reset_password(s, args.username, password, time.time(), secret=secret),
    )
    if isinstance(done, int):
        return done
    if done.password is not None:
        out(f"new password (shown once): {done.password}")
    if secret is None:
        out("its failed logins were kept (no key directory here: set VH_KEY_DIR to forget them)")
    _ended(done)
    return 0


def cmd_reset_totp(settings: Settings, args: argparse.Namespace) -> int:
    try:  # the running server's: the new TOTP secret is stored sealed under it
        secret = load_server_secret(settings)
    except (SecretFileError, ValueError) as exc:
        return fail(str(exc))
    done = _run(
        settings, lambda s: admin.reset_totp(s, args.username, time.time(), server_secret=secret)
    )
    if isinstance(done, int):
        return done
    out(f"TOTP secret (shown once): {done.totp_secret}")
    out(f"TOTP provisioning URI: {done.provisioning_uri}")
    _ended(done)
    return 0

"""``vhouse staff devices USERNAME``, ``vhouse staff revoke-device USERNAME DEVICE_ID`` and
``vhouse staff enrol USERNAME`` (issue 13 (1)): a lost or stolen device revoked on its own,
audited, a running console using it closing within seconds (``relay/consolewatch.py``); and the
enrolment code a new device needs besides a fresh login (``app.keys.enrolment``), which only
someone holding the server's key directory can make."""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.keys import enrolment
from app.kit.cliout import CHECK_FAILED, fail, listing, out
from app.kit.errors import DomainError
from app.security.secret import SecretFileError, load_server_secret
from app.staff import devicerevoke, service
from app.staff.admin_cli import in_transaction


def add_device_parsers(staff_sub: Any) -> None:
    devices = staff_sub.add_parser("devices", help="an account's certified devices")
    devices.add_argument("username")
    devices.add_argument("--json", action="store_true", help="one JSON object a line")
    devices.set_defaults(func=cmd_devices, database=True)

    revoke = staff_sub.add_parser(
        "revoke-device",
        help="revoke one device (lost or stolen): its console closes, its shift ends",
    )
    revoke.add_argument("username")
    revoke.add_argument("device_id")
    revoke.set_defaults(func=cmd_revoke_device, database=True)

    enrol = staff_sub.add_parser(
        "enrol",
        help="print a single-use code for one new device of an account (asked for by the console)",
    )
    enrol.add_argument("username")
    enrol.set_defaults(func=cmd_enrol, database=True)


def _when(at: float | None) -> str:
    return "" if at is None else datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")


def cmd_devices(settings: Settings, args: argparse.Namespace) -> int:
    try:
        rows = asyncio.run(
            in_transaction(settings, lambda s: devicerevoke.devices_of(s, args.username))
        )
    except DomainError as exc:
        return fail(exc.message)
    if args.json:
        listing([r.as_dict() for r in rows], (), as_json=True)
        return 0
    shown = [
        {
            "device": r.device_id,
            "registered": _when(r.created_at),
            "valid until": _when(r.not_after),
            "revoked": _when(r.revoked_at),
            "duty device": "yes" if r.on_duty_with_it else "",
        }
        for r in rows
    ]
    listing(shown, ("device", "registered", "valid until", "revoked", "duty device"), as_json=False)
    return 0


def cmd_revoke_device(settings: Settings, args: argparse.Namespace) -> int:
    try:
        held = asyncio.run(
            in_transaction(
                settings,
                lambda s: devicerevoke.revoke_device(s, args.username, args.device_id, time.time()),
            )
        )
    except devicerevoke.AlreadyRevoked as exc:
        return fail(exc.message, CHECK_FAILED)
    except DomainError as exc:
        return fail(exc.message)
    out(f"revoked device {args.device_id} of {args.username.strip().lower()}")
    if held:
        out(f"{len(held)} open chat(s) go back to the queue (the running service tells them)")
    return 0


async def issue_code(
    session: AsyncSession,
    username: str,
    settings: Settings,
    server_secret: bytes,
    now: float,
    *,
    actor: str | None = None,
) -> enrolment.Issued:
    """A new enrolment code of the (enabled) account ``username``, made by ``actor`` (a staff
    id; None: the operator's command); ``NotFound`` otherwise."""
    staff = await service.account(session, username)
    if staff.disabled:
        raise service.AlreadyDisabled(f"{staff.username} is disabled: enable the account first")
    return await enrolment.issue(
        session,
        server_secret=server_secret,
        staff_id=staff.id,
        now=now,
        lifetime=settings.device_enrol_seconds,
        actor=actor,
    )


def cmd_enrol(settings: Settings, args: argparse.Namespace) -> int:
    try:  # the running server's: the code is kept as a digest keyed with it
        secret = load_server_secret(settings)
    except (SecretFileError, ValueError) as exc:
        return fail(str(exc))
    try:
        issued = asyncio.run(
            in_transaction(
                settings, lambda s: issue_code(s, args.username, settings, secret, time.time())
            )
        )
    except DomainError as exc:
        return fail(exc.message)
    out(f"enrolment code (one new device, shown once): {issued.code}")
    out(f"valid until {_when(issued.expires_at)}; an earlier code of this account works no more")
    return 0

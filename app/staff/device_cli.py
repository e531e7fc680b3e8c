"""``vhouse staff devices USERNAME`` and ``vhouse staff revoke-device USERNAME DEVICE_ID``
(issue 13 (1)): a lost or stolen device revoked on its own, audited; a running console using it
closes within seconds (``relay/consolewatch.py``)."""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from app.config import Settings
from app.kit.cliout import CHECK_FAILED, fail, listing, out
from app.kit.errors import DomainError
from app.staff import devicerevoke
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

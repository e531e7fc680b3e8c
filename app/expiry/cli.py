"""``vhouse purge`` (the server's purge, for cron) and ``vhouse keys buckets`` (the bucket keys
on disk, and any week still needed whose key is missing)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from app.chat.sealing import Sealer, sealer_from
from app.config import Settings
from app.db import is_outage, make_engine, make_sessionmaker
from app.expiry import repository as repo
from app.expiry.purge import Purge, PurgeReport
from app.keys.files import KeyFileError
from app.kit.cliout import fail, listing, out
from app.triage.setup import load_setup


def add_purge_parser(sub: Any) -> None:
    purge = sub.add_parser(
        "purge",
        help="delete expired conversations and destroy bucket keys whose week is over "
        "(the server does this by itself; for cron)",
    )
    purge.add_argument("--json", action="store_true", help="one JSON object instead of lines")
    purge.set_defaults(func=cmd_purge, database=True)


def add_bucket_parser(keys_sub: Any) -> None:
    buckets = keys_sub.add_parser(
        "buckets",
        help="the expiry bucket keys: on disk, when each goes, and any still needed but "
        "missing (exit 1)",
    )
    buckets.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    buckets.set_defaults(func=cmd_buckets, database=True)


async def _purge(settings: Settings, sealer: Sealer) -> PurgeReport:
    engine = make_engine(settings)
    try:
        timezone = load_setup(settings).schedule.timezone
        purge = Purge(make_sessionmaker(engine), engine, sealer, timezone=timezone)
        return await purge.run(time.time())
    finally:
        await engine.dispose()


def _sealer(settings: Settings) -> Sealer:
    if settings.bucket_key_dir() is None:
        raise ValueError("VH_KEY_DIR (or VH_SERVICE_KEY_FILE) must name the key directory")
    return sealer_from(settings)


def cmd_purge(settings: Settings, args: argparse.Namespace) -> int:
    try:
        report = asyncio.run(_purge(settings, _sealer(settings)))
    except (ValueError, KeyFileError) as exc:
        return fail(str(exc))
    except (SQLAlchemyError, OSError) as exc:
        reason = "the database is unavailable" if is_outage(exc) else type(exc).__name__
        return fail(f"purge failed: {reason}")
    if args.json:
        out(json.dumps(report.as_dict()))
        return 0
    out(f"tickets counted into the statistics: {report.counted}")
    out(f"conversations given their expiry:   {report.settled}")
    out(f"conversations deleted:              {report.deleted_conversations}")
    out(f"tickets deleted:                    {report.deleted_tickets}")
    out(f"conversations moved to a bucket:    {report.moved}")
    out(f"bucket keys destroyed:              {', '.join(report.destroyed_buckets) or 'none'}")
    if report.checkpoint is not None:
        busy = " (busy: run again)" if report.checkpoint[0] else ""
        out(f"SQLite WAL checkpointed and truncated{busy}")
    return 0


async def _in_use(settings: Settings) -> dict[str, int]:
    engine = make_engine(settings)
    try:
        async with make_sessionmaker(engine)() as session:
            return await repo.buckets_in_use(session)
    finally:
        await engine.dispose()


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def cmd_buckets(settings: Settings, args: argparse.Namespace) -> int:
    try:
        sealer = _sealer(settings)
        in_use = asyncio.run(_in_use(settings))
    except (ValueError, KeyFileError) as exc:
        return fail(str(exc))
    except (SQLAlchemyError, OSError) as exc:
        reason = "the database is unavailable" if is_outage(exc) else type(exc).__name__
        return fail(f"cannot read the database: {reason}")
    on_disk = set(sealer.keys.weeks())
    rows = []
    for week in sorted(on_disk | set(in_use)):
        rows.append(
            {
                "week": week,
                "key": "present" if week in on_disk else "MISSING",
                "conversations": in_use.get(week, 0),
                "destroyed_after": _day(sealer.policy.destroy_after(week)),
            }
        )
    missing = [r for r in rows if r["key"] == "MISSING"]
    if not args.json:
        out(f"key directory: {sealer.keys.directory}")
    listing(rows, ("week", "key", "conversations", "destroyed_after"), as_json=args.json)
    for row in missing:
        sys.stderr.write(
            f"vhouse: the bucket key of {row['week']} is missing: its {row['conversations']} "
            "conversation(s) can no longer be read by anyone (was the key directory lost, or "
            "restored from an older copy?)\n"
        )
    return 1 if missing else 0

"""``vhouse stats export`` / ``tags`` / ``feedback``: the anonymous aggregates, with small cells
suppressed (stats.py)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from app.config import Settings
from app.db import make_engine, make_sessionmaker, transaction
from app.kit.cliargs import iso_day
from app.kit.cliout import fail
from app.supervision import exports, rollup
from app.triage.setup import InvalidSetup, load_setup


def add_stats_parser(sub: Any) -> None:
    parser = sub.add_parser("stats", help="anonymous queue statistics")
    stats_sub = parser.add_subparsers(dest="stats_command", required=True)
    export = stats_sub.add_parser(
        "export",
        help="counts per day, queue, topic and language (cells under 5 suppressed: empty/null)",
    )
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--from", dest="first", type=iso_day, help="first local day, YYYY-MM-DD")
    export.add_argument("--to", dest="last", type=iso_day, help="last local day, YYYY-MM-DD")
    export.set_defaults(func=cmd_export, database=True)
    tags = stats_sub.add_parser(
        "tags",
        help="close categories per day, queue, dimension (topic, outcome, referral) and value "
        "(cells under 5 suppressed: empty/null)",
    )
    tags.add_argument("--format", choices=("csv", "json"), default="csv")
    tags.add_argument("--from", dest="first", type=iso_day, help="first local day, YYYY-MM-DD")
    tags.add_argument("--to", dest="last", type=iso_day, help="last local day, YYYY-MM-DD")
    tags.set_defaults(func=cmd_tags, database=True)
    answers = stats_sub.add_parser(
        "feedback",
        help='after-chat feedback ("Did this chat help you?") per day, queue kind and answer '
        "(cells under 5 suppressed: empty/null)",
    )
    answers.add_argument("--format", choices=("csv", "json"), default="csv")
    answers.add_argument("--from", dest="first", type=iso_day, help="first local day, YYYY-MM-DD")
    answers.add_argument("--to", dest="last", type=iso_day, help="last local day, YYYY-MM-DD")
    answers.set_defaults(func=cmd_feedback, database=True)


async def _export(settings: Settings, args: argparse.Namespace) -> list[dict[str, Any]]:
    timezone = load_setup(settings).schedule.timezone
    engine = make_engine(settings)
    try:
        sessionmaker = make_sessionmaker(engine)
        async with transaction(sessionmaker) as session:
            while await rollup.roll_up(session, now=time.time(), timezone=timezone):
                pass
        async with sessionmaker() as session:
            return await exports.queue_rows(session, first=args.first, last=args.last)
    finally:
        await engine.dispose()


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    """Take in the finished tickets, then print the suppressed export to stdout."""
    if args.first is not None and args.last is not None and args.first > args.last:
        return fail(f"--from {args.first} is after --to {args.last}: nothing could match")
    try:
        rows = asyncio.run(_export(settings, args))
    except InvalidSetup as exc:
        return fail(str(exc))
    _write(rows, args.format, exports.COLUMNS)
    return 0


def _write(rows: list[dict[str, Any]], form: str, columns: tuple[str, ...]) -> None:
    """Rows to stdout as JSON, or as CSV with a suppressed (None) count left empty."""
    if form == "json":
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
        return
    sys.stdout.write(exports.to_csv(rows, columns))


async def _tags(settings: Settings, args: argparse.Namespace) -> list[dict[str, Any]]:
    engine = make_engine(settings)
    try:
        async with make_sessionmaker(engine)() as session:
            return await exports.tag_rows(session, first=args.first, last=args.last)
    finally:
        await engine.dispose()


def cmd_tags(settings: Settings, args: argparse.Namespace) -> int:
    """Print the close categories' suppressed counts to stdout."""
    if args.first is not None and args.last is not None and args.first > args.last:
        return fail(f"--from {args.first} is after --to {args.last}: nothing could match")
    _write(asyncio.run(_tags(settings, args)), args.format, exports.TAG_COLUMNS)
    return 0


async def _feedback(settings: Settings, args: argparse.Namespace) -> list[dict[str, Any]]:
    engine = make_engine(settings)
    try:
        async with make_sessionmaker(engine)() as session:
            return await exports.feedback_rows(session, first=args.first, last=args.last)
    finally:
        await engine.dispose()


def cmd_feedback(settings: Settings, args: argparse.Namespace) -> int:
    """Print the after-chat feedback's suppressed counts to stdout."""
    if args.first is not None and args.last is not None and args.first > args.last:
        return fail(f"--from {args.first} is after --to {args.last}: nothing could match")
    _write(asyncio.run(_feedback(settings, args)), args.format, exports.FEEDBACK_COLUMNS)
    return 0

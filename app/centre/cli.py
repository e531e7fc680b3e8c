"""``vhouse settings``: the centre's stored settings from the command line, with the files as
the import/export format (the same service code as the admin page and its API).

- ``show`` lists each document with where it comes from (a table, or ``--json``);
- ``export NAME [FILE]`` writes the document in force in its file's shape (``hours``: the
  opening-hours file; ``alerts``: ``{"max_wait_seconds", "max_queue", "urgent_grace_seconds"}``;
  ``routing``: the triage question set file with each topic's skill as in force), to stdout
  without FILE;
- ``import NAME FILE`` stores such a file (``routing`` takes a question set file, or the API's
  ``{"topics": …}``), audited; a running service has it within a sweep (about 5 s);
- ``reset NAME`` returns to the file or setting (exit 1 when nothing was stored).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.centre import engine, service
from app.config import Settings
from app.db import make_engine, make_sessionmaker, snapshot, transaction
from app.kit.cliout import CHECK_FAILED, fail, listing, out
from app.kit.errors import DomainError
from app.triage import questions
from app.triage.setup import InvalidSetup

COLUMNS = ("name", "source", "version", "updated_at", "updated_by", "summary")


def add_settings_parser(sub: Any) -> None:
    settings = sub.add_parser("settings", help="the centre's hours, alert thresholds, routing")
    settings_sub = settings.add_subparsers(dest="settings_command", required=True)
    show = settings_sub.add_parser("show", help="each settings document and where it comes from")
    show.add_argument("--json", action="store_true", help="one JSON object a line")
    show.set_defaults(func=cmd_show, database=True)
    export = settings_sub.add_parser("export", help="write a document in force in its file form")
    export.add_argument("name", choices=engine.NAMES)
    export.add_argument("file", nargs="?", type=Path, help="default: standard output")
    export.set_defaults(func=cmd_export, database=True)
    load = settings_sub.add_parser("import", help="store a file as the document in force")
    load.add_argument("name", choices=engine.NAMES)
    load.add_argument("file", type=Path)
    load.set_defaults(func=cmd_import, database=True)
    reset = settings_sub.add_parser("reset", help="return a document to its file or setting")
    reset.add_argument("name", choices=engine.NAMES)
    reset.set_defaults(func=cmd_reset, database=True)


async def _views(settings: Settings, base: engine.Centre) -> list[dict[str, Any]]:
    db = make_engine(settings)
    try:
        async with snapshot(make_sessionmaker(db)) as session:
            return await service.views(session, base, settings)
    finally:
        await db.dispose()


def summary(name: str, document: dict[str, Any]) -> str:
    """One line for people: what the document says, in short."""
    if name == "hours":
        days = sum(1 for v in document["weekly"].values() if v)
        return (
            f"{document['timezone']}, open {days} day(s) a week, "
            f"{len(document['exceptions'])} exception(s), {len(document['helplines'])} helpline(s)"
        )
    if name == "alerts":
        return (
            f"wait {document['max_wait_seconds'] / 60:g} min, queue {document['max_queue']}, "
            f"urgent {document['urgent_grace_seconds']:g} s"
        )
    routes = [f"{t}->{s}" for t, s in document["topics"].items() if s]
    return ", ".join(routes) or "every topic to the general queue"


def _base(settings: Settings) -> engine.Centre:
    try:
        return service.base_centre(settings)
    except InvalidSetup as exc:
        raise SystemExit(fail(str(exc))) from None


def cmd_show(settings: Settings, args: argparse.Namespace) -> int:
    found = asyncio.run(_views(settings, _base(settings)))
    if args.json:
        listing(found, COLUMNS, as_json=True)
        return 0
    rows = [
        {
            **v,
            "updated_at": None
            if v["updated_at"] is None
            else datetime.fromtimestamp(v["updated_at"], UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "summary": summary(v["name"], v["document"]),
        }
        for v in found
    ]
    listing(rows, COLUMNS, as_json=False)
    return 0


def _question_file(settings: Settings, routes: dict[str, str | None]) -> dict[str, Any]:
    """The question set file's JSON with each topic option's skill as ``routes`` say."""
    source = settings.triage_questions_file or questions.DEFAULT_FILE
    raw: dict[str, Any] = json.loads(source.read_text("utf-8"))
    for question in raw["questions"]:
        if question.get("id") == "topic":
            for option in question["options"]:
                option.pop("skill", None)
                if routes.get(option["id"]):
                    option["skill"] = routes[option["id"]]
    return raw


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    view = next(v for v in asyncio.run(_views(settings, _base(settings))) if v["name"] == args.name)
    document = view["document"]
    if args.name == "routing":
        document = _question_file(settings, document["topics"])
    text = json.dumps(document, ensure_ascii=False, indent=1) + "\n"
    if args.file is None:
        out(text.rstrip("\n"))
    else:
        args.file.write_text(text, "utf-8")
        out(f"wrote {args.name} ({view['source']}, version {view['version']}) to {args.file}")
    return 0


def _routing_of(raw: object) -> object:
    """A question set file's topic routing as a routing document (anything else as it is)."""
    if not isinstance(raw, dict) or "questions" not in raw:
        return raw
    try:
        found = questions.parse_question_set(raw)
    except questions.InvalidQuestionSet as exc:
        raise service.InvalidSettings(f"routing: not a question set file: {exc}") from None
    topic = found.get("topic")
    return {"topics": {} if topic is None else {o.id: o.skill for o in topic.options}}


async def _store(settings: Settings, name: str, document: object) -> int:
    base = service.base_centre(settings)
    db = make_engine(settings)
    try:
        async with transaction(make_sessionmaker(db)) as session:
            return await service.store(
                session, name, document, base=base, staff_id=None, now=time.time()
            )
    finally:
        await db.dispose()


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    _base(settings)
    try:
        raw = json.loads(args.file.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        return fail(f"{args.file}: not a readable JSON file ({exc})")
    try:
        document = _routing_of(raw) if args.name == "routing" else raw
        version = asyncio.run(_store(settings, args.name, document))
    except DomainError as exc:
        return fail(f"{args.file}: {exc.message}")
    out(f"stored {args.name} version {version} from {args.file}; in force within seconds")
    return 0


async def _reset(settings: Settings, name: str) -> int | None:
    db = make_engine(settings)
    try:
        async with transaction(make_sessionmaker(db)) as session:
            return await service.reset(session, name, staff_id=None, now=time.time())
    finally:
        await db.dispose()


def cmd_reset(settings: Settings, args: argparse.Namespace) -> int:
    version = asyncio.run(_reset(settings, args.name))
    if version is None:
        return fail(f"nothing stored for {args.name}: it comes from its file already", CHECK_FAILED)
    out(f"{args.name} returned to its file or setting (version {version})")
    return 0

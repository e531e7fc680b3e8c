"""``vhouse canned``: list, add, edit, remove, import and export canned replies.

The same rules and audit as the admin page (``service``), with no staff account behind the
change (the audit's ``staff_id`` is empty). Import and export speak the JSON file of
``engine.export_file``; an import adds new titles and replaces the bodies of known ones.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.canned import engine, service
from app.canned.engine import Draft
from app.config import Settings
from app.db import make_engine, make_sessionmaker, transaction
from app.kit.cliout import fail, listing, out
from app.kit.errors import DomainError
from app.triage.setup import InvalidSetup, load_setup

T = TypeVar("T")

COLUMNS = ("id", "language", "title", "body", "updated_by")
#: How much of a body the table shows (``--json`` has all of it).
PREVIEW = 48


def add_canned_parser(sub: Any) -> None:
    parser = sub.add_parser("canned", help="canned replies for the counsellors' composer")
    canned = parser.add_subparsers(dest="canned_command", required=True)

    lst = canned.add_parser("list", help="list replies (a table, or --json)")
    lst.add_argument("--language", help="only this language")
    lst.add_argument("--json", action="store_true", help="one JSON object a line, whole bodies")
    lst.set_defaults(func=cmd_list, database=True)

    add = canned.add_parser("add", help="add a reply")
    add.add_argument("--language", required=True, help="one of the centre's languages")
    add.add_argument("--title", required=True, help="the shortcut typed after / (1-40 chars)")
    _body_arguments(add, required=True)
    add.set_defaults(func=cmd_add, database=True)

    edit = canned.add_parser("edit", help="change a reply's language, title or body")
    edit.add_argument("id", type=int)
    edit.add_argument("--language")
    edit.add_argument("--title")
    _body_arguments(edit, required=False)
    edit.set_defaults(func=cmd_edit, database=True)

    remove = canned.add_parser("remove", help="delete a reply")
    remove.add_argument("id", type=int)
    remove.set_defaults(func=cmd_remove, database=True)

    imp = canned.add_parser(
        "import", help='add or update replies from a JSON file ({"replies": [...]}, - for stdin)'
    )
    imp.add_argument("file")
    imp.set_defaults(func=cmd_import, database=True)

    exp = canned.add_parser("export", help="every reply as a JSON file on stdout (for import)")
    exp.set_defaults(func=cmd_export, database=True)


def _body_arguments(parser: argparse.ArgumentParser, *, required: bool) -> None:
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--body", help="the text (up to 2000 characters)")
    group.add_argument("--body-file", type=Path, help="read the text from a file (- for stdin)")


def _read(path: str | Path) -> str:
    if str(path) == "-":
        return sys.stdin.read()
    return Path(path).read_text("utf-8")


def _body(args: argparse.Namespace) -> str | None:
    if args.body_file is not None:
        return _read(args.body_file)
    body: str | None = args.body
    return body


def _run(settings: Settings, work: Callable[[AsyncSession, tuple[str, ...]], Awaitable[T]]) -> T:
    """``work(session, offered_languages)`` in one transaction on the configured database."""
    languages = load_setup(settings).questions.offered_languages()

    async def run() -> T:
        db = make_engine(settings)
        try:
            async with transaction(make_sessionmaker(db)) as session:
                return await work(session, languages)
        finally:
            await db.dispose()

    return asyncio.run(run())


def _refusing(command: Callable[[Settings, argparse.Namespace], int]) -> Any:
    """``command`` answering a refused change, a bad file or setup with one ``vhouse:`` line."""

    def run(settings: Settings, args: argparse.Namespace) -> int:
        try:
            return command(settings, args)
        except DomainError as exc:
            return fail(exc.message)
        except (InvalidSetup, engine.BadReply) as exc:
            return fail(str(exc))
        except OSError as exc:
            return fail(f"cannot read {exc.filename or 'the file'}: {exc.strerror or exc}")
        except ValueError as exc:  # json.JSONDecodeError, undecodable bytes
            return fail(f"not a JSON file of canned replies: {exc}")

    return run


def _row(reply: dict[str, Any], *, whole: bool) -> dict[str, Any]:
    body = reply["body"]
    if not whole:
        line = " ".join(body.split())
        body = line if len(line) <= PREVIEW else line[: PREVIEW - 1] + "…"
    return {**reply, "body": body}


@_refusing
def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    language = args.language

    async def work(session: AsyncSession, languages: tuple[str, ...]) -> list[dict[str, Any]]:
        if language is not None and language not in languages:
            raise engine.BadReply(
                "language", f"not offered here; use one of {', '.join(languages)}"
            )
        return await service.listed(session, language)

    rows = [_row(r, whole=args.json) for r in _run(settings, work)]
    listing(rows, COLUMNS, as_json=args.json)
    return 0


@_refusing
def cmd_add(settings: Settings, args: argparse.Namespace) -> int:
    draft = Draft(args.language, args.title, _body(args) or "")

    async def work(session: AsyncSession, languages: tuple[str, ...]) -> dict[str, Any]:
        reply = await service.create(session, draft, languages, by=None, now=time.time())
        return service.as_dict(reply)

    made = _run(settings, work)
    out(f"added reply {made['id']} ({made['language']}, {made['title']!r})")
    return 0


@_refusing
def cmd_edit(settings: Settings, args: argparse.Namespace) -> int:
    body = _body(args)

    async def work(session: AsyncSession, languages: tuple[str, ...]) -> dict[str, Any]:
        current = next((r for r in await service.listed(session) if r["id"] == args.id), None)
        if current is None:
            raise engine.BadReply("id", f"no canned reply {args.id}")
        draft = Draft(
            args.language or current["language"],
            current["title"] if args.title is None else args.title,
            current["body"] if body is None else body,
        )
        reply = await service.update(session, args.id, draft, languages, by=None, now=time.time())
        return service.as_dict(reply)

    changed = _run(settings, work)
    out(f"changed reply {changed['id']} ({changed['language']}, {changed['title']!r})")
    return 0


@_refusing
def cmd_remove(settings: Settings, args: argparse.Namespace) -> int:
    async def work(session: AsyncSession, _languages: tuple[str, ...]) -> dict[str, Any]:
        return service.as_dict(await service.delete(session, args.id, by=None, now=time.time()))

    gone = _run(settings, work)
    out(f"removed reply {gone['id']} ({gone['language']}, {gone['title']!r})")
    return 0


@_refusing
def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    drafts = engine.parse_file(json.loads(_read(args.file)))

    async def work(session: AsyncSession, languages: tuple[str, ...]) -> service.Imported:
        return await service.import_replies(session, drafts, languages, by=None, now=time.time())

    done = _run(settings, work)
    out(f"imported: {done.created} added, {done.updated} updated, {done.unchanged} unchanged")
    return 0


@_refusing
def cmd_export(settings: Settings, _args: argparse.Namespace) -> int:
    async def work(session: AsyncSession, _languages: tuple[str, ...]) -> dict[str, Any]:
        return await service.exported(session)

    out(json.dumps(_run(settings, work), ensure_ascii=False, indent=2))
    return 0

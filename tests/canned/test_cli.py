"""``vhouse canned`` on a migrated database: the same rules and audit as the API, tables or
``--json``, and import/export as one JSON file."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import Database
from tests.test_cli_operator import refused, vhouse


def _env(database: Database) -> dict[str, str]:
    return {"VH_MODE": "test", "VH_DATABASE_URL": database.url}


def test_canned_commands(database: Database, tmp_path: Path) -> None:
    env = _env(database)

    def run(*args: str, stdin: str = "") -> str:
        result = vhouse("canned", *args, env=env, stdin=stdin)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert run("add", "--language", "sv", "--title", "Hej", "--body", "Hej!\nJag heter Sara.")
    run("add", "--language", "en", "--title", "Plan", "--body-file", "-", stdin="Let us plan.")
    table = run("list").splitlines()
    assert table[0].split() == ["id", "language", "title", "body", "updated_by"]
    assert "Hej! Jag heter Sara." in table[2]  # one line in the table
    listed = [json.loads(line) for line in run("list", "--json", "--language", "sv").splitlines()]
    assert [(r["title"], r["body"]) for r in listed] == [("Hej", "Hej!\nJag heter Sara.")]
    reply_id = str(listed[0]["id"])

    assert "already has" in refused(
        vhouse("canned", "add", "--language", "sv", "--title", "HEJ", "--body", "x", env=env)
    )
    assert "language" in refused(
        vhouse("canned", "add", "--language", "xx", "--title", "a", "--body", "x", env=env)
    )
    run("edit", reply_id, "--body", "Hej igen!")

    exported = json.loads(run("export"))
    assert exported == {
        "replies": [
            {"language": "en", "title": "Plan", "body": "Let us plan."},
            {"language": "sv", "title": "Hej", "body": "Hej igen!"},
        ]
    }
    run("remove", reply_id)
    assert "no such canned reply" in refused(vhouse("canned", "remove", reply_id, env=env))

    exported["replies"][0]["body"] = "A new plan."
    file = tmp_path / "replies.json"
    file.write_text(json.dumps(exported), "utf-8")
    assert "1 added, 1 updated, 0 unchanged" in run("import", str(file))
    assert "0 added, 0 updated, 2 unchanged" in run("import", str(file))
    file.write_text('{"replies": [{"language": "sv", "title": "x", "body": ""}]}', "utf-8")
    assert "reply 1: body" in refused(vhouse("canned", "import", str(file), env=env))
    file.write_text("not json", "utf-8")
    assert "not a JSON file" in refused(vhouse("canned", "import", str(file), env=env))

    actions = [a for (a,) in _actions(database)]
    assert actions.count("canned.created") == 3  # two adds, and one by the import
    assert actions.count("canned.updated") == 2  # the edit, and one by the import
    assert actions.count("canned.deleted") == 1


def _actions(database: Database) -> list[tuple[str]]:
    async def read() -> list[tuple[str]]:
        engine = create_async_engine(database.url)
        try:
            async with engine.connect() as conn:
                query = text("SELECT action FROM audit_log WHERE staff_id IS NULL ORDER BY id")
                return [(str(r[0]),) for r in (await conn.execute(query)).all()]
        finally:
            await engine.dispose()

    return asyncio.run(read())

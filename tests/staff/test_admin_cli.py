"""``vhouse staff edit | enable | reset-password | reset-totp`` (issue 11 §3, CLI parity): the
same checks as the admin pages, one-line refusals, and a reset from the CLI closing a console
that the running server serves within 5 s (its session check notices, SECURITY R-3)."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import STAFF_PASSWORD, Database, Server, StaffAccount, create_staff
from tests.support import Harness, frames_until_closed, new_staff, staff_login
from tests.test_cli_operator import refused, vhouse

NEW_PASSWORD = "another long passphrase 31"


def test_edit_checks_like_the_pages_and_prints_what_changed(database: Database) -> None:
    env = {"VH_DATABASE_URL": database.url}
    create_staff(database, "anna", "Anna")
    create_staff(database, "bo", "Bo")
    klingon = refused(vhouse("staff", "edit", "anna", "--languages", "swedish,klingon", env=env))
    assert "languages: klingon, swedish not offered here; use among sv, en, ar" in klingon
    assert "policee not a queue here" in refused(
        vhouse("staff", "edit", "anna", "--skills", "youth,policee", env=env)
    )
    assert "taken" in refused(vhouse("staff", "edit", "anna", "--alias", "BO", env=env))
    assert "nothing to change" in refused(vhouse("staff", "edit", "anna", env=env))
    assert "no staff member" in refused(
        vhouse("staff", "edit", "nobody", "--capacity", "3", env=env)
    )

    done = vhouse(
        *("staff", "edit", "Anna", "--languages", "sv,ar", "--capacity", "3", "--json"), env=env
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines == [
        {"field": "languages", "before": "en,sv", "after": "ar,sv"},
        {"field": "capacity", "before": 2, "after": 3},
    ]
    table = vhouse("staff", "edit", "anna", "--role", "supervisor", env=env).stdout.splitlines()
    assert table[0].split() == ["field", "before", "after"]
    assert table[1].split() == ["role", "counsellor", "supervisor"]
    same = refused(vhouse("staff", "edit", "anna", "--capacity", "3", env=env), code=1)
    assert "nothing changed" in same
    audited = asyncio.run(_details(database, "staff.edit"))
    assert [d["changed"] for d in audited] == [
        {"languages": ["en,sv", "ar,sv"], "capacity": [2, 3]},
        {"role": ["counsellor", "supervisor"]},
    ]
    assert all(d["target"] == "anna" for d in audited)


def test_enable_and_the_last_admin(database: Database) -> None:
    env = {"VH_DATABASE_URL": database.url}
    create_staff(database, "root", "Root", role="admin")
    assert "already" in refused(vhouse("staff", "enable", "root", env=env), code=1)
    assert "last enabled admin" in refused(vhouse("staff", "disable", "root", env=env))
    demote = vhouse("staff", "edit", "root", "--role", "counsellor", env=env)
    assert "last enabled admin" in refused(demote)
    create_staff(database, "root2", "Root two", role="admin")
    assert vhouse("staff", "disable", "root", env=env).returncode == 0
    assert vhouse("staff", "enable", "root", env=env).returncode == 0
    assert [d["target"] for d in asyncio.run(_details(database, "staff.enable"))] == ["root"]


def test_resets_print_secrets_once_and_never_audit_them(database: Database) -> None:
    env = {"VH_DATABASE_URL": database.url, "VH_KEY_DIR": str(database.keys())}
    create_staff(database, "anna", "Anna")
    weak = vhouse("staff", "reset-password", "anna", "--password-stdin", env=env, stdin="short\n")
    assert "password: use at least 12 characters" in refused(weak)
    done = vhouse(
        "staff", "reset-password", "anna", "--password-stdin", env=env, stdin=NEW_PASSWORD + "\n"
    )
    assert done.returncode == 0, done.stderr
    assert "every session ended and every device revoked" in done.stdout
    assert NEW_PASSWORD not in done.stdout
    made = vhouse("staff", "reset-password", "anna", "--generate", env=env)
    assert "new password (shown once): " in made.stdout
    secret = vhouse("staff", "reset-totp", "anna", env=env)
    assert secret.returncode == 0, secret.stderr
    assert "TOTP provisioning URI: otpauth://totp/" in secret.stdout
    text = json.dumps(asyncio.run(_details(database, "staff.reset_password")))
    assert NEW_PASSWORD not in text
    assert STAFF_PASSWORD not in text
    assert "no staff member" in refused(vhouse("staff", "reset-totp", "nobody", env=env))


async def _details(database: Database, action: str) -> list[dict[str, object]]:
    """The audit details of ``action``, oldest first."""
    engine = create_async_engine(database.url)
    query = text("SELECT detail FROM audit_log WHERE action = :a ORDER BY id")
    try:
        async with engine.connect() as conn:
            found = (await conn.execute(query, {"a": action})).all()
    finally:
        await engine.dispose()
    return [json.loads(d) for (d,) in found]


async def test_a_reset_from_the_cli_closes_a_served_console_within_5_s(server: Server) -> None:
    """R-3: A reset from the cli closes a served console within 5 s."""
    async with Harness(server) as h:
        account: StaffAccount = await new_staff(server, languages=["sv"])
        console, _ = await h.console(account)
        await console.duty(True)
        youth, conv = await h.pair(console, "sv")
        env = {"VH_DATABASE_URL": server.database.url, "VH_KEY_DIR": str(server.database.keys())}
        result = await asyncio.to_thread(vhouse, "staff", "reset-totp", account.username, env=env)
        started = time.monotonic()  # the reset is committed when the command has ended
        assert result.returncode == 0, result.stderr
        assert "1 open chat(s) go back to the queue" in result.stdout
        frames, code = await frames_until_closed(console, timeout=5)
        assert code == 1008
        assert time.monotonic() - started < 5
        assert [f["code"] for f in frames if f["type"] == "error"] == ["logged_out"]
        # The server that noticed sends the chat back to the queue and tells the young person.
        assert (await youth.expect("requeued", timeout=5))["conv"] == conv
        # The old secret logs in no more.
        with pytest.raises(urllib.error.HTTPError, match="401"):
            await staff_login(server, account)

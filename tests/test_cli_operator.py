"""``vhouse`` as an operator meets it on a bad day: one ``vhouse: …`` line and an exit code
instead of a traceback, for refused clients, wrong logins, wrong URLs and databases that are
absent, unreachable or not migrated; listings as a table or ``--json``; the checks of
``staff add``, ``staff disable`` and ``stats export`` (app/kit/cliout.py)."""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import (
    ROOT,
    STAFF_PASSWORD,
    Database,
    Server,
    StaffAccount,
    create_staff,
    database_of,
    free_port,
    start_server,
)
from tests.support import Harness, new_staff, unique_language

VHOUSE = [sys.executable, "-m", "app.cli"]
OPENING_HOURS_CLOSED = {"weekly": {}}


def vhouse(
    *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("VH_")}
    return subprocess.run(  # noqa: S603 - our own CLI
        [*VHOUSE, *args],
        cwd=ROOT,
        env={**base, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def refused(result: subprocess.CompletedProcess[str], code: int = 2) -> str:
    """The one line a refusal prints, after checking its exit code and that it is one line."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("vhouse: ")
    return lines[0]


def add_staff(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return vhouse("staff", "add", *args, "--password-stdin", env=env, stdin=STAFF_PASSWORD + "\n")


# ---------------------------------------------------------------------- staff


def test_staff_add_takes_only_the_centres_languages_skills_and_a_free_alias(
    database: Database,
) -> None:
    env = {"VH_DATABASE_URL": database.url, "VH_KEY_DIR": str(database.keys())}
    klingon = refused(add_staff(env, "bo", "--alias", "Bo", "--languages", "swedish,klingon"))
    assert "klingon, swedish" in klingon
    assert "sv, en, ar" in klingon
    police = refused(add_staff(env, "bo", "--alias", "Bo", "--skills", "youth,policee"))
    assert "policee" in police
    assert "youth, professional" in police
    made = add_staff(env, "bo", "--alias", "Bo", "--languages", "SV,en", "--skills", "youth")
    assert made.returncode == 0, made.stderr
    taken = refused(add_staff(env, "cecilia", "--alias", "bo"))
    assert "alias 'bo' is taken" in taken
    assert "exists" in refused(add_staff(env, "bo", "--alias", "Other"))
    listed = vhouse("staff", "list", "--json", env=env)
    assert [json.loads(line)["username"] for line in listed.stdout.splitlines()] == ["bo"]


def test_staff_list_is_a_table_or_json_lines(database: Database) -> None:
    env = {"VH_DATABASE_URL": database.url}
    create_staff(database, "anna", "Anna", languages=["sv", "ar"], capacity=3)
    create_staff(database, "bo", "Bo", role="supervisor")
    table = vhouse("staff", "list", env=env)
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split() == [
        "username",
        "alias",
        "role",
        "organisation",
        "languages",
        "skills",
        "capacity",
        "on_duty",
        "disabled",
    ]
    assert rows[0].split() == [
        "anna",
        "Anna",
        "counsellor",
        "municipality",
        "ar,sv",
        "professional,youth",
        "3",
        "no",
        "no",
    ]
    assert rows[1].split()[:3] == ["bo", "Bo", "supervisor"]
    # Columns line up: each value starts under its heading.
    assert rows[0].index("Anna") == header.index("alias") == rows[1].index("Bo")
    lines = vhouse("staff", "list", "--json", env=env).stdout.splitlines()
    assert [json.loads(line)["role"] for line in lines] == ["counsellor", "supervisor"]


def test_disabling_a_disabled_account_says_so_and_exits_1(database: Database) -> None:
    env = {"VH_DATABASE_URL": database.url}
    create_staff(database, "anna", "Anna")
    assert vhouse("staff", "disable", "anna", env=env).returncode == 0
    again = refused(vhouse("staff", "disable", "Anna", env=env), code=1)
    assert "anna is already disabled; nothing changed" in again
    assert "no staff member" in refused(vhouse("staff", "disable", "nobody", env=env))


def test_stats_export_refuses_from_after_to(database: Database) -> None:
    env = {"VH_DATABASE_URL": database.url}
    backwards = vhouse("stats", "export", "--from", "2026-05-02", "--to", "2026-05-01", env=env)
    assert "--from 2026-05-02 is after --to 2026-05-01" in refused(backwards)
    same_day = vhouse("stats", "export", "--from", "2026-05-01", "--to", "2026-05-01", env=env)
    assert same_day.returncode == 0, same_day.stderr
    backwards = vhouse("stats", "feedback", "--from", "2026-05-02", "--to", "2026-05-01", env=env)
    assert "--from 2026-05-02 is after --to 2026-05-01" in refused(backwards)
    empty = vhouse("stats", "feedback", env=env)
    assert (empty.returncode, empty.stdout) == (0, "day,kind,answer,count\n"), empty.stderr


# ---------------------------------------------------------------------- databases


def test_a_missing_sqlite_database_is_not_created_by_asking(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "vh.sqlite3"
    env = {"VH_DATABASE_URL": f"sqlite+aiosqlite:///{path}"}
    for command in (("staff", "list"), ("stats", "export"), ("keys", "list")):
        line = refused(vhouse(*command, env=env))
        assert f"there is no database at {path}: run `vhouse migrate`" in line
    assert not path.exists()
    assert not path.parent.exists()


def test_an_empty_database_asks_for_migrate(empty_database: Database, tmp_path: Path) -> None:
    if empty_database.path is not None:
        empty_database.path.touch(mode=0o600)  # exists, but has no tables
    env = {"VH_DATABASE_URL": empty_database.url}
    for command in (("staff", "list"), ("staff", "disable", "anna"), ("purge",)):
        line = refused(vhouse(*command, env={**env, "VH_KEY_DIR": str(tmp_path)}))
        assert "is not migrated: run `vhouse migrate`" in line, command
    line = refused(vhouse("serve", "--port", str(free_port()), env={**env, "VH_MODE": "test"}))
    assert "run `vhouse migrate` (or `vhouse serve --migrate`)" in line


def test_an_unreachable_database_is_said_in_one_line_without_the_password() -> None:
    url = f"postgresql+asyncpg://vh:s3cret-pw@127.0.0.1:{free_port()}/vh"
    for command in (("staff", "list"), ("migrate",)):
        line = refused(vhouse(*command, env={"VH_DATABASE_URL": url}))
        assert "127.0.0.1" in line
        assert "Connection refused" in line
        assert "s3cret-pw" not in line


# ---------------------------------------------------------------------- clients


@pytest.fixture(params=["closed", "no_one_on_duty", "too_many_joins"])
def refusing(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Server]]:
    """A server that turns young people away for the reason of ``param``."""
    env = {
        "closed": {"VH_OPENING_HOURS_FILE": str(tmp_path / "hours.json")},
        "no_one_on_duty": {"VH_REFUSE_WHEN_UNSTAFFED": "true"},
        "too_many_joins": {"VH_YOUTH_JOINS_PER_WINDOW": "1"},
    }[request.param]
    (tmp_path / "hours.json").write_text(json.dumps(OPENING_HOURS_CLOSED))
    with database_of("sqlite", tmp_path) as database:
        srv = start_server(database, tmp_path, **env)
        try:
            yield request.param, srv
        finally:
            srv.stop()


async def test_a_refused_young_person_is_told_the_servers_words(
    refusing: tuple[str, Server],
) -> None:
    reason, server = refusing
    async with Harness(server) as h:
        if reason == "too_many_joins":  # the one join this address may make, taken
            await (await h.youth()).join(language=unique_language())
        result = await asyncio.to_thread(
            vhouse, "client", "--url", server.base_url, "youth", "--language", "sv"
        )
    line = refused(result)
    assert f"join refused, {reason}: " in line
    assert "112" in line  # the server's own message, with the emergency number


async def test_a_wrong_password_or_code_is_one_line(server: Server) -> None:
    account: StaffAccount = await new_staff(server)

    def counsellor(password: str, code: str) -> subprocess.CompletedProcess[str]:
        return vhouse(
            *("client", "--url", server.base_url, "counsellor", account.username),
            *("--totp", code, "--password-stdin", "--seconds", "1"),
            stdin=password + "\n",
        )

    wrong_password = await asyncio.to_thread(counsellor, "not the password at all", account.code())
    assert "login refused: wrong username, password or code" in refused(wrong_password)
    wrong_code = "000000" if account.code() != "000000" else "111111"
    assert "login refused" in refused(
        await asyncio.to_thread(counsellor, account.password, wrong_code)
    )


class _NotOurs(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"<html>hello</html>")

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def other_website() -> Iterator[str]:
    """A plain HTTP server that is not Virtual House (GET answers HTML, POST 501)."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotOurs)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_wrong_or_unreachable_url_is_one_line(other_website: str) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    youth = ("youth", "--language", "sv")
    counsellor = ("counsellor", "anna", "--totp", "123456", "--password-stdin")
    for role in (youth, counsellor):
        line = refused(vhouse("client", "--url", nobody, *role, stdin="x\n"))
        assert f"cannot reach {nobody}: Connection refused" in line
        line = refused(vhouse("client", "--url", other_website, *role, stdin="x\n"))
        assert "Virtual House service" in line
        line = refused(vhouse("client", "--url", "ftp://example.org", *role, stdin="x\n"))
        assert "--url must be the service's base URL" in line
        line = refused(vhouse("client", "--url", "http://127.0.0.1:1/chat", *role, stdin="x\n"))
        assert "--url must be the service's base URL" in line

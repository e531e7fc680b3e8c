"""The after-chat feedback (issue 12 §3) on a real server, SQLite and PostgreSQL: answered once
after a chat with a counsellor, refused otherwise with the API's error shape, stored only as
counts per day, kind and answer, and shown suppressed on the statistics page and in the CSV."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import secrets
import subprocess
import sys
from datetime import date, timedelta

from app.kit import b64
from app.kit.ids import token_digest
from tests.conftest import ROOT, Server
from tests.expiry.world import rows, write
from tests.supervision.test_stats_api import get
from tests.support import Harness, call, new_staff, shared_server, staff_login, unique_language

server = shared_server()
#: A server whose feedback limit is small enough to reach.
limited = shared_server(("sqlite",), VH_YOUTH_FEEDBACK_PER_WINDOW="3")

PATH = "/api/youth/feedback"


async def _ended_chat(h: Harness) -> str:
    """A chat with a counsellor, ended by the young person; the ticket its page holds."""
    chat = await h.chat(envelopes=1)
    await chat.youth.send({"type": "close"})
    await chat.youth.expect("closed")
    assert chat.youth.ticket is not None
    return chat.youth.ticket


def _cli(server: Server, *args: str) -> str:
    """``vhouse stats feedback ARGS`` against the server's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VH_")}
    result = subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "app.cli", "stats", "feedback", *args],
        cwd=ROOT,
        env={**env, "VH_MODE": "test", "VH_DATABASE_URL": server.database.url},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


async def _cells(server: Server) -> dict[tuple[str, str, str], int]:
    found = await rows(server, "SELECT day, kind, answer, count FROM feedback_counts")
    return {(d, k, a): int(n) for d, k, a, n in found}


async def test_an_answer_after_the_chat_is_counted_once(server: Server) -> None:
    async with Harness(server) as h:
        ticket = await _ended_chat(h)
        before = await _cells(server)
        status, body = await call(server, "POST", PATH, {"ticket": ticket, "answer": "partly"})
        assert (status, body) == (204, {})
        after = await _cells(server)
        changed = {k: n - before.get(k, 0) for k, n in after.items() if n != before.get(k, 0)}
        ((day, kind, answer),) = changed
        assert (kind, answer, changed[(day, kind, answer)]) == ("youth", "partly", 1)

        for again in ("partly", "yes"):
            status, body = await call(server, "POST", PATH, {"ticket": ticket, "answer": again})
            assert status == 409, body
            assert body["error"]["code"] == "already_answered"
        assert await _cells(server) == after


async def test_the_answer_is_never_stored_next_to_the_chat(server: Server) -> None:
    async with Harness(server) as h:
        ticket = await _ended_chat(h)
        status, _ = await call(server, "POST", PATH, {"ticket": ticket, "answer": "no"})
        assert status == 204
    if server.database.kind == "sqlite":
        columns = {r[1] for r in await rows(server, "PRAGMA table_info(feedback_counts)")}
    else:
        query = "SELECT column_name FROM information_schema.columns WHERE table_name = :t"
        columns = {r[0] for r in await rows(server, query, t="feedback_counts")}
    assert columns == {"id", "day", "kind", "answer", "count"}
    # The ticket knows only that it answered: a flag, not the answer, not when.
    digest = token_digest(ticket)
    query = "SELECT * FROM tickets WHERE token_digest = :d"
    (row,) = await rows(server, query, d=digest)
    flags = await rows(
        server, "SELECT feedback_given FROM tickets WHERE token_digest = :d", d=digest
    )
    assert flags == [(True,)]  # SQLite's 1 equals True
    assert not {"yes", "partly", "no"} & {v for v in row if isinstance(v, str)}
    if server.database.kind == "postgresql":
        # Every answer rewrites all of its day's cells: the transaction's id (which the flag
        # shares) singles out no answer.
        query = "SELECT day, kind, xmin::text FROM feedback_counts"
        by_day: dict[tuple[str, str], set[str]] = {}
        for day, kind, xmin in await rows(server, query):
            by_day.setdefault((day, kind), set()).add(xmin)
        assert by_day
        assert all(len(xmins) == 1 for xmins in by_day.values()), by_day
    for conversation in await rows(server, "SELECT * FROM conversations"):
        assert not {"yes", "partly", "no"} & {v for v in conversation if isinstance(v, str)}


async def test_no_answer_without_a_chat_with_a_counsellor(server: Server) -> None:
    async with Harness(server) as h:
        youth = await h.youth()
        ticket = await youth.join(language=unique_language())  # nobody speaks it: waiting
        before = await _cells(server)
        status, body = await call(server, "POST", PATH, {"ticket": ticket, "answer": "yes"})
        assert status == 409, body
        assert body["error"]["code"] == "not_paired"
        assert await _cells(server) == before
        # Refused, it can still answer once its chat has happened: nothing was marked.
        flags = await rows(
            server,
            "SELECT count(*) FROM tickets WHERE feedback_given IS NOT NULL AND status = 'waiting'",
        )
        assert flags[0][0] == 0


async def test_an_unknown_ticket_and_bad_bodies_get_our_errors(server: Server) -> None:
    unknown = b64.encode(secrets.token_bytes(16))
    status, body = await call(server, "POST", PATH, {"ticket": unknown, "answer": "yes"})
    assert status == 404, body
    assert body["error"]["code"] == "ticket_unknown"
    password = "hunter2-" + secrets.token_hex(4)  # typed in the wrong place
    for bad in (
        {},
        {"ticket": unknown},
        {"ticket": unknown, "answer": "maybe"},
        {"ticket": unknown, "answer": "YES"},
        {"ticket": "short", "answer": "yes"},
        {"ticket": unknown, "answer": "yes", password: password},
        {"ticket": unknown, "answer": ["yes"]},
    ):
        status, body = await call(server, "POST", PATH, bad)
        assert status == 422, bad
        assert body["error"]["code"] == "invalid_request"
        message = body["error"]["message"]
        assert password not in message
        assert "maybe" not in message
    status, body = await call(
        server,
        "POST",
        PATH,
        {"ticket": unknown, "answer": "yes"},
        headers={"Origin": "https://elsewhere.example"},
    )
    assert status == 403, body
    assert body["error"]["code"] == "forbidden"


async def test_answers_per_address_are_limited(limited: Server) -> None:
    unknown = b64.encode(secrets.token_bytes(16))
    statuses = []
    for _ in range(4):
        status, body = await call(limited, "POST", PATH, {"ticket": unknown, "answer": "yes"})
        statuses.append(status)
    assert statuses == [404, 404, 404, 429]
    assert body["error"]["code"] == "too_many_requests"


async def test_the_statistics_show_the_answers_suppressed(server: Server) -> None:
    async with Harness(server) as h:
        ticket = await _ended_chat(h)
        await write(server, "DELETE FROM feedback_counts")
        status, _ = await call(server, "POST", PATH, {"ticket": ticket, "answer": "yes"})
        assert status == 204
    # One answer writes every answer's cell of its day and kind: its own +1, the others +0.
    found = await rows(server, "SELECT day, kind, answer, count FROM feedback_counts")
    today = found[0][0]
    assert sorted(found) == [
        (today, "youth", "no", 0),
        (today, "youth", "partly", 0),
        (today, "youth", "yes", 1),
    ]
    insert = "INSERT INTO feedback_counts (day, kind, answer, count) VALUES (:d, :k, :a, :n)"
    # Today: 5 yes (4 + the real one), 2 no; 6 "partly" on an earlier day; 9 no long ago.
    await write(server, "UPDATE feedback_counts SET count = 5 WHERE answer = 'yes'")
    await write(server, "UPDATE feedback_counts SET count = 2 WHERE answer = 'no'")
    earlier = (date.fromisoformat(today) - timedelta(days=3)).isoformat()
    old = "2020-01-01"
    await write(server, insert, d=earlier, k="professional", a="partly", n=6)
    await write(server, insert, d=old, k="youth", a="no", n=9)

    supervisor = await staff_login(server, await new_staff(server, role="supervisor"))
    status, _, page = await get(server, "/staff/stats", supervisor)
    assert status == 200
    section = page.split("data-feedback", 1)[1].split("</section>", 1)[0]
    assert "Did this chat help you?" in section
    table = section.split('data-table="feedback"', 1)[1]
    assert '<tr><th scope="row">Yes</th><td>5</td><td>5</td></tr>' in table
    # 2 no today and in the 30 days (the 9 of 2020 are outside): never shown as 2.
    assert '<tr><th scope="row">No</th><td>fewer than 5</td><td>fewer than 5</td></tr>' in table
    assert '<tr><th scope="row">Partly</th><td>fewer than 5</td><td>6</td></tr>' in table
    assert "No: 2" not in page
    assert "<title>Yes: 5</title>" in section  # the chart's bar

    # A queue filter keeps its kind: professional chats only.
    status, _, page = await get(server, "/staff/stats?queue=professional", supervisor)
    table = page.split('data-table="feedback"', 1)[1].split("</table>", 1)[0]
    assert '<tr><th scope="row">Yes</th><td>fewer than 5</td><td>fewer than 5</td></tr>' in table
    assert '<tr><th scope="row">Partly</th><td>fewer than 5</td><td>6</td></tr>' in table

    # The CSV: every cell, under 5 empty; the download is audited.
    status, headers, body = await get(server, "/staff/api/stats/feedback.csv", supervisor)
    assert status == 200
    assert headers["content-disposition"] == 'attachment; filename="vhouse-feedback-all.csv"'
    found = list(csv.DictReader(io.StringIO(body)))
    assert {"day": old, "kind": "youth", "answer": "no", "count": "9"} in found
    assert {"day": today, "kind": "youth", "answer": "yes", "count": "5"} in found
    assert {"day": today, "kind": "youth", "answer": "no", "count": ""} in found
    assert list(found[0]) == ["day", "kind", "answer", "count"]
    assert body == await asyncio.to_thread(_cli, server)  # the same cells as the CLI
    listed = json.loads(await asyncio.to_thread(_cli, server, "--format", "json", "--to", old))
    assert listed == [{"day": old, "kind": "youth", "answer": "no", "count": 9}]
    status, _, body = await get(
        server, f"/staff/api/stats/feedback.csv?from={today}&to={today}", supervisor
    )
    shown = [(r["day"], r["answer"], r["count"]) for r in csv.DictReader(io.StringIO(body))]
    assert shown == [(today, "yes", "5"), (today, "partly", ""), (today, "no", "")]
    audited = await rows(server, "SELECT count(*) FROM audit_log WHERE action = 'stats.exported'")
    assert audited[0][0] >= 2

    counsellor = await staff_login(server, await new_staff(server))
    assert (await get(server, "/staff/api/stats/feedback.csv", counsellor))[0] == 403
    assert (await get(server, "/staff/api/stats/feedback.csv"))[0] == 401

"""``vhouse settings``: show, export, import and reset with the files as the format, audited;
a running server has an imported document within a sweep (another process, one database)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.conftest import Database, Server
from tests.expiry.world import rows
from tests.support import Harness, new_staff
from tests.test_cli_operator import add_staff, refused, vhouse

HOURS = {
    "timezone": "Europe/Stockholm",
    "weekly": {"mon": [["09:00", "17:00"]]},
    "exceptions": {"2026-12-24": []},
    "helplines": [{"name": "BRIS", "phone": "116 111", "hours": "24/7", "url": ""}],
}


def test_export_import_show_and_reset(database: Database, tmp_path: Path) -> None:
    env = {"VH_DATABASE_URL": database.url, "VH_KEY_DIR": str(database.keys())}
    shown = vhouse("settings", "show", env=env)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[0].split() == list(
        ("name", "source", "version", "updated_at", "updated_by", "summary")
    )
    assert "default" in shown.stdout.splitlines()[1]

    # The routing export is a question set file: edited and imported back, it routes.
    exported = tmp_path / "questions.json"
    assert vhouse("settings", "export", "routing", str(exported), env=env).returncode == 0
    raw = json.loads(exported.read_text("utf-8"))
    topic = next(q for q in raw["questions"] if q["id"] == "topic")
    topic["options"][0]["skill"] = "safety_team"
    exported.write_text(json.dumps(raw), "utf-8")
    # Before: safety_team is no queue here, so nobody can be given it.
    assert "safety_team" in refused(
        add_staff(env, "bo", "--alias", "Bo", "--skills", "safety_team")
    )
    imported = vhouse("settings", "import", "routing", str(exported), env=env)
    assert imported.returncode == 0, imported.stderr
    assert "version 1" in imported.stdout
    made = add_staff(env, "bo", "--alias", "Bo", "--skills", "youth,safety_team")
    assert made.returncode == 0, made.stderr

    hours = tmp_path / "hours.json"
    hours.write_text(json.dumps({**HOURS, "weekly": {"mon": [["17:00", "09:00"]]}}), "utf-8")
    bad = refused(vhouse("settings", "import", "hours", str(hours), env=env))
    assert "weekly.mon" in bad
    hours.write_text(json.dumps(HOURS), "utf-8")
    assert vhouse("settings", "import", "hours", str(hours), env=env).returncode == 0
    back = vhouse("settings", "export", "hours", env=env)
    assert json.loads(back.stdout) == {**HOURS, "weekly": {"mon": [["09:00", "17:00"]]}}

    listed = vhouse("settings", "show", "--json", env=env)
    found = {v["name"]: v for v in map(json.loads, listed.stdout.splitlines())}
    assert {n: v["source"] for n, v in found.items()} == {
        "hours": "database",
        "alerts": "settings",
        "routing": "database",
    }
    assert found["routing"]["document"]["topics"]["control"] == "safety_team"
    table = vhouse("settings", "show", env=env).stdout
    assert "control->safety_team" in table
    assert "1 exception(s), 1 helpline(s)" in table

    assert vhouse("settings", "reset", "hours", env=env).returncode == 0
    assert "already" in refused(vhouse("settings", "reset", "hours", env=env), 1)
    audited = vhouse("settings", "show", "--json", env=env).stdout
    assert json.loads(audited.splitlines()[0])["source"] == "default"


async def test_a_running_server_has_an_import_within_a_sweep(
    server: Server, tmp_path: Path
) -> None:
    alerts = tmp_path / "alerts.json"
    alerts.write_text(
        json.dumps({"max_wait_seconds": 120, "max_queue": 0, "urgent_grace_seconds": 5}), "utf-8"
    )
    env = {"VH_DATABASE_URL": server.database.url}
    done = await asyncio.to_thread(vhouse, "settings", "import", "alerts", str(alerts), env=env)
    assert done.returncode == 0, done.stderr
    async with Harness(server) as h:
        supervisor, _ = await h.console(await new_staff(server, alias="Lena", role="supervisor"))
        youth = await h.youth()
        await youth.join(language="xqueue")
        await supervisor.send({"type": "watch_board"})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 12  # the dispatcher sweeps every 5 s
        while True:
            board = await supervisor.expect("board", max(0.1, deadline - loop.time()))
            if any(a["kind"] == "queue_over_threshold" for a in board["alerts"]):
                break
        alert = next(a for a in board["alerts"] if a["kind"] == "queue_over_threshold")
        assert alert["threshold"] == 0
    audited = await rows(
        server, "SELECT staff_id, detail FROM audit_log WHERE action = 'settings.changed'"
    )
    assert [(s, json.loads(d)) for s, d in audited] == [
        (None, {"name": "alerts", "version": 1, "stored": True})
    ]

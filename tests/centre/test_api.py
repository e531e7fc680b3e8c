"""The admins' settings API on a real server: roles, CSRF, refusals naming the place, audit,
optimistic versions, and changes in force at once for joins (routing, hours) and the board."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.client.api import Credentials
from tests.conftest import Server
from tests.expiry.world import rows
from tests.support import Harness, call, new_staff, shared_server, staff_login

server = shared_server()

API = "/staff/api/admin/settings"
ALERTS = {"max_wait_seconds": 300, "max_queue": 3, "urgent_grace_seconds": 30}


async def _admin(server: Server) -> Credentials:
    return await staff_login(server, await new_staff(server, alias="Ada", role="admin"))


async def _audited(server: Server) -> list[dict[str, Any]]:
    found = await rows(
        server, "SELECT detail FROM audit_log WHERE action = 'settings.changed' ORDER BY id"
    )
    return [json.loads(d) for (d,) in found]


async def test_only_admins_read_and_change_the_settings(server: Server) -> None:
    status, body = await call(server, "GET", f"{API}/hours")
    assert (status, body["error"]["code"]) == (401, "not_authenticated")
    for role in ("counsellor", "supervisor"):
        other = await staff_login(server, await new_staff(server, role=role))
        for method, path in (("GET", API), ("GET", f"{API}/alerts"), ("DELETE", f"{API}/alerts")):
            status, body = await call(server, method, path, None, other)
            assert (status, body["error"]["code"]) == (403, "forbidden"), (role, method, path)
        status, _ = await call(server, "PUT", f"{API}/alerts", ALERTS, other)
        assert status == 403
    admin = await _admin(server)
    status, body = await call(server, "PUT", f"{API}/alerts", ALERTS, admin, csrf=False)
    assert (status, body["error"]["code"]) == (403, "forbidden")
    status, body = await call(server, "GET", f"{API}/colours", None, admin)
    assert status == 404
    status, body = await call(server, "GET", API, None, admin)
    assert status == 200
    assert {s["name"]: s["source"] for s in body["settings"]} == {
        "hours": "default",
        "alerts": "settings",
        "routing": "file",
    }


async def test_a_bad_document_is_refused_with_its_place_and_never_stored(server: Server) -> None:
    admin = await _admin(server)
    before = await _audited(server)
    status, hours = await call(server, "GET", f"{API}/hours", None, admin)
    assert status == 200
    assert hours["document"]["weekly"]["mon"] == [["00:00", "24:00"]]  # no file: always open
    bad = {**hours["document"], "weekly": {"mon": [["17:00", "09:00"]]}}
    status, body = await call(server, "PUT", f"{API}/hours", bad, admin)
    assert status == 400, body
    assert body["error"]["code"] == "invalid_settings"
    assert body["error"]["where"] == "weekly.mon"
    assert "end after it starts" in body["error"]["message"]
    status, body = await call(server, "PUT", f"{API}/alerts", {**ALERTS, "max_queue": -1}, admin)
    assert (status, body["error"]["where"]) == (400, "max_queue")
    status, body = await call(server, "PUT", f"{API}/routing", ["x"], admin)
    assert (status, body["error"]["code"]) == (400, "invalid_settings")
    status, after = await call(server, "GET", f"{API}/hours", None, admin)
    assert after["source"] == "default"
    assert await _audited(server) == before


async def test_changes_are_versioned_audited_and_returned_to_the_file(server: Server) -> None:
    admin = await _admin(server)
    _, first = await call(server, "GET", f"{API}/alerts", None, admin)
    status, body = await call(server, "PUT", f"{API}/alerts", ALERTS, admin)
    assert status == 200, body
    assert body["source"] == "database"
    assert body["updated_by"] == "Ada"
    assert body["version"] == first["version"] + 1
    assert body["document"] == {
        "max_wait_seconds": 300.0,
        "max_queue": 3,
        "urgent_grace_seconds": 30.0,
    }
    version = body["version"]
    # A change made on an older version is refused: someone stored another meanwhile.
    stale = {"If-Match": f'"{version - 1}"'}
    status, body = await call(server, "PUT", f"{API}/alerts", ALERTS, admin, headers=stale)
    assert (status, body["error"]["code"]) == (409, "settings_changed")
    status, body = await call(server, "DELETE", f"{API}/alerts", None, admin)
    assert status == 200
    assert (body["source"], body["version"]) == ("settings", version + 1)
    assert body["document"]["max_queue"] == 10  # VH_ALERT_MAX_QUEUE's default
    audited = await _audited(server)
    assert audited[-2:] == [
        {"name": "alerts", "version": version, "stored": True},
        {"name": "alerts", "version": version + 1, "stored": False},
    ]
    # Nothing stored: returning to the file again changes nothing and audits nothing.
    status, body = await call(server, "DELETE", f"{API}/alerts", None, admin)
    assert (status, body["version"]) == (200, version + 1)
    assert len(await _audited(server)) == len(audited)


async def test_routing_and_hours_take_effect_at_the_next_join(server: Server) -> None:
    admin = await _admin(server)
    _, routing = await call(server, "GET", f"{API}/routing", None, admin)
    assert [t["id"] for t in routing["topics"]][:2] == ["control", "threats_violence"]
    await new_staff(server, skills=["youth", "safety_team"])
    _, routing = await call(server, "GET", f"{API}/routing", None, admin)
    assert "safety_team" in routing["skills"]  # a skill staff have can be chosen
    triage = {"language": "sv", "kind": "youth", "danger_now": False, "topic": "threats_violence"}
    async with Harness(server) as h:
        youth = await h.youth()
        await youth.send({"type": "join", "triage": triage})
        assert (await youth.expect("ticket"))["queue"] == "youth"

        document = {"topics": {"threats_violence": "safety_team"}}
        status, body = await call(server, "PUT", f"{API}/routing", document, admin)
        assert status == 200, body
        youth = await h.youth()
        await youth.send({"type": "join", "triage": triage})
        assert (await youth.expect("ticket"))["queue"] == "youth/safety_team"

        today = datetime.now(ZoneInfo("Europe/Stockholm")).date()
        hours = {
            "weekly": {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
            "exceptions": {today.isoformat(): []},
            "helplines": [{"name": "Night line", "phone": "020 00 00"}],
        }
        status, body = await call(server, "PUT", f"{API}/hours", hours, admin)
        assert status == 200, body
        youth = await h.youth()
        await youth.send({"type": "join", "triage": triage})
        refused = await youth.expect("error")
        assert refused["code"] == "closed"
        assert refused["next_opening"] > datetime.now().timestamp()
        assert refused["helplines"][0]["name"] == "Night line"
    for name in ("routing", "hours"):
        status, _ = await call(server, "DELETE", f"{API}/{name}", None, admin)
        assert status == 200

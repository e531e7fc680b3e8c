"""The admins' device controls (issue 13 (1)) against a real server: an enrolment code made on
the admin page with the admin's own fresh login registers the counsellor's new device, is
audited with who made it (never the code), and is refused without a fresh login of this very
admin session or for the admin's own account; a counsellor's devices are listed and one is
revoked (audited): its console closes and it cannot connect again."""

from __future__ import annotations

import json
import time
from typing import Any

from app.client.api import Credentials
from tests.conftest import Server, StaffAccount
from tests.expiry.world import rows
from tests.support import Harness, call, frames_until_closed, new_staff, shared_server, staff_login

server = shared_server(("sqlite",))
BASE = "/staff/api/admin/staff"


async def _admin(server: Server) -> tuple[StaffAccount, Credentials]:
    account = await new_staff(server, alias=f"Admin {time.monotonic_ns()}", role="admin")
    return account, await staff_login(server, account)


async def _audit(server: Server, action: str) -> list[tuple[str | None, dict[str, Any]]]:
    found = await rows(server, "SELECT staff_id, detail FROM audit_log WHERE action = :a", a=action)
    return [(who, json.loads(detail)) for who, detail in found]


async def test_a_code_from_the_admin_page_registers_the_counsellors_device(
    server: Server,
) -> None:
    """R-25: A new device's enrolment code from an admin needs that admin's own fresh login and
    a second person."""
    actor, admin = await _admin(server)
    account = await new_staff(server, languages=["sv"])
    path = f"{BASE}/{account.username}/enrol-code"
    fresh = {"fresh_login": admin.fresh_login}

    # The counsellor's own proof is not the admin's; nor is a made-up one, nor none at all.
    counsellor = await staff_login(server, account)
    for proof in (counsellor.fresh_login, "v1.1.AAAA"):
        status, body = await call(server, "POST", path, {"fresh_login": proof}, admin)
        assert (status, body["error"]["code"]) == (403, "login_not_fresh"), body
    assert (await call(server, "POST", path, {}, admin))[0] == 422
    assert (await call(server, "POST", path, fresh, admin, csrf=False))[0] == 403
    # Never for oneself: a second person must be involved.
    own = f"{BASE}/{actor.username}/enrol-code"
    status, body = await call(server, "POST", own, fresh, admin)
    assert (status, body["error"]["code"]) == (403, "own_enrolment"), body
    assert (await call(server, "POST", f"{BASE}/nobody-here/enrol-code", fresh, admin))[0] == 404
    assert await _audit(server, "device.enrol_code") == []

    status, made = await call(server, "POST", path, fresh, admin)
    assert status == 201, made
    assert made["expires_at"] > time.time() + 60
    ((subject, detail),) = await _audit(server, "device.enrol_code")
    assert subject == account.staff_id
    assert detail["by"] == actor.staff_id
    assert made["code"] not in json.dumps(detail)
    assert made["code"].replace("-", "") not in json.dumps(detail)

    async with Harness(server) as h:
        console, hello = await h.console(account, enrol_code=made["code"])
        assert console.device is not None
        assert hello["device"] == console.device.device_id
        status, listed = await call(
            server, "GET", f"{BASE}/{account.username}/devices", None, admin
        )
        assert [d["device_id"] for d in listed["devices"]] == [console.device.device_id]


async def test_an_admin_lists_and_revokes_one_device(server: Server) -> None:
    """R-25: An admin revokes one lost device from the admin page; it is audited and refused."""
    actor, admin = await _admin(server)
    account = await new_staff(server, languages=["sv"])
    async with Harness(server) as h:
        console, _ = await h.console(account)
        assert console.device is not None
        device_id = console.device.device_id
        listed_path = f"{BASE}/{account.username}/devices"
        status, listed = await call(server, "GET", listed_path, None, admin)
        assert status == 200, listed
        assert [d["device_id"] for d in listed["devices"]] == [device_id]
        assert listed["devices"][0]["revoked_at"] is None

        revoke = f"{listed_path}/{device_id}/revoke"
        other = f"{listed_path}/{'A' * 22}/revoke"
        assert (await call(server, "POST", other, None, admin))[0] == 404
        assert (await call(server, "POST", revoke, None, admin, csrf=False))[0] == 403
        status, done = await call(server, "POST", revoke, None, admin)
        assert (status, done) == (200, {"revoked": device_id, "requeued": 0})
        _, code = await frames_until_closed(console, timeout=5)
        assert code == 1008
        status, body = await call(server, "POST", revoke, None, admin)
        assert (status, body["error"]["code"]) == (409, "already_revoked")
        status, listed = await call(server, "GET", listed_path, None, admin)
        assert listed["devices"][0]["revoked_at"] is not None
        audited = [d for who, d in await _audit(server, "device.revoked") if who == actor.staff_id]
        assert audited == [{"target": account.username, "device_id": device_id}]

        # The device is refused from now on: a console naming it gets no device.
        again = await staff_login(server, account)
        status, body = await call(server, "GET", f"/staff/api/devices/{device_id}", None, again)
        assert status == 404, body

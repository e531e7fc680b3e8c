"""The admins' staff API (issue 11 §3) against a real server: roles and CSRF, each action and
its audit row, the centre's languages and skills, duplicate aliases, the last admin, a routing
edit applied to the next pairing, and a credential reset or a disable closing the person's
console socket within 5 s (SECURITY R-3)."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import pytest

from app.client import CounsellorClient
from app.client.api import Credentials
from tests.conftest import STAFF_PASSWORD, Server, StaffAccount
from tests.expiry.world import rows
from tests.support import (
    Harness,
    call,
    frames_until_closed,
    new_staff,
    shared_server,
    staff_login,
)

server = shared_server()
BASE = "/staff/api/admin/staff"
NEW_PASSWORD = "a brand new passphrase 77"


async def _admin(server: Server) -> tuple[StaffAccount, Credentials]:
    account = await new_staff(server, alias=f"Admin {time.monotonic_ns()}", role="admin")
    return account, await staff_login(server, account)


async def _audit(server: Server, action: str, target: str) -> list[tuple[str | None, Any]]:
    found = await rows(server, "SELECT staff_id, detail FROM audit_log WHERE action = :a", a=action)
    return [(actor, json.loads(d)) for actor, d in found if json.loads(d)["target"] == target]


async def _closed_within(console: CounsellorClient, seconds: float, started: float) -> None:
    frames, code = await frames_until_closed(console, timeout=seconds)
    assert code == 1008
    assert time.monotonic() - started < seconds
    assert [f["code"] for f in frames if f["type"] == "error"] == ["logged_out"]


async def test_only_admins_administer_staff(server: Server) -> None:
    _, admin = await _admin(server)
    counsellor = await staff_login(server, await new_staff(server))
    supervisor = await staff_login(server, await new_staff(server, role="supervisor"))
    target = (await new_staff(server)).username
    changes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", BASE, {"username": "x1", "alias": "X1", "languages": ["sv"]}),
        ("PATCH", f"{BASE}/{target}", {"capacity": 3}),
        *(("POST", f"{BASE}/{target}/{action}", None) for action in ("disable", "enable")),
        ("POST", f"{BASE}/{target}/reset-password", {"password": NEW_PASSWORD}),
        ("POST", f"{BASE}/{target}/reset-totp", None),
    ]
    for method, path in (("GET", BASE), ("GET", f"{BASE}/options")):
        assert (await call(server, method, path))[0] == 401
        for who in (counsellor, supervisor):
            status, body = await call(server, method, path, credentials=who)
            assert (status, body["error"]["code"]) == (403, "forbidden")
        assert (await call(server, method, path, credentials=admin))[0] == 200
    for method, path, body in changes:
        assert (await call(server, method, path, body))[0] == 401, path
        for who in (counsellor, supervisor):
            assert (await call(server, method, path, body, who))[0] == 403, path
        # An admin without the CSRF token is refused as every staff change is.
        assert (await call(server, method, path, body, admin, csrf=False))[0] == 403, path
    assert await _audit(server, "staff.reset_totp", target) == []  # nothing was done


async def test_add_answers_the_secrets_once_and_checks_the_centre(server: Server) -> None:
    actor, admin = await _admin(server)
    name = f"n{time.monotonic_ns()}"
    body = {"username": name, "alias": f"Nils {name}", "languages": ["sv", "ar"], "capacity": 3}

    bad = await call(server, "POST", BASE, {**body, "languages": ["swedish", "klingon"]}, admin)
    assert bad[0] == 400
    assert bad[1]["error"]["code"] == "invalid_account"
    assert (bad[1]["error"]["field"], bad[1]["error"]["unknown"]) == (
        "languages",
        ["klingon", "swedish"],
    )
    assert bad[1]["error"]["valid"] == ["sv", "en", "ar"]
    bad = await call(server, "POST", BASE, {**body, "skills": ["youth", "policee"]}, admin)
    assert (bad[0], bad[1]["error"]["unknown"]) == (400, ["policee"])
    weak = await call(server, "POST", BASE, {**body, "password": "short"}, admin)
    assert (weak[0], weak[1]["error"]["code"]) == (400, "weak_password")

    status, made = await call(server, "POST", BASE, body, admin)
    assert status == 201, made
    assert made["account"]["languages"] == ["ar", "sv"]
    assert made["provisioning_uri"].startswith("otpauth://totp/")
    assert made["totp_secret"] in made["provisioning_uri"]
    password = made["password"]  # none given: generated, shown this once
    assert len(password) >= 12
    # The new account logs in with what was answered.
    account = StaffAccount(name, password, made["totp_secret"], "")
    assert (await staff_login(server, account)).csrf_token

    again = await call(server, "POST", BASE, {**body, "username": name + "b"}, admin)
    assert again[0] == 409  # the alias is taken (any case)
    listed = (await call(server, "GET", BASE, credentials=admin))[1]["staff"]
    assert next(s for s in listed if s["username"] == name)["capacity"] == 3
    assert all("totp" not in json.dumps(s) and "password" not in s for s in listed)

    [(who, detail)] = await _audit(server, "staff.add", name)
    assert who == actor.staff_id
    assert detail["created"]["languages"] == "ar,sv"
    assert password not in json.dumps(detail)
    assert made["totp_secret"] not in json.dumps(detail)

    options = (await call(server, "GET", f"{BASE}/options", credentials=admin))[1]
    assert [o["id"] for o in options["languages"]] == ["sv", "en", "ar"]
    assert [o["id"] for o in options["skills"]] == ["youth", "professional"]
    assert options["roles"] == ["counsellor", "supervisor", "admin"]


async def test_edit_changes_checks_and_audits(server: Server) -> None:
    """R-12: Edit changes checks and audits."""
    actor, admin = await _admin(server)
    target = await new_staff(server, alias=f"Edit {time.monotonic_ns()}")
    other = await new_staff(server, alias=f"Taken {time.monotonic_ns()}")
    path = f"{BASE}/{target.username}"

    status, done = await call(
        server,
        "PATCH",
        path,
        {"capacity": 4, "organisation": "health care", "languages": ["ar"], "role": "supervisor"},
        admin,
    )
    assert status == 200, done
    assert done["changed"] == {
        "role": ["counsellor", "supervisor"],
        "organisation": ["municipality", "health care"],
        "languages": ["en,sv", "ar"],
        "capacity": [2, 4],
    }
    assert done["account"]["role"] == "supervisor"
    [(who, detail)] = await _audit(server, "staff.edit", target.username)
    assert who == actor.staff_id
    assert detail["changed"] == done["changed"]

    for body, code in (
        ({"languages": ["swedish", "klingon"]}, 400),
        ({"skills": ["policee"]}, 400),
        ({"capacity": 11}, 400),
        ({"role": "root"}, 400),
        ({"alias": "  "}, 400),
    ):
        assert (await call(server, "PATCH", path, body, admin))[0] == code, body
    klingon = await call(server, "PATCH", path, {"languages": ["sv", "klingon"]}, admin)
    assert klingon[1]["error"]["unknown"] == ["klingon"]
    alias = (await rows(server, "SELECT alias FROM staff WHERE id = :i", i=other.staff_id))[0][0]
    taken = await call(server, "PATCH", path, {"alias": alias.upper()}, admin)
    assert (taken[0], taken[1]["error"]["code"]) == (409, "alias_taken")
    assert (await call(server, "PATCH", f"{BASE}/nobody-here", {"capacity": 2}, admin))[0] == 404
    unchanged = await call(server, "PATCH", path, {"capacity": 4}, admin)
    assert unchanged[1]["changed"] == {}
    assert len(await _audit(server, "staff.edit", target.username)) == 1


async def test_the_last_admin_stays(server: Server) -> None:
    async with Harness(server):
        admins = await rows(server, "SELECT username FROM staff WHERE role = 'admin'")
        _, admin = await _admin(server)
        # Leave exactly one enabled admin: the one logged in.
        _, helper = await _admin(server)
        for (name,) in admins:
            await call(server, "POST", f"{BASE}/{name}/disable", None, helper)
        helper_name = (
            await rows(server, "SELECT username FROM staff WHERE id = :i", i=helper.staff_id)
        )[0][0]
        assert (await call(server, "POST", f"{BASE}/{helper_name}/disable", None, admin))[0] == 200
        me = (await rows(server, "SELECT username FROM staff WHERE id = :i", i=admin.staff_id))[0][
            0
        ]
        demote = await call(server, "PATCH", f"{BASE}/{me}", {"role": "counsellor"}, admin)
        assert (demote[0], demote[1]["error"]["code"]) == (409, "last_admin")
        off = await call(server, "POST", f"{BASE}/{me}/disable", None, admin)
        assert (off[0], off[1]["error"]["code"]) == (409, "last_admin")
        # With a second admin again, the change is allowed.
        assert (await call(server, "POST", f"{BASE}/{helper_name}/enable", None, admin))[0] == 200
        again = await call(server, "POST", f"{BASE}/{helper_name}/enable", None, admin)
        assert again[0] == 409  # enabled already: nothing changed
        assert (await call(server, "PATCH", f"{BASE}/{me}", {"role": "supervisor"}, admin))[
            0
        ] == 200
        # No longer an admin: the next request is refused (the role is read every request).
        assert (await call(server, "GET", BASE, credentials=admin))[0] == 403


async def test_a_routing_edit_applies_to_the_next_pairing(server: Server) -> None:
    async with Harness(server) as h:
        _, admin = await _admin(server)
        account = await new_staff(server, alias=f"Route {time.monotonic_ns()}", languages=["en"])
        console, _ = await h.console(account)
        await console.duty(True)
        youth = await h.youth()
        await youth.join(language="ar")  # nobody on duty speaks Arabic: it waits
        with pytest.raises(TimeoutError):
            await youth.wait_paired(timeout=1.5)
        edited = await call(
            server, "PATCH", f"{BASE}/{account.username}", {"languages": ["en", "ar"]}, admin
        )
        assert edited[0] == 200
        started = time.monotonic()
        paired = await youth.wait_paired(timeout=5)
        assert time.monotonic() - started < 3  # at once, without going off and on duty
        assert (await console.wait_assigned())["conv"] == paired["conv"]


@pytest.mark.parametrize("action", ["reset-totp", "reset-password", "disable"])
async def test_a_reset_or_disable_closes_the_console_and_requeues_its_chats(
    server: Server, action: str
) -> None:
    """R-3: A reset or disable closes the console and requeues its chats."""
    async with Harness(server) as h:
        _, admin = await _admin(server)
        account = await new_staff(server, alias=f"Reset {time.monotonic_ns()}", languages=["sv"])
        console, _ = await h.console(account)
        await console.duty(True)
        youth, conv = await h.pair(console, "sv")
        body = {"password": NEW_PASSWORD} if action == "reset-password" else None
        if action == "reset-password":
            weak = await call(
                server,
                "POST",
                f"{BASE}/{account.username}/reset-password",
                {"password": "x"},
                admin,
            )
            assert (weak[0], weak[1]["error"]["code"]) == (400, "weak_password")
        started = time.monotonic()
        status, done = await call(
            server, "POST", f"{BASE}/{account.username}/{action}", body, admin
        )
        assert status == 200, done
        assert done["requeued"] == 1
        await _closed_within(console, 5, started)
        requeued = await youth.expect("requeued")
        assert requeued["conv"] == conv
        sessions = await rows(
            server, "SELECT count(*) FROM staff_sessions WHERE staff_id = :i", i=account.staff_id
        )
        assert sessions == [(0,)]
        revoked = await rows(
            server,
            "SELECT count(*) FROM devices WHERE staff_id = :i AND revoked_at IS NULL",
            i=account.staff_id,
        )
        assert revoked == [(0,)]
        audited = await _audit(server, f"staff.{action.replace('-', '_')}", account.username)
        assert len(audited) == 1
        text = json.dumps(audited)
        assert NEW_PASSWORD not in text
        assert STAFF_PASSWORD not in text
        if action == "reset-totp":
            assert done["totp_secret"] not in text
            fresh = StaffAccount(account.username, account.password, done["totp_secret"], "")
            assert (await staff_login(server, fresh)).csrf_token
        if action == "reset-password":
            assert done["password"] is None  # given, so not answered back
            fresh = StaffAccount(account.username, NEW_PASSWORD, account.totp_secret, "")
            assert (await staff_login(server, fresh)).csrf_token
            with pytest.raises(Exception, match="401"):
                await staff_login(server, account)  # the old password is gone


async def test_a_generated_password_is_answered_once(server: Server) -> None:
    _, admin = await _admin(server)
    account = await new_staff(server, alias=f"Gen {time.monotonic_ns()}")
    status, done = await call(
        server, "POST", f"{BASE}/{account.username}/reset-password", {}, admin
    )
    assert status == 200
    assert len(done["password"]) >= 12
    [(_, detail)] = await _audit(server, "staff.reset_password", account.username)
    assert detail == {"target": account.username, "generated": True}
    fresh = StaffAccount(account.username, done["password"], account.totp_secret, "")
    assert (await staff_login(server, fresh)).csrf_token


async def test_a_password_reset_lets_a_locked_out_person_in_at_once(server: Server) -> None:
    """Five wrong passwords lock the name; the admin's reset forgets those failures."""
    _, admin = await _admin(server)
    account = await new_staff(server, alias=f"Locked {time.monotonic_ns()}")
    wrong = {"username": account.username, "password": "not it at all", "totp": "000000"}
    for _ in range(5):
        assert (await call(server, "POST", "/staff/api/login", wrong))[0] == 401
    status, body = await call(server, "POST", "/staff/api/login", wrong)
    assert status == 429, body  # locked
    status, done = await call(
        server,
        "POST",
        f"{BASE}/{account.username}/reset-password",
        {"password": NEW_PASSWORD},
        admin,
    )
    assert status == 200, done
    fresh = dataclasses.replace(account, password=NEW_PASSWORD)
    assert (await staff_login(server, fresh)).staff_id == account.staff_id

"""What a real server's log says about staff logins, and what it never says (R-16).

A login that succeeds, one with a wrong password, one with a wrong code, and one for an unknown
user whose typed name carries CR/LF, a forged log line and a password-looking string; then a
short end-to-end chat. The process's log has a line per attempt with its time, the account id
(or ``unknown``) and the outcome, and nowhere a password, a TOTP code, the session token or CSRF
token, the typed name, or the text of a message; every line of it is one record of the log's
format, so a CR/LF typed by a client cannot start a line of its own.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time

from app.client.api import login
from app.client.envelopes import open_text
from app.security.totp import current_code
from tests.conftest import STAFF_PASSWORD, Server
from tests.support import Harness, call, new_staff, next_code, shared_server, unique_language

served = shared_server(("sqlite",))

#: One record of app/logging_config.py's format: time, level, logger, message, on one line.
RECORD = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: \S"
)
LOGIN_LINE = re.compile(r"\d\d:\d\d:\d\d,\d{3} INFO [\w.]+: login outcome=(\w+) staff_id=(\S+)$")


def _login_body(username: str, password: str, code: str) -> dict[str, str]:
    return {"username": username, "password": password, "totp": code}


def _digits(code: str) -> re.Pattern[str]:
    """``code`` as a number of its own (not part of a timestamp or a longer number)."""
    return re.compile(rf"(?<!\d){code}(?!\d)")


async def _chat_once(server: Server, text: str) -> None:
    async with Harness(server) as h:
        language = unique_language()
        staff, _ = await h.console(await new_staff(server, languages=[language]))
        await staff.duty(True)
        youth = await h.youth(e2e=True)
        await youth.join(language=language)
        conv = str((await youth.wait_paired())["conv"])
        key, _ = await asyncio.gather(staff.wait_keys(conv), youth.wait_connected())
        assert youth.sender is not None
        await youth.send_envelope(youth.sender.text_envelope(youth.key, text))
        await staff.expect("envelope")
        assert open_text(key, staff.envelopes[-1]) == text


async def _log_lines(server: Server, expected_logins: int) -> list[str]:
    """The log's lines once it has ``expected_logins`` login lines (it is written as it goes)."""
    deadline = time.monotonic() + 10
    while True:
        lines = server.log().splitlines()
        if sum(1 for line in lines if LOGIN_LINE.search(line)) >= expected_logins:
            return lines
        assert time.monotonic() < deadline, server.log()
        await asyncio.sleep(0.1)


async def test_login_lines_name_time_account_and_outcome_and_nothing_typed(served: Server) -> None:
    """R-16: each login attempt is logged with time, account id and outcome; no password, code,
    token or message is, and a CR/LF in a typed value cannot forge a line."""
    account = await new_staff(served)
    before = len(served.log().splitlines())

    # Success: the code, the session token and the CSRF token must never be logged.
    good_code = await next_code(account)
    credentials = await asyncio.to_thread(
        login, served.base_url, account.username, account.password, good_code
    )
    # Wrong password (a password-looking string of its own).
    wrong_password = f"Sommar-2026!{secrets.token_hex(4)}"
    code = account.code()
    status, _ = await call(
        served, "POST", "/staff/api/login", _login_body(account.username, wrong_password, code)
    )
    assert status == 401
    # Wrong code, right password: a code of an hour ago.
    wrong_code = current_code(account.totp_secret, time.time() - 3600)
    status, _ = await call(
        served,
        "POST",
        "/staff/api/login",
        _login_body(account.username, STAFF_PASSWORD, wrong_code),
    )
    assert status == 401
    # Unknown user: CR/LF, a forged record and a password-looking string in the name.
    typed_secret = f"Hunter2!{secrets.token_hex(2)}"
    forged = "2026-01-01 00:00:00,000 INFO app: login ok"
    typed_name = f"x\r\n{forged} {typed_secret}"
    assert len(typed_name) <= 64  # the longest name the login takes
    status, _ = await call(served, "POST", "/staff/api/login", _login_body(typed_name, "pw", code))
    assert status == 401

    message = f"mitt hemliga meddelande {secrets.token_hex(6)}"
    await _chat_once(served, message)  # logs in one more counsellor

    lines = (await _log_lines(served, 5))[before:]
    logins = [m.groups() for line in lines if (m := LOGIN_LINE.search(line))]
    mine = [outcome for outcome, staff_id in logins if staff_id == account.staff_id]
    assert mine == ["success", "failure", "failure"]
    assert ("failure", "unknown") in logins
    assert ("success", credentials.staff_id) in logins

    text = "\n".join(lines)
    for secret in (
        STAFF_PASSWORD,
        wrong_password,
        typed_secret,
        credentials.cookie,
        credentials.csrf_token,
        account.totp_secret,
        message,
        "mitt hemliga",
    ):
        assert secret not in text, secret
    for used in (good_code, code, wrong_code):
        assert not _digits(used).search(text), used
    assert account.username not in text  # a name is not logged either: the id is
    # Every line is one record; the CR/LF typed in the name started none.
    assert all(RECORD.match(line) for line in lines), lines
    assert not any(line.startswith(forged[:10]) for line in lines)
    assert forged not in text

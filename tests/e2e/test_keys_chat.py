"""End-to-end keys in the browser (CRYPTO.md §3, §7; PROTOCOL.md §6): the real youth page and the
real console in two browser contexts against a real server, with real device keys.

The young person's page seals K only to certified keys and says "connected" only once the
counsellor device's acceptance verifies; nothing readable reaches the database or the logs; a
return code brings the history back on a fresh page."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from app.crypto import hpke
from app.kit import b64
from tests.canary import canary_phrase, find_canary
from tests.conftest import ROOT, Server, StaffAccount, restart_server
from tests.e2e.conftest import Contexts
from tests.e2e.pages import (
    YouthSocket,
    bodies,
    end_chat,
    open_console,
    send,
    start_youth_chat,
    wait_paired,
)

pytestmark = pytest.mark.browser

CONNECTED = "Connected. You are talking with Sara."


def test_connected_only_after_the_counsellor_device_accepts(
    contexts: Contexts, server: Server, counsellor: StaffAccount
) -> None:
    youth = contexts.page()
    socket = YouthSocket(youth)
    socket.hold_types.add("accepted")
    staff = contexts.page()
    open_console(staff, server, counsellor)
    start_youth_chat(youth, server)

    panel = staff.locator("[data-chat]")
    expect(panel).to_have_count(1)
    # The console unsealed K (its box opens) and sent its acceptance...
    expect(panel.get_by_role("textbox", name="Message")).to_be_enabled()
    _wait_until(youth, lambda: len(socket.held) >= 1)
    # ...but the young person's page has not seen it: not connected, nothing can be sent.
    expect(youth.get_by_text("Connecting securely to Sara…")).to_be_visible()
    expect(youth.get_by_text(CONNECTED)).to_have_count(0)
    expect(youth.get_by_role("textbox", name="Message")).to_be_disabled()
    keys = [f for f in socket.sent if f.get("type") == "keys"]
    assert len(keys) == 1
    paired = next(f for f in socket.received if f.get("type") == "paired")
    assert keys[0]["conv"] == paired["conv"]
    assert keys[0]["seg"] == paired["seg"] == 0
    assert len(b64.decode(keys[0]["wrap_c"])) == 113
    assert (keys[0]["wrap_o"] is None) == (paired["period"] is None)

    socket.release()
    wait_paired(youth)
    expect(youth.get_by_text("Sara has joined the chat.")).to_be_visible()

    send(youth, "Hej, jag behöver prata med någon.")
    expect(panel.locator(".message-body")).to_have_text(["Hej, jag behöver prata med någon."])
    send(staff, "Hej! Jag heter Sara.", panel)
    expect(youth.locator("[role=log] .message-body")).to_have_text(
        ["Hej, jag behöver prata med någon.", "Hej! Jag heter Sara."]
    )
    expect(youth.locator(".message-pending")).to_have_count(0)
    expect(panel.locator(".message-pending")).to_have_count(0)
    # The wire carried ciphertext only.
    envelopes = [f["envelope"] for f in socket.received if f.get("type") == "envelope"]
    assert envelopes
    assert all("Sara" not in e["ct"] for e in envelopes)


def _wait_until(page: Any, condition: Callable[[], bool], timeout_ms: int = 10_000) -> None:
    """Let Playwright dispatch events (route callbacks) until ``condition()`` holds."""
    waited = 0
    while not condition():
        if waited >= timeout_ms:
            raise AssertionError("condition not met in time")
        page.wait_for_timeout(50)
        waited += 50


def _other_point() -> str:
    return b64.encode(hpke.public_key_bytes(hpke.generate_private_key()))


def test_forged_device_key_is_refused_before_sealing(
    contexts: Contexts, server: Server, counsellor: StaffAccount
) -> None:
    """A server (or database) that swaps the counsellor's key gets nothing sealed to it."""
    impostor = _other_point()

    def forge(frame: dict[str, Any]) -> dict[str, Any] | None:
        if frame.get("type") != "paired":
            return None
        return {**frame, "device": {**frame["device"], "hpke_public_key": impostor}}

    youth = contexts.page()
    socket = YouthSocket(youth, forge)
    staff = contexts.page()
    open_console(staff, server, counsellor)
    start_youth_chat(youth, server)
    expect(youth.get_by_text("could not be verified")).to_be_visible()
    expect(youth.locator("textarea#message")).to_be_disabled()
    expect(youth.get_by_text(CONNECTED)).to_have_count(0)
    assert "keys" not in socket.sent_types()
    # The page ended the conversation rather than leave the counsellor waiting.
    panel = staff.locator("[data-chat]")
    expect(panel.get_by_text("The young person ended the chat.")).to_be_visible()
    assert "keys" not in socket.sent_types()


def test_forged_acceptance_is_refused(
    contexts: Contexts, server: Server, counsellor: StaffAccount
) -> None:
    """A server cannot fabricate the counsellor's acceptance (CRYPTO.md §3)."""

    def forge(frame: dict[str, Any]) -> dict[str, Any] | None:
        if frame.get("type") != "accepted":
            return None
        return {**frame, "sig": b64.encode(secrets.token_bytes(64))}

    youth = contexts.page()
    socket = YouthSocket(youth, forge)
    staff = contexts.page()
    open_console(staff, server, counsellor)
    start_youth_chat(youth, server)
    expect(youth.get_by_text("confirmation could not be verified")).to_be_visible()
    expect(youth.locator("textarea#message")).to_be_disabled()
    expect(youth.get_by_text(CONNECTED)).to_have_count(0)
    assert "envelope" not in socket.sent_types()


def test_page_with_another_service_key_refuses_to_seal(
    contexts: Contexts, server: Server, counsellor: StaffAccount
) -> None:
    """The certificates are checked against the key pinned in the page, whatever the socket says.

    The page is served as usual and its meta tag changed in the DOM before the chat starts:
    a page fulfilled by a Playwright route could not open its socket (Chromium's local network
    access checks treat it as coming from outside).
    """
    youth = contexts.page()
    pinned = _other_point()
    # Runs before the page's own scripts, as a DevTools init script (outside the page's CSP).
    youth.add_init_script(
        f"""new MutationObserver(() => {{
          const meta = document.querySelector('meta[name="vh-service-key"]');
          if (meta && meta.content !== {json.dumps(pinned)}) meta.content = {json.dumps(pinned)};
        }}).observe(document, {{ childList: true, subtree: true }});"""
    )
    socket = YouthSocket(youth)
    staff = contexts.page()
    open_console(staff, server, counsellor)
    start_youth_chat(youth, server)
    expect(youth.get_by_text("could not be verified")).to_be_visible()
    expect(youth.locator("textarea#message")).to_be_disabled()
    assert "keys" not in socket.sent_types()
    assert youth.locator('meta[name="vh-service-key"]').get_attribute("content") == pinned


PERIOD_PASSPHRASE = "a passphrase for the period key in tests"


def _cli(server: Server, *args: str, stdin: str = "") -> str:
    """Run ``vhouse`` against the test server's database and service key; its stdout."""
    env = {
        **os.environ,
        "VH_MODE": "test",
        "VH_DATABASE_URL": server.database.url,
        "VH_SERVICE_KEY_FILE": str(server.service_key_file),
    }
    done = subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_canary_phrase_never_reaches_the_database_or_the_logs(
    contexts: Contexts, server: Server, counsellor: StaffAccount, tmp_path: Path
) -> None:
    """R-15: CRYPTO.md §7: a full chat between the real pages with a unique phrase both ways, sealed
    to the counsellor's device and to a registered period key. The phrase is nowhere in the
    database file, its WAL or the server's log; the organisation's export (period key) reads it,
    so the search above was not looking at something that never carried it."""
    period_file = tmp_path / "period.pem"
    _cli(
        server,
        "keys",
        "new-period",
        "--out",
        str(period_file),
        "--passphrase-stdin",
        stdin=PERIOD_PASSPHRASE + "\n",
    )
    phrase = canary_phrase() + " — kanariefågel ✓"
    youth = contexts.page()
    socket = YouthSocket(youth)
    staff = contexts.page()
    open_console(staff, server, counsellor)
    start_youth_chat(youth, server)
    wait_paired(youth)
    panel = staff.locator("[data-chat]")
    paired = next(f for f in socket.received if f.get("type") == "paired")
    assert paired["period"] is not None
    (keys,) = [f for f in socket.sent if f.get("type") == "keys"]
    assert keys["wrap_o"] is not None

    send(youth, phrase)
    expect(panel.locator(".message-body")).to_have_text([phrase])
    send(staff, phrase, panel)
    expect(youth.locator("[role=log] .message-body")).to_have_text([phrase, phrase])
    send(youth, "and once more: " + phrase)
    expect(panel.locator(".message-body").last).to_have_text("and once more: " + phrase)
    expect(youth.locator(".message-pending")).to_have_count(0)
    expect(panel.locator(".message-pending")).to_have_count(0)
    end_chat(youth)
    expect(panel.get_by_text("The young person ended the chat.")).to_be_visible()

    database = server.database
    files = [server.log_path]
    if database.path is not None:  # SQLite: its file and WAL; PostgreSQL: every row (canary)
        wal = database.path.with_name(database.path.name + "-wal")
        assert wal.is_file(), "the WAL file should exist while the server runs"
        files += [database.path, wal]
    raw = phrase.encode("utf-8")

    def assert_nowhere() -> None:
        assert find_canary(phrase, database=database, paths=[server.log_path]) == []
        for path in files:  # the raw UTF-8 bytes, directly too
            if path.is_file():
                assert raw not in path.read_bytes(), path

    assert_nowhere()
    # The organisation can read it with the period key (after checking the acceptance).
    out = tmp_path / "transcript.txt"
    _cli(
        server,
        "transcripts",
        "export",
        f"--conversation={paired['conv']}",
        "--period-key",
        str(period_file),
        "--passphrase-stdin",
        "--out",
        str(out),
        stdin=PERIOD_PASSPHRASE + "\n",
    )
    assert out.read_text("utf-8").count(phrase) == 3
    server.stop()  # a checkpoint folds the WAL into the database file: look again
    assert_nowhere()


def test_return_code_brings_the_history_back(
    contexts: Contexts, server: Server, counsellor: StaffAccount
) -> None:
    youth = contexts.page()
    staff = contexts.page()
    open_console(staff, server, counsellor)
    start_youth_chat(youth, server)
    get_code = youth.get_by_role("button", name="Get a return code")
    wait_paired(youth)
    panel = staff.locator("[data-chat]")
    send(youth, "Jag vill kunna läsa det här igen.")
    send(staff, "Det går bra, spara koden.", panel)
    expect(youth.locator("[role=log] .message-body")).to_have_count(2)

    get_code.click()
    shown = youth.locator("[data-return-code-value]")
    expect(shown).to_have_text(re.compile(r"^([0-9A-HJKMNP-TV-Z]{4} ){4}[0-9A-HJKMNP-TV-Z]{4}$"))
    code = shown.text_content() or ""
    expect(youth.get_by_text("Your return code works for this conversation.")).to_be_visible()
    expect(get_code).to_be_disabled()
    # Shown once: taken off the screen when the young person has written it down.
    youth.get_by_role("button", name="I have written it down").click()
    expect(shown).to_have_text("")
    expect(youth.locator("[data-return-code]")).to_be_hidden()
    assert code.replace(" ", "") not in youth.content()
    send(youth, "Efter koden.")
    expect(panel.locator(".message-body").last).to_have_text("Efter koden.")
    expect(youth.locator(".message-pending")).to_have_count(0)
    end_chat(youth)
    expect(youth.get_by_text("You ended the chat.")).to_be_visible()

    # Later, on a fresh page (a reload ends everything in memory): a wrong code first.
    later = contexts.page()
    requests: list[Any] = []
    later.on("request", lambda r: requests.append(r))
    later.goto(server.base_url + "/en/chat")
    later.get_by_text("I have a return code").click()
    field = later.get_by_role("textbox", name="Return code")
    assert field.get_attribute("type") in (None, "text")  # never a password field (S-12)
    assert field.get_attribute("autocomplete") == "off"
    field.fill("0000 0000 0000 0000 0000")
    later.get_by_role("button", name="Show my earlier chat").click()
    expect(later.get_by_text("No conversation was found for this code")).to_be_visible()
    field.fill("not a code")
    later.get_by_role("button", name="Show my earlier chat").click()
    expect(later.get_by_text("A return code has 20 letters and digits")).to_be_visible()

    field.fill(code.lower())  # typed loosely: case and spaces do not matter
    later.get_by_role("button", name="Show my earlier chat").click()
    history = later.locator("[data-return-history]")
    expect(history.locator(".message-body")).to_have_text(
        ["Jag vill kunna läsa det här igen.", "Det går bra, spara koden.", "Efter koden."],
        timeout=20_000,
    )
    expect(history.locator(".message-who")).to_have_text(["You: ", "Counsellor: ", "You: "])
    expect(history.get_by_text("It is not saved here")).to_be_visible()
    # Read only, and the code itself never left the page: only its locator was sent.
    assert history.locator("textarea, [contenteditable]").count() == 0
    posts = [r for r in requests if r.url.endswith("/api/youth/return")]
    assert len(posts) == 2
    for post in posts:
        assert code.replace(" ", "") not in (post.post_data or "").upper()
        assert list(json.loads(post.post_data)) == ["locator"]
    assert all(code.replace(" ", "") not in r.url.upper() for r in requests)
    traces = later.evaluate(
        """async () => [localStorage.length, sessionStorage.length,
                        (await indexedDB.databases()).length, document.cookie]"""
    )
    assert traces == [0, 0, 0, ""]
    assert later.context.cookies() == []
    assert bodies(later.locator("[data-return-history]")) == [
        "Jag vill kunna läsa det här igen.",
        "Det går bra, spara koden.",
        "Efter koden.",
    ]


def test_a_message_that_cannot_be_opened_is_shown_and_reported(
    contexts: Contexts, server: Server, counsellor: StaffAccount
) -> None:
    """PROTOCOL.md §6.4: never dropped silently; the sender's side learns it did not arrive."""
    damaged: list[dict[str, Any]] = []

    def damage_first_reply(frame: dict[str, Any]) -> dict[str, Any] | None:
        if frame.get("type") != "envelope" or frame["envelope"]["role"] != "C" or damaged:
            return None
        envelope = frame["envelope"]
        ct = bytearray(b64.decode(envelope["ct"]))
        ct[0] ^= 1
        damaged.append(envelope)
        return {**frame, "envelope": {**envelope, "ct": b64.encode(bytes(ct))}}

    youth = contexts.page()
    socket = YouthSocket(youth, damage_first_reply)
    staff = contexts.page()
    open_console(staff, server, counsellor)
    start_youth_chat(youth, server)
    wait_paired(youth)
    panel = staff.locator("[data-chat]")
    send(staff, "damaged on the way", panel)
    expect(youth.get_by_text("A message could not be decrypted.")).to_be_visible()
    send(staff, "this one arrives", panel)
    expect(youth.locator("[role=log] .message-body")).to_have_text(["this one arrives"])

    _wait_until(youth, lambda: "undecryptable" in socket.sent_types())
    (report,) = [f for f in socket.sent if f.get("type") == "undecryptable"]
    (envelope,) = damaged
    assert report == {
        "type": "undecryptable",
        "conv": envelope["conv"],
        "seg": envelope["seg"],
        "role": "C",
        "inst": envelope["inst"],
        "seq": envelope["seq"],
    }
    expect(panel.get_by_text("A message did not arrive readable")).to_be_visible()
    # The chat goes on in both directions.
    send(youth, "still here")
    expect(panel.locator(".message-body").last).to_have_text("still here")


def test_console_asks_for_a_fresh_login_to_register_a_new_device(
    contexts: Contexts, server: Server, counsellor: StaffAccount
) -> None:
    """The device expired (404) and the login is too old to certify a new one (403
    login_not_fresh, simulated by routes): the console asks for a new login, then registers."""
    staff = contexts.page()
    open_console(staff, server, counsellor, on_duty=False)

    def gone(route: Any) -> None:
        error = {"error": {"code": "not_found", "message": "no such device"}}
        route.fulfill(status=404, content_type="application/json", body=json.dumps(error))

    def not_fresh(route: Any) -> None:
        error = {"error": {"code": "login_not_fresh", "message": "log in again"}}
        route.fulfill(status=403, content_type="application/json", body=json.dumps(error))

    staff.route("**/staff/api/devices/*", gone)
    staff.route("**/staff/api/devices", not_fresh)
    sockets: list[str] = []
    staff.on("websocket", lambda ws: sockets.append(ws.url))
    staff.reload()
    expect(staff.get_by_text("Log in again to set up the keys of this device.")).to_be_visible()
    expect(staff.get_by_role("button", name="Log in")).to_be_visible()
    assert sockets == []  # no socket without a device

    staff.unroute("**/staff/api/devices/*")
    staff.unroute("**/staff/api/devices")
    open_console(staff, server, counsellor, code_at=time.time() + 30)
    assert len(sockets) == 1
    assert "?device=" in sockets[0]


def test_keys_survive_a_real_server_restart(
    contexts: Contexts, server: Server, counsellor: StaffAccount
) -> None:
    """R-20: the server process gets SIGTERM mid-chat (both pages' sockets close with 1012) and
    a new one starts on the same database, port and keys. Both pages reconnect by themselves;
    the youth page's resume brings `paired` again with keys_stored and the acceptance: it keeps
    its K (in memory), seals nothing new, and the chat goes on readable both ways, each message
    once. (The 1012 itself is checked with the Python clients: tests/relay/test_restart.py.)"""
    youth = contexts.page()
    socket = YouthSocket(youth)
    staff = contexts.page()
    open_console(staff, server, counsellor)
    start_youth_chat(youth, server)
    wait_paired(youth)
    panel = staff.locator("[data-chat]")
    send(youth, "before the restart")
    expect(panel.locator(".message-body")).to_have_text(["before the restart"])
    expect(youth.locator(".message-pending")).to_have_count(0)

    server.process.send_signal(signal.SIGTERM)
    server.process.wait(timeout=20)
    restarted = restart_server(server)
    try:
        _wait_until(youth, lambda: sum(f.get("type") == "resume" for f in socket.sent) == 1)
        send(staff, "while you were away", panel)
        expect(youth.locator("[role=log] .message-body")).to_have_text(
            ["before the restart", "while you were away"]
        )
        send(youth, "after the restart")
        expect(panel.locator(".message-body")).to_have_text(
            ["before the restart", "while you were away", "after the restart"]
        )
        pairs = [f for f in socket.received if f.get("type") == "paired"]
        assert len(pairs) == 2
        assert pairs[1]["keys_stored"] is True
        assert pairs[1]["accepted"] == next(
            f["sig"] for f in socket.received if f.get("type") == "accepted"
        )
        assert socket.sent_types().count("keys") == 1
        expect(youth.get_by_text("could not be decrypted")).to_have_count(0)
        expect(panel.get_by_text("could not be decrypted")).to_have_count(0)
        expect(youth.get_by_text(CONNECTED)).to_be_visible()
    finally:
        restarted.stop()

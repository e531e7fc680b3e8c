"""Transfers in the browser (PROTOCOL.md §7, CRYPTO.md §5): the real youth page and two or three
real consoles (separate browser contexts, separate accounts and device keys) on a real server.

Every change of counsellor starts a new key segment: the youth page says "rekey" under the old
key, seals a new K to the new counsellor's certified device and sends from seq 1 again; the old
console drops the chat and never sees what follows. A warm transfer's note is sealed by the
sending console to the colleague's device and read only there."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import expect

from app.crypto import certs, hpke, note
from app.crypto import sign as ecdsa
from app.crypto.message import unpad
from app.kit import b64
from tests.conftest import Server, StaffAccount, create_staff
from tests.e2e.conftest import Contexts
from tests.e2e.pages import (
    YouthSocket,
    bodies,
    handed_over,
    open_console,
    send,
    start_youth_chat,
    wait_paired,
)

pytestmark = pytest.mark.browser


def _staff(server: Server, username: str, alias: str, **kw: Any) -> StaffAccount:
    """A counsellor account, made in a thread (Playwright's sync API owns this one's loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(create_staff, server.database, username, alias, **kw).result()


def _frames(page: Any, path: str, event: str = "framereceived") -> list[dict[str, Any]]:
    """Every JSON frame the page receives (or sends: ``event="framesent"``) on its `path`
    socket; call it before the socket opens."""
    frames: list[dict[str, Any]] = []

    def watch(ws: Any) -> None:
        if ws.url.endswith(path) or f"{path}?" in ws.url:
            ws.on(event, lambda payload: frames.append(json.loads(payload)))

    page.on("websocket", watch)
    return frames


def _connected_chat(contexts: Contexts, server: Server, counsellor: StaffAccount) -> Any:
    """Console A (Sara) on duty and a young person connected to her, one message each way;
    also the youth page's socket recorder and the frames console A sends."""
    staff_a = contexts.page()
    sent_a = _frames(staff_a, "/ws/staff", "framesent")
    open_console(staff_a, server, counsellor)
    youth = contexts.page()
    socket = YouthSocket(youth)
    start_youth_chat(youth, server)
    wait_paired(youth, "Sara")
    panel_a = staff_a.locator("[data-chat]")
    send(youth, "Hej, det är jag.")
    expect(panel_a.locator(".message-body")).to_have_text(["Hej, det är jag."])
    send(staff_a, "Hej, Sara här.", panel_a)
    expect(youth.locator("[role=log] .message-body")).to_have_text(
        ["Hej, det är jag.", "Hej, Sara här."]
    )
    return staff_a, panel_a, youth, socket, sent_a


def _transfer(
    panel: Any, *, target: str, mode: str, note: str = "", confirm: bool = False, **queue: str
) -> None:
    """Use a panel's Transfer control as a counsellor would (``confirm``: tick "Transfer
    anyway" for a queue nobody else on duty serves)."""
    if not panel.get_by_label("Transfer to").is_visible():
        panel.get_by_role("button", name="Transfer…").click()
    panel.get_by_label("Transfer to").select_option(target)
    if target == "queue":
        panel.get_by_label("Queue").select_option(queue["kind"])
        panel.get_by_label("Skill").select_option(queue.get("skill", ""))
    panel.get_by_label(
        "Warm: they accept first" if mode == "warm" else "Cold: hand it over now"
    ).check()
    if note:
        panel.get_by_label("Note for your colleague").fill(note)
    if confirm:
        panel.get_by_label("Transfer anyway").check()
    panel.get_by_role("button", name="Transfer", exact=True).click()


def _wait_until(page: Any, condition: Callable[[], bool], timeout_ms: int = 10_000) -> None:
    """Let Playwright dispatch events (socket route callbacks) until ``condition()`` holds."""
    waited = 0
    while not condition():
        if waited >= timeout_ms:
            raise AssertionError("condition not met in time")
        page.wait_for_timeout(50)
        waited += 50


def _youth_envelopes(socket: YouthSocket) -> list[dict[str, Any]]:
    return [f["envelope"] for f in socket.sent if f.get("type") == "envelope"]


def test_cold_transfer_to_a_colleague_moves_the_chat_to_a_new_segment(
    contexts: Contexts, server: Server, counsellor: StaffAccount
) -> None:
    staff_a, panel_a, youth, socket, _ = _connected_chat(contexts, server, counsellor)
    colleague = _staff(server, "counsellor2", "Ali")
    staff_b = contexts.page()
    open_console(staff_b, server, colleague)

    _transfer(panel_a, target=f"staff:{colleague.staff_id}", mode="cold")

    # A's pane closes at once and keeps nothing; the young person is told who took over.
    handed_over(staff_a)
    expect(staff_a.get_by_role("status").filter(has_text="handed over to Ali")).to_be_visible()
    wait_paired(youth, "Ali")
    expect(youth.get_by_text("You are now talking with Ali.")).to_be_visible()
    panel_b = staff_b.locator("[data-chat]")
    expect(panel_b).to_have_count(1)
    expect(panel_b.get_by_role("textbox", name="Message")).to_be_enabled()

    send(youth, "Är du kvar?")
    expect(panel_b.locator(".message-body")).to_have_text(["Är du kvar?"])
    send(staff_b, "Hej, jag heter Ali.", panel_b)
    # Earlier segments stay readable on the youth page (their keys are kept in memory).
    expect(youth.locator("[role=log] .message-body")).to_have_text(
        ["Hej, det är jag.", "Hej, Sara här.", "Är du kvar?", "Hej, jag heter Ali."]
    )
    expect(youth.locator(".message-pending")).to_have_count(0)
    expect(panel_b.locator(".message-pending")).to_have_count(0)
    # B reads the new segment only; A never shows any of it.
    assert "Hej, det är jag." not in bodies(panel_b)
    staff_a.wait_for_timeout(300)
    assert "Är du kvar?" not in staff_a.content()
    assert "Hej, jag heter Ali." not in staff_a.content()

    # The earlier part with Sara reaches Ali only if the young person says yes (CRYPTO.md §5).
    consent = youth.locator("[data-history-consent]")
    expect(consent).to_contain_text("Let the counsellor, Ali, read the earlier part of this chat?")
    assert "Hej, det är jag." not in bodies(panel_b)
    consent.get_by_role("button", name="Yes, let Ali read it").click()
    expect(consent).to_contain_text("Shared.")
    shared = panel_b.locator("[data-shared-history]")
    expect(shared.get_by_role("heading")).to_have_text(
        "Earlier part of this chat (shared by the young person)"
    )
    expect(shared).to_contain_text("Hej, det är jag.")
    expect(shared).to_contain_text("Hej, Sara här.")
    share = next(f for f in socket.sent if f.get("type") == "share_history")
    assert share["locator"] is None
    assert [(i["conv"], i["seg"]) for i in share["segments"]] == [(share["conv"], 0)]

    # On the wire: a rekey in segment 0 (old key) after the new pairing, new keys for segment
    # 1, and segment 1 sent by a new instance from seq 1.
    paired = [f for f in socket.received if f.get("type") == "paired"]
    assert [p["seg"] for p in paired] == [0, 1]
    assert paired[1]["counsellor"]["alias"] == "Ali"
    keys = [f for f in socket.sent if f.get("type") == "keys"]
    assert [k["seg"] for k in keys] == [0, 1]
    envelopes = _youth_envelopes(socket)
    old = [e for e in envelopes if e["seg"] == 0]
    new = [e for e in envelopes if e["seg"] == 1]
    assert [e["seq"] for e in old] == [1, 2]  # "Hej, det är jag." and the rekey
    assert [e["seq"] for e in new] == [1]
    assert new[0]["inst"] != old[0]["inst"]
    order = [f.get("type") for f in socket.sent]
    rekey_at = next(i for i, f in enumerate(socket.sent) if f.get("envelope") == old[1])
    assert rekey_at < order.index("keys", order.index("keys") + 1)

    # And back to Sara: a fresh panel on her console that reads only the new segment 2.
    _transfer(panel_b, target=f"staff:{counsellor.staff_id}", mode="cold")
    handed_over(staff_b)
    panel_a = staff_a.locator("[data-chat]")
    expect(panel_a).to_have_count(1)
    expect(panel_a.get_by_text("Chat passed to you.")).to_be_visible()
    expect(youth.get_by_text("You are now talking with Sara.")).to_be_visible()
    wait_paired(youth, "Sara")
    send(youth, "Hej igen Sara")
    expect(panel_a.locator(".message-body")).to_have_text(["Hej igen Sara"])
    assert [p["seg"] for p in socket.received if p.get("type") == "paired"] == [0, 1, 2]


def test_warm_transfer_with_a_sealed_note_declined_then_accepted(
    contexts: Contexts, server: Server, counsellor: StaffAccount
) -> None:
    staff_a, panel_a, youth, _, _ = _connected_chat(contexts, server, counsellor)
    colleague = _staff(server, "counsellor2", "Ali")
    staff_b = contexts.page()
    frames_b = _frames(staff_b, "/ws/staff")
    open_console(staff_b, server, colleague)
    note = "Hon vill helst skriva på arabiska. <b>inte HTML</b>"

    _transfer(panel_a, target=f"staff:{colleague.staff_id}", mode="warm", note=note)
    expect(panel_a.get_by_text("Offered to Ali. Waiting for their answer…")).to_be_visible()
    offer = staff_b.locator("[data-offer]")
    expect(offer).to_have_count(1)
    expect(offer.get_by_role("heading")).to_contain_text("young person, sv")
    # The note opened with B's device key, shown as text.
    expect(offer.locator("[data-offer-note]")).to_have_text(f"Note: {note}")
    assert offer.locator("b").count() == 0
    # The server relayed only the sealed note.
    sealed = next(f for f in frames_b if f.get("type") == "offer")["note"]
    assert "arabiska" not in sealed
    assert b"arabiska" not in b64.decode(sealed)

    offer.get_by_role("button", name="Decline").click()
    expect(offer).to_have_count(0)
    expect(staff_b.get_by_role("status").filter(has_text="You declined")).to_be_visible()
    expect(
        panel_a.get_by_text("Not transferred: they declined. The chat stays with you.")
    ).to_be_visible()
    expect(staff_b.locator("[data-chat]")).to_have_count(0)
    # A keeps the chat: it goes on as before.
    send(youth, "Fortfarande Sara?")
    expect(panel_a.locator(".message-body").last).to_have_text("Fortfarande Sara?")

    _transfer(panel_a, target=f"staff:{colleague.staff_id}", mode="warm", note="Andra försöket.")
    expect(offer).to_have_count(1)
    expect(offer.locator("[data-offer-note]")).to_have_text("Note: Andra försöket.")
    offer.get_by_role("button", name="Accept").click()
    expect(offer).to_have_count(0)
    panel_b = staff_b.locator("[data-chat]")
    expect(panel_b).to_have_count(1)
    handed_over(staff_a)
    wait_paired(youth, "Ali")
    expect(youth.get_by_text("You are now talking with Ali.")).to_be_visible()
    send(youth, "Hej Ali")
    expect(panel_b.locator(".message-body")).to_have_text(["Hej Ali"])
    send(staff_b, "Hej! Sara berättade lite.", panel_b)
    expect(youth.locator("[role=log] .message-body").last).to_have_text("Hej! Sara berättade lite.")


def test_cold_transfer_to_a_skill_queue_requeues_then_pairs_again(
    contexts: Contexts, server: Server, counsellor: StaffAccount
) -> None:
    staff_a, panel_a, youth, socket, _ = _connected_chat(contexts, server, counsellor)

    # Warm to a queue nobody on duty can serve: refused, the chat stays.
    _transfer(panel_a, target="queue", mode="warm", kind="youth", skill="police")
    expect(
        panel_a.get_by_text("Not transferred: no one on duty can take it now.", exact=False)
    ).to_be_visible()
    expect(panel_a.get_by_role("button", name="Transfer…")).to_be_enabled()

    # Cold there: refused until the counsellor confirms (issue 9 item 5).
    _transfer(panel_a, target="queue", mode="cold", kind="youth", skill="police")
    expect(
        panel_a.get_by_text("nobody else on duty can serve that queue", exact=False)
    ).to_be_visible()
    _transfer(panel_a, target="queue", mode="cold", kind="youth", skill="police", confirm=True)
    handed_over(staff_a)
    expect(staff_a.get_by_role("status").filter(has_text="went back to the queue")).to_be_visible()
    expect(
        youth.get_by_text("Your chat is being passed to another counsellor").first
    ).to_be_visible()
    status = youth.locator("[data-chat-status]")
    expect(status).to_contain_text("You are number 1 in the queue")
    expect(youth.get_by_role("textbox", name="Message")).to_be_disabled()
    # The transcript stays.
    assert bodies(youth) == ["Hej, det är jag.", "Hej, Sara här."]

    # A dropped connection while waiting again resumes into the same waiting chat.
    socket.route.close(code=1012, reason="restarting")
    _wait_until(youth, lambda: any(f.get("type") == "resumed" for f in socket.received))
    resumed = next(f for f in socket.received if f.get("type") == "resumed")
    assert resumed.get("requeued") is True
    expect(status).to_contain_text("number 1 in the queue")
    expect(youth.get_by_role("textbox", name="Message")).to_be_disabled()
    assert "sync" not in socket.sent_types()

    police = _staff(server, "counsellor3", "Nora", skills=["youth", "police"])
    staff_c = contexts.page()
    open_console(staff_c, server, police)
    wait_paired(youth, "Nora")
    expect(youth.get_by_text("You are now talking with Nora.")).to_be_visible()
    panel_c = staff_c.locator("[data-chat]")
    expect(panel_c).to_have_count(1)
    send(youth, "Hej Nora")
    expect(panel_c.locator(".message-body")).to_have_text(["Hej Nora"])
    send(staff_c, "Hej, Nora här.", panel_c)
    expect(youth.locator("[role=log] .message-body").last).to_have_text("Hej, Nora här.")
    assert [f["seg"] for f in socket.received if f.get("type") == "paired"] == [0, 1]
    assert "Hej Nora" not in staff_a.content()

    # Going off duty with the chat still open: the console asks to transfer or finish it.
    staff_c.get_by_role("button", name="Go off duty").click()
    alert = staff_c.locator("[data-open-chats]")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("still hold an open chat")
    expect(panel_c.get_by_label("Transfer to")).to_be_visible()


def test_a_note_is_never_sealed_to_an_uncertified_device(
    contexts: Contexts, server: Server, counsellor: StaffAccount
) -> None:
    """A server that swaps the colleague's device key gets no note and no transfer."""
    staff_a, panel_a, _, _, sent_a = _connected_chat(contexts, server, counsellor)
    colleague = _staff(server, "counsellor2", "Ali")
    staff_b = contexts.page()
    open_console(staff_b, server, colleague)
    impostor = b64.encode(hpke.public_key_bytes(hpke.generate_private_key()))

    def forge(route: Any) -> None:
        body = route.fetch().json()
        for c in body["colleagues"]:
            c["device"]["hpke_public_key"] = impostor
        route.fulfill(json=body)

    staff_a.route("**/staff/api/colleagues", forge)
    _transfer(panel_a, target=f"staff:{colleague.staff_id}", mode="warm", note="hemligt")
    expect(panel_a.get_by_text("could not be verified")).to_be_visible()
    expect(staff_b.locator("[data-offer]")).to_have_count(0)
    expect(staff_a.locator("[data-chat]")).to_have_count(1)
    assert [f for f in sent_a if f.get("type") == "transfer"] == []
    # The same colleague with their real certified device gets it.
    staff_a.unroute("**/staff/api/colleagues")
    panel_a.get_by_role("button", name="Cancel").click()  # opening again reloads the list
    _transfer(panel_a, target=f"staff:{colleague.staff_id}", mode="warm", note="hemligt")
    expect(staff_b.locator("[data-offer-note]")).to_have_text("Note: hemligt")
    assert len([f for f in sent_a if f.get("type") == "transfer"]) == 1


NOTE_SCRIPT = """
async ({ pub, conv, device, text, service, colleague, now }) => {
  const n = await import("/static/js/crypto/note.js");
  const t = await import("/static/js/staff/transfer.js");
  const b = await import("/static/js/crypto/bytes.js");
  const sealed = await n.sealNote(
    b.b64urlDecode(pub), text, b.b64urlDecode(conv), b.b64urlDecode(device),
  );
  const checks = {};
  for (const [name, who] of Object.entries(colleague)) {
    try {
      await t.verifiedColleagueDevice(b.b64urlDecode(service), who, now);
      checks[name] = "ok";
    } catch (error) {
      checks[name] = "refused";
    }
  }
  return { sealed: b.b64urlEncode(sealed), checks };
}
"""


def test_the_note_layout_matches_protocol_section_7(contexts: Contexts, server: Server) -> None:
    """crypto/note.js seals exactly what PROTOCOL.md §7.1 says (opened here with the Python
    HPKE), and staff/transfer.js seals only to a device certified for that colleague."""
    now = int(time.time())
    service = ecdsa.generate_private_key()
    device_key = hpke.generate_private_key()
    staff_id, other_staff, device_id, conv = (secrets.token_bytes(16) for _ in range(4))
    hpke_pub = hpke.public_key_bytes(device_key)
    sig_pub = ecdsa.public_key_bytes(ecdsa.generate_private_key())
    not_after = now + 86400

    def colleague(staff: bytes, signer: Any = service) -> dict[str, Any]:
        cert = certs.issue_device_cert(signer, staff, device_id, hpke_pub, sig_pub, not_after)
        device = {
            "staff_id": b64.encode(staff),
            "device_id": b64.encode(device_id),
            "hpke_public_key": b64.encode(hpke_pub),
            "sig_public_key": b64.encode(sig_pub),
            "not_after": not_after,
            "certificate": b64.encode(cert),
        }
        return {"staff_id": b64.encode(staff_id), "alias": "Ali", "device": device}

    page = contexts.page()
    page.goto(server.base_url + "/staff")
    text = "Hon vill helst skriva på arabiska ✓"
    out = page.evaluate(
        NOTE_SCRIPT,
        {
            "pub": b64.encode(hpke_pub),
            "conv": b64.encode(conv),
            "device": b64.encode(device_id),
            "text": text,
            "service": b64.encode(ecdsa.public_key_bytes(service)),
            "colleague": {
                "certified": colleague(staff_id),
                "other_staff": colleague(other_staff),
                "other_signer": colleague(staff_id, ecdsa.generate_private_key()),
            },
            "now": now,
        },
    )
    assert out["checks"] == {
        "certified": "ok",
        "other_staff": "refused",
        "other_signer": "refused",
    }
    sealed = b64.decode(out["sealed"])
    info = b"vh/v1/note|" + conv + device_id
    plaintext = hpke.open(device_key, sealed, info, b"")
    assert len(plaintext) % 256 == 0
    assert json.loads(unpad(plaintext)) == {"type": "note", "body": text}
    # The Python twin (app/crypto/note.py) opens it alike.
    assert note.open_note(device_key, sealed, conv, device_id) == text
    # Bound to the conversation and the device: any other info does not open it.
    for wrong in (b"vh/v1/note|" + secrets.token_bytes(16) + device_id, b"vh/v1/wrap|C|" + conv):
        with pytest.raises(hpke.HpkeError):
            hpke.open(device_key, sealed, wrong, b"")

"""Delivery that cannot lie, in the real pages (PROTOCOL.md §4, SECURITY R-26; issue 9 items 7, 9).

A message shows as delivered only when its own (seg, inst, seq) is acknowledged; an envelope
re-spelled with bits ``atob`` ignores is one envelope, shown once; a forged envelope with a
high seq does not block the real stream, because a stream moves on only after a decrypt.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from app.chat.envelope import SeqSet
from app.kit import b64
from tests.conftest import Server, StaffAccount
from tests.e2e.conftest import Contexts
from tests.e2e.pages import YouthSocket, open_console, send, start_youth_chat, wait_paired

pytestmark = pytest.mark.browser

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _chat(contexts: Contexts, server: Server, counsellor: StaffAccount) -> tuple[Any, Any, Any]:
    youth = contexts.page()
    socket = YouthSocket(youth)
    staff = contexts.page()
    open_console(staff, server, counsellor)
    start_youth_chat(youth, server)
    wait_paired(youth)
    panel = staff.locator("[data-chat]")
    expect(panel.get_by_role("textbox", name="Message")).to_be_enabled()
    return youth, socket, panel


def _wait_until(page: Any, condition: Callable[[], bool], timeout_ms: int = 10_000) -> None:
    waited = 0
    while not condition():
        assert waited < timeout_ms, "condition not met in time"
        page.wait_for_timeout(50)
        waited += 50


def _spellings(text: str) -> list[str]:
    """Every spelling of a 16-byte base64url value that atob decodes to the same bytes."""
    high = ALPHABET.index(text[-1]) & 0b110000
    return [text[:-1] + ALPHABET[high | low] for low in range(16)]


def test_a_message_is_delivered_only_by_its_own_ack(
    contexts: Contexts, server: Server, counsellor: StaffAccount
) -> None:
    """R-26: A message is delivered only by its own ack."""
    youth, socket, panel = _chat(contexts, server, counsellor)
    socket.hold_types.add("ack")
    send(youth, "Först")
    send(youth, "Sedan")
    _wait_until(youth, lambda: len(socket.held) == 2)
    expect(panel.locator(".message-body")).to_have_text(["Först", "Sedan"])  # both stored
    first, second = socket.held
    assert [json.loads(a)["seq"] for a in (first, second)] == [1, 2]

    socket.route.send(second)  # the ack of seq 2 says nothing about seq 1
    pending = youth.locator(".message-own.message-pending .message-body")
    expect(pending).to_have_text(["Först"])
    socket.route.send(first)
    expect(youth.locator(".message-pending")).to_have_count(0)


def test_respelled_and_forged_envelopes_neither_repeat_nor_block_the_stream(
    contexts: Contexts, server: Server, counsellor: StaffAccount
) -> None:
    youth, socket, panel = _chat(contexts, server, counsellor)
    send(panel.page, "Hej, jag heter Sara.", panel)
    log = youth.locator("[role=log] .message-body")
    expect(log).to_have_text(["Hej, jag heter Sara."])
    real = next(
        f["envelope"]
        for f in socket.received
        if f.get("type") == "envelope" and f["envelope"]["role"] == "C"
    )

    # One envelope, spelled 16 ways (its inst's ignored bits), each delivered twice.
    spellings = _spellings(real["inst"])
    assert len(set(spellings)) == 16
    assert real["inst"] in spellings
    for inst in spellings * 2:
        socket.route.send(json.dumps({"type": "envelope", "envelope": {**real, "inst": inst}}))
    # A forged envelope far ahead on the real stream: it cannot be opened.
    forged = {**real, "seq": real["seq"] + 50}
    socket.route.send(json.dumps({"type": "envelope", "envelope": forged}))
    socket.route.send(json.dumps({"type": "envelope", "envelope": forged}))

    send(panel.page, "Berätta mer.", panel)
    expect(log).to_have_text(["Hej, jag heter Sara.", "Berätta mer."])
    notices = youth.get_by_text("A message could not be decrypted.")
    expect(notices).to_have_count(1)  # the forged one, once
    youth.wait_for_timeout(500)
    expect(log).to_have_text(["Hej, jag heter Sara.", "Berätta mer."])


def test_a_gap_is_fetched_by_a_sync_and_reported_when_it_cannot_be_filled(
    contexts: Contexts, server: Server, counsellor: StaffAccount
) -> None:
    youth, socket, panel = _chat(contexts, server, counsellor)
    socket.hold_types.add("envelope")
    for text in ("Ett", "Två", "Tre"):
        send(panel.page, text, panel)
    _wait_until(youth, lambda: len(socket.held) == 3)
    first, _lost, third = socket.held
    socket.held.clear()
    socket.route.send(first)
    socket.route.send(third)  # "Två" went missing on the way
    log = youth.locator("[role=log] .message-body")
    expect(log).to_have_text(["Ett", "Tre"])

    # The page asks for what is missing, with its prefix as the cursor (it holds 1, and 3).
    _wait_until(youth, lambda: any(f.get("type") == "sync" for f in socket.sent))
    sync = next(f for f in socket.sent if f.get("type") == "sync")
    counsellor_stream = json.loads(third)["envelope"]
    cursor = next(c for c in sync["have"] if c["inst"] == counsellor_stream["inst"])
    assert cursor["seq"] == 1
    # The replay is lost too (held here): after `synced` the page says so, once.
    expect(youth.get_by_text("1 message could not be delivered.")).to_be_visible()
    assert [json.loads(m)["envelope"]["seq"] for m in socket.held] == [2, 3]

    socket.release()  # it arrives after all: shown once, the repeat of "Tre" dropped
    expect(log).to_have_text(["Ett", "Tre", "Två"])
    youth.wait_for_timeout(300)
    expect(log).to_have_text(["Ett", "Tre", "Två"])
    expect(youth.get_by_text("1 message could not be delivered.")).to_have_count(1)


TWIN_SCRIPT = """
async ({ runs, spellings }) => {
  const delivery = await import("/static/js/chat/delivery.js");
  const bytes = await import("/static/js/crypto/bytes.js");
  const results = runs.map((seqs) => {
    const held = new delivery.SeqSet();
    const added = seqs.map((seq) => held.add(seq));
    return { added, prefix: held.prefix, beyond: [...held.beyond].sort((a, b) => a - b),
             missing: held.missing() };
  });
  const canonical = spellings.map((text) => bytes.isB64url(text));
  const decodes = spellings.map((text) => {
    try { bytes.b64urlDecode(text); return true; } catch { return false; }
  });
  return { results, canonical, decodes };
}
"""


def test_the_pages_stream_tracking_and_base64url_are_the_python_ones(
    contexts: Contexts, server: Server
) -> None:
    """``chat/delivery.js`` ``SeqSet`` and ``crypto/bytes.js`` against their Python twins."""
    rng = random.Random(9)
    runs = [[rng.randint(1, 30) for _ in range(rng.randint(0, 40))] for _ in range(200)]
    spellings = [
        b64.encode(os.urandom(n))[:-1] + c for n in (1, 2, 3, 16, 32) for c in ALPHABET
    ] + ["", "A", "A===", "AB+/"]
    page = contexts.page()
    page.goto(server.base_url + "/en/chat")
    out = page.evaluate(TWIN_SCRIPT, {"runs": runs, "spellings": spellings})
    for seqs, got in zip(runs, out["results"], strict=True):
        held = SeqSet()
        assert got["added"] == [held.add(seq) for seq in seqs]
        assert (got["prefix"], got["beyond"], got["missing"]) == (
            held.prefix,
            sorted(held.beyond),
            held.missing(),
        )
    python = [b64.is_b64url(text) for text in spellings]
    assert out["canonical"] == python
    assert out["decodes"] == python

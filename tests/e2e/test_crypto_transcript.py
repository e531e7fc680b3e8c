"""Transcript signatures in the browser (issue 13 (5), PROTOCOL.md §6.6): crypto/transcript.js
against the golden file byte for byte, signatures the browser makes verify in Python, the real
console signs at close and the Python young person's client verifies it, and the young
person's page says so when a counsellor message the device did not sign is shown."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from playwright.sync_api import expect

from app.client import CounsellorClient, YouthClient
from app.client.api import login
from app.client.envelopes import Sender
from app.crypto import transcript
from app.kit import b64
from tests.conftest import Server, StaffAccount, _enrol_code
from tests.e2e.conftest import Contexts
from tests.e2e.pages import open_console, send, start_youth_chat, wait_paired
from tests.vectors import GOLDEN_PATH, load

pytestmark = pytest.mark.browser

GOLDEN_SCRIPT = """
async (g) => {
  const t = await import("/static/js/crypto/transcript.js");
  const b = await import("/static/js/crypto/bytes.js");
  const sign = await import("/static/js/crypto/sign.js");
  const d = b.b64urlDecode, enc = b.b64urlEncode;
  const conv = d(g.conv), seg = g.seg, tr = g.transcript;
  const held = new Map();
  const out = { digests: [] };
  for (const entry of tr.envelopes) {
    const e = entry.envelope;
    const digest = await t.digestOfEnvelope(e);
    out.digests.push(enc(digest));
    held.set(t.idOf(e.role, e.inst, e.seq), { role: e.role, inst: e.inst, seq: e.seq, digest });
  }
  const items = [...held.values()];
  const T = await t.transcriptDigest(conv, seg,
    items.map((i) => ({ ...i, inst: d(i.inst) })).reverse());
  out.digest = enc(T);
  out.message = enc(t.signatureMessage(conv, seg, items.length, T));
  out.covers = t.coversOf(items);
  out.parsed = [...t.parseCovers(tr.covers)].sort();
  out.ids = [...held.keys()].sort();
  const sigPub = d(g.device.sig.public);
  out.golden_verifies = await t.verifyTranscript(sigPub, conv, seg, tr.n, T, d(tr.signature));
  const frame = { type: "transcript_sig", conv: g.conv, seg, n: tr.n, digest: tr.digest,
                  sig: tr.signature, covers: tr.covers };
  out.check = (await t.checkSignature(frame, held, sigPub)).status;
  const changed = new Map(held);
  const first = [...changed.keys()][0];
  changed.set(first, { ...changed.get(first), digest: new Uint8Array(32) });
  out.check_changed = (await t.checkSignature(frame, changed, sigPub)).status;
  const fewer = new Map(held);
  fewer.delete(first);
  out.check_fewer = (await t.checkSignature(frame, fewer, sigPub)).status;
  out.check_other_seg = (await t.checkSignature({ ...frame, seg: seg + 1 }, held, sigPub)).status;
  const other = await sign.generateSigningKeyPair();
  out.check_other_key = (await t.checkSignature(frame, held,
    await sign.publicKeyBytes(other.publicKey))).status;
  const signer = await sign.importSigningKey(d(g.device.sig.pkcs8));
  out.browser_frame = await t.makeSignature(signer, g.conv, seg, held);
  return out;
}
"""


def test_browser_reproduces_the_golden_transcript_and_python_verifies_its_signature(
    contexts: Contexts, server: Server
) -> None:
    g = load(GOLDEN_PATH)
    t = g["transcript"]
    page = contexts.page()
    page.goto(server.base_url + "/en/chat")
    out: dict[str, Any] = page.evaluate(GOLDEN_SCRIPT, g)

    assert out["digests"] == [entry["digest"] for entry in t["envelopes"]]
    assert out["digest"] == t["digest"]
    assert out["message"] == t["message"]
    assert out["covers"] == t["covers"]
    assert out["parsed"] == out["ids"]
    assert out["golden_verifies"] is True
    assert out["check"] == "ok"
    assert out["check_changed"] == "mismatch"
    assert out["check_fewer"] == "incomplete"
    assert out["check_other_seg"] == "mismatch"
    assert out["check_other_key"] == "mismatch"

    # The reverse direction: what the browser signs, Python verifies (ECDSA is randomised).
    frame = out["browser_frame"]
    assert frame["digest"] == t["digest"]
    assert frame["n"] == t["n"]
    assert frame["covers"] == t["covers"]
    conv = b64.decode(g["conv"])
    transcript.verify_transcript(
        b64.decode(g["device"]["sig"]["public"]),
        conv,
        g["seg"],
        frame["n"],
        b64.decode(frame["digest"]),
        b64.decode(frame["sig"]),
    )
    assert frame["sig"] != t["signature"]  # made in the browser, not copied


async def _youth_until_closed(base_url: str, service_key: bytes) -> list[tuple[int, str]]:
    """The Python young person: says hello, waits for the reply and for the console's close,
    and returns its checks of the console's transcript signature."""
    youth = YouthClient(base_url, service_key=service_key)
    await youth.connect()
    try:
        await youth.join(language="sv", kind="youth")
        await youth.wait_connected(timeout=20)
        assert youth.sender is not None
        await youth.send_envelope(youth.sender.text_envelope(youth.key, "Hej från Python"))
        await youth.expect("ack")
        await youth.expect("envelope", timeout=20)
        await youth.expect("closed", timeout=30)
        return youth.transcript_checks
    finally:
        await youth.close()


def test_the_browser_consoles_signature_at_close_verifies_in_python(
    contexts: Contexts, server: Server, counsellor: StaffAccount, in_thread: Any
) -> None:
    staff = contexts.page()
    frames: list[dict[str, Any]] = []

    def on_socket(ws: Any) -> None:
        def sent(payload: str | bytes) -> None:
            if isinstance(payload, str) and '"transcript_sig"' in payload:
                frames.append(json.loads(payload))

        ws.on("framesent", sent)

    staff.on("websocket", on_socket)
    open_console(staff, server, counsellor)
    checks = in_thread(_youth_until_closed, server.base_url, server.service_key)
    panel = staff.locator("[data-chat]")
    expect(panel.locator(".message-body")).to_have_text(["Hej från Python"], timeout=20_000)
    send(staff, "Svar från konsolen", panel)
    expect(panel.locator(".message-pending")).to_have_count(0)
    panel.get_by_role("button", name="Close chat").click()
    panel.get_by_role("button", name="Close the chat").click()
    assert checks.result(timeout=30) == [(0, "ok")]
    frame = next(f for f in frames if f["seg"] == 0)
    assert frame["n"] == 2
    assert [c["role"] for c in frame["covers"]] == ["C", "Y"]


async def _python_counsellor(server: Server, account: StaffAccount, forge: bool) -> None:
    """A Python counsellor: takes the chat, answers, and (with ``forge``) lets a K holder that
    is not its device write one more counsellor message; then signs only its own holdings and
    closes."""
    credentials = await asyncio.to_thread(
        login, server.base_url, account.username, account.password, account.code()
    )
    staff = CounsellorClient(
        server.base_url, enrol_code=await _enrol_code(server.database, account.staff_id)
    )
    await staff.connect(credentials)
    try:
        await staff.duty(True)
        conv = str((await staff.wait_assigned(timeout=20))["conv"])
        key = await staff.wait_keys(conv, timeout=20)
        await staff.expect("envelope", timeout=30)  # the young person's first message
        await staff.send_envelope(staff.senders[conv].text_envelope(key, "Hej, jag heter Sara."))
        await staff.expect("ack")
        if forge:
            forger = Sender(conv=conv, role="C")  # someone else holding K
            forged = forger.text_envelope(key, "Ring mig på mitt privata nummer")
            await staff.send({"type": "envelope", "envelope": forged.as_dict()})  # not "held"
            await staff.expect("ack")
        await asyncio.sleep(0.5)  # the page shows the messages before the signature arrives
        await staff.close_chat(conv)
        await staff.expect("transcript_sig_stored")
    finally:
        await staff.close()


@pytest.mark.parametrize("forge", [False, True], ids=["honest", "forged"])
def test_the_young_persons_page_checks_the_counsellor_signature(
    contexts: Contexts, server: Server, counsellor: StaffAccount, in_thread: Any, forge: bool
) -> None:
    done = in_thread(_python_counsellor, server, counsellor, forge)
    page = contexts.page()
    start_youth_chat(page, server)
    wait_paired(page)
    send(page, "hej")
    expect(page.get_by_text("Hej, jag heter Sara.")).to_be_visible(timeout=20_000)
    done.result(timeout=40)
    expect(page.get_by_text("Sara ended the chat.")).to_be_visible(timeout=10_000)
    notice = page.get_by_text("A check of this chat did not match")
    if forge:
        expect(page.get_by_text("Ring mig på mitt privata nummer")).to_be_visible()
        expect(notice).to_be_visible()
        expect(notice).to_contain_text("Sara's device and this page do not have the same")
    else:
        expect(notice).to_have_count(0)

"""Sender authentication in the browser (issue 13 (5), PROTOCOL.md §6.7): crypto/youthsig.js
against the golden file, the page's own signatures verify in Python, and a K holder's role-Y
envelope is flagged by the young person's page and by the export, although the counsellor
device's transcript signature covers it."""

from __future__ import annotations

import asyncio
import json
import queue
import re
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.client import CounsellorClient, YouthClient
from app.client.api import login
from app.client.envelopes import Sender
from app.crypto import youthsig
from app.kit import b64
from app.models import Conversation, Envelope, Ticket
from tests.conftest import Server, StaffAccount, _enrol_code
from tests.e2e.conftest import Contexts
from tests.e2e.pages import YouthSocket, open_console, send, start_youth_chat, wait_paired
from tests.transcripts.test_real_chat import PASSPHRASE, _vhouse
from tests.transcripts.world import in_transaction
from tests.vectors import GOLDEN_PATH, load

pytestmark = pytest.mark.browser

GOLDEN_SCRIPT = """
async (g) => {
  const y = await import("/static/js/crypto/youthsig.js");
  const b = await import("/static/js/crypto/bytes.js");
  const t = await import("/static/js/crypto/transcript.js");
  const sign = await import("/static/js/crypto/sign.js");
  const d = b.b64urlDecode, enc = b.b64urlEncode;
  const ys = g.youth_signature, e = ys.envelope;
  const out = {};
  out.digest = enc(await t.digestOfEnvelope(e));
  out.message = enc(y.signatureMessage(await t.digestOfEnvelope(e)));
  out.golden = await y.verifySigned(ys.key.public, e);
  out.other_seq = await y.verifySigned(ys.key.public, { ...e, seq: e.seq + 1 });
  out.as_counsellor = await y.verifySigned(ys.key.public, { ...e, role: "C" });
  out.unsigned = await y.verifySigned(ys.key.public, { ...e, sig: undefined });
  const other = await y.makeYouthKey();
  out.other_key = await y.verifySigned(other.pub, e);
  out.extractable = other.privateKey.extractable;
  const signer = await sign.importSigningKey(d(ys.key.pkcs8));
  const { sig, ...bare } = e;
  out.browser = await y.signed(signer, bare);
  out.fresh = await y.signed(other.privateKey, bare);
  out.fresh_pub = other.pub;
  return out;
}
"""


def test_browser_reproduces_the_golden_youth_signature_and_python_verifies_its_own(
    contexts: Contexts, server: Server
) -> None:
    """R-4: the page's envelope signature matches the known answers, and a signature the
    browser makes (with the golden key, and with a fresh non-extractable one) verifies in
    Python."""
    g = load(GOLDEN_PATH)
    ys = g["youth_signature"]
    page = contexts.page()
    page.goto(server.base_url + "/en/chat")
    out: dict[str, Any] = page.evaluate(GOLDEN_SCRIPT, g)

    assert out["digest"] == ys["digest"]
    assert out["message"] == ys["message"]
    assert out["golden"] is True
    assert [out["other_seq"], out["as_counsellor"], out["unsigned"], out["other_key"]] == [
        False
    ] * 4
    assert out["extractable"] is False  # the page's key never leaves WebCrypto
    conv, e = b64.decode(g["conv"]), ys["envelope"]
    args = (conv, e["seg"], b64.decode(e["inst"]), e["seq"], b64.decode(e["ct"]))
    for made, pub in ((out["browser"], ys["key"]["public"]), (out["fresh"], out["fresh_pub"])):
        assert made["sig"] != e["sig"]  # randomised ECDSA: made in the browser, not copied
        assert youthsig.verify_envelope(b64.decode(pub), *args, b64.decode(made["sig"]))


FORGED = "Jag vill inte ha mer hjälp, stäng mitt ärende"


async def _forging_counsellor(
    server: Server,
    account: StaffAccount,
    handed: queue.Queue[dict[str, Any]],
    may_close: threading.Event,
) -> None:
    """A Python counsellor holding K: writes a role-Y envelope of its own into the store (as
    a K holder who can write to the database), holds it as received so that its device's
    transcript signature at close covers it, answers, hands the forgery to the test (which
    relays it to the page), and when told closes the chat, signing."""
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
        forged = Sender(conv=conv, role="Y").text_envelope(key, FORGED)

        async def store(session: AsyncSession) -> None:
            session.add(
                Envelope(
                    conv_id=conv,
                    seg=forged.seg,
                    role="Y",
                    inst=forged.inst,
                    seq=forged.seq,
                    ct=forged.ct,
                )
            )

        await asyncio.to_thread(in_transaction, server.database, store)
        staff.envelopes.append(forged)  # the device signs it with the rest
        await staff.send_envelope(staff.senders[conv].text_envelope(key, "Hej, jag heter Sara."))
        await staff.expect("ack")
        handed.put({"type": "envelope", "envelope": forged.as_dict()})
        assert await asyncio.to_thread(may_close.wait, 40)
        await staff.close_chat(conv)
        await staff.expect("transcript_sig_stored")
    finally:
        await staff.close()


def test_a_k_holders_young_person_message_is_flagged_by_the_page_and_the_export(
    contexts: Contexts,
    server: Server,
    counsellor: StaffAccount,
    in_thread: Any,
    tmp_path: Path,
) -> None:
    """R-4: a K holder (the counsellor's side, writing to the database) forges a role-Y
    envelope before the counsellor's device signs the transcript. The young person's page,
    which knows what it sent, shows it marked "Not written by you" with a calm notice; the
    export, checking each role-Y envelope against the key the page sent in ``join``, marks it
    not from the young person's page while the page's own message is verified."""
    period_file = tmp_path / "custody" / "period.pem"
    made = _vhouse(
        server,
        *("keys", "new-period", "--out", str(period_file), "--passphrase-stdin"),
        stdin=PASSPHRASE + "\n",
    )
    assert made.returncode == 0, made.stderr

    handed: queue.Queue[dict[str, Any]] = queue.Queue()
    may_close = threading.Event()
    done: Future[None] = in_thread(_forging_counsellor, server, counsellor, handed, may_close)
    page = contexts.page()
    socket = YouthSocket(page)
    start_youth_chat(page, server)
    wait_paired(page)
    send(page, "hej")
    expect(page.get_by_text("Hej, jag heter Sara.")).to_be_visible(timeout=20_000)
    forged = handed.get(timeout=40)
    socket.route.send(json.dumps(forged))  # relayed as a server would relay it

    log = page.locator("[role=log]")
    flagged = log.locator(".message-not-you")
    expect(flagged).to_have_count(1)
    expect(flagged).to_contain_text("Not written by you")
    expect(flagged).to_contain_text(FORGED)
    expect(log.get_by_text("A message in your name appeared that was not written")).to_have_count(1)
    expect(log.locator(".message-own")).to_have_count(1)  # "hej", the page's own

    # The page sent its key in the join, and signed what it sent.
    join = next(f for f in socket.sent if f.get("type") == "join")
    own = [f["envelope"] for f in socket.sent if f.get("type") == "envelope"]
    assert own
    assert all(e["role"] == "Y" and len(e["sig"]) == 86 for e in own)

    async def stored_key(session: AsyncSession) -> str | None:
        conv = forged["envelope"]["conv"]
        query = select(Ticket.youth_sig_key).join(Conversation).where(Conversation.id == conv)
        return (await session.execute(query)).scalar_one()

    with ThreadPoolExecutor(max_workers=1) as pool:  # Playwright's loop owns this thread
        assert pool.submit(in_transaction, server.database, stored_key).result() == join["sig_key"]

    # The counsellor closes; its device's signature covers the forgery too.
    may_close.set()
    done.result(timeout=40)
    expect(page.get_by_text("Sara ended the chat.")).to_be_visible(timeout=10_000)
    out = tmp_path / "transcript.json"
    conv = forged["envelope"]["conv"]
    exported = _vhouse(
        server,
        *("transcripts", "export", f"--conversation={conv}", "--period-key", str(period_file)),
        *("--format", "json", "--out", str(out), "--passphrase-stdin"),
        stdin=PASSPHRASE + "\n",
    )
    assert exported.returncode == 0, exported.stderr
    document = json.loads(out.read_text("utf-8"))
    marks = [
        (m["role"], m["body"]["body"], m["sender"])
        for m in document["messages"]
        if m["body"] and m["body"].get("type") == "text"
    ]
    assert ("Y", "hej", "verified") in marks
    assert ("Y", FORGED, "unsigned") in marks
    assert ("C", "Hej, jag heter Sara.", None) in marks
    assert document["not_from_youth_page"] == 1
    # Covered by the counsellor device's signature, and still flagged.
    assert [m["signed"] for m in document["messages"] if m["body"]["body"] == FORGED] == [True]


async def _youth_and_a_forger(base_url: str, service_key: bytes) -> None:
    """A Python young person (its page key sent in ``join``) writes one message; then someone
    holding K writes two under role Y: one signed with another key, one unsigned."""
    youth = YouthClient(base_url, service_key=service_key)
    await youth.connect()
    try:
        await youth.join(language="sv", kind="youth")
        await youth.wait_connected(timeout=20)
        assert youth.sender is not None
        await youth.send_envelope(youth.sender.text_envelope(youth.key, "Hej från min sida"))
        await youth.expect("ack")
        other = YouthClient(base_url, service_key=service_key)  # only its key is used
        forged = other.signed(youth.sender.text_envelope(youth.key, "Förfalskat med annan nyckel"))
        await youth.send_envelope(forged)  # already signed: sent as it is
        await youth.expect("ack")
        youth.sig_key = None  # the next one goes unsigned
        await youth.send_envelope(youth.sender.text_envelope(youth.key, "Förfalskat utan signatur"))
        await youth.expect("ack")
        await youth.expect("envelope", timeout=30)  # the console's answer: all were shown
    finally:
        await youth.close()


def test_the_console_does_not_show_a_k_holders_message_as_the_young_persons(
    contexts: Contexts, server: Server, counsellor: StaffAccount, in_thread: Any
) -> None:
    """R-4: the console checks each young person's message against the page key given with the
    pairing: one signed with another key, or unsigned, is shown as not from their page with a
    calm notice; the page's own message as the young person's."""
    staff = contexts.page()
    open_console(staff, server, counsellor)
    done = in_thread(_youth_and_a_forger, server.base_url, server.service_key)
    panel = staff.locator("[data-chat]")
    expect(panel.locator(".message-body")).to_have_count(3, timeout=20_000)
    flagged = panel.locator(".message-not-you")
    expect(flagged).to_have_count(2)
    expect(flagged.first).to_contain_text("Not from the young person's page")
    expect(flagged.first).to_contain_text("Förfalskat med annan nyckel")
    expect(flagged.last).to_contain_text("Förfalskat utan signatur")
    genuine = panel.locator(".message").filter(has_text="Hej från min sida")
    expect(genuine).to_contain_text("Young person")
    expect(genuine).not_to_have_class(re.compile(r"\bmessage-not-you\b"))
    expect(panel.get_by_text("was not signed by their page")).to_have_count(1)
    send(staff, "Jag ser det.", panel)
    done.result(timeout=40)

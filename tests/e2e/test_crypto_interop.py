"""The browser's message layer (crypto/message.js) against the reference vectors, and against
the Python reference client over a real server (CRYPTO.md §7)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from app.chat.envelope import parse_envelope
from app.client import YouthClient
from app.client.envelopes import open_text
from app.kit import b64
from tests.conftest import Server, StaffAccount
from tests.crypto.test_crypto import VECTORS
from tests.e2e.conftest import Contexts
from tests.e2e.pages import open_console, send

pytestmark = pytest.mark.browser

KAT_SCRIPT = """
async (vectors) => {
  const m = await import("/static/js/crypto/message.js");
  const b = await import("/static/js/crypto/bytes.js");
  const e = await import("/static/js/chat/envelopes.js");
  const d = b.b64urlDecode, enc = b.b64urlEncode;
  const K = d(vectors.segment_key), conv = d(vectors.conv), seg = vectors.seg;
  const out = { messages: [], refused: [] };
  for (const v of vectors.messages) {
    const inst = d(v.inst);
    const iv = await m.messageIv(K, conv, v.role, inst);
    const ct = await m.encryptMessage(K, conv, seg, v.role, inst, v.seq, v.plaintext_obj);
    out.messages.push({
      key: enc(await m.messageKey(K, conv, v.role, inst)),
      iv: enc(iv),
      nonce: enc(m.nonce(iv, v.seq)),
      aad: enc(m.aad(1, conv, seg, v.role, inst, v.seq)),
      plaintext: enc(m.pad(m.encodeBody(v.plaintext_obj))),
      ct: enc(ct),
      opened: await m.decryptMessage(K, conv, seg, v.role, inst, v.seq, d(v.ct)),
      opened_envelope: await e.openEnvelope(K, v.envelope),
    });
  }
  const v = vectors.messages[0];
  const tampered = [
    ["seq", { ...v.envelope, seq: v.seq + 1 }],
    ["role", { ...v.envelope, role: "C" }],
    ["seg", { ...v.envelope, seg: 1 }],
    ["conv", { ...v.envelope, conv: enc(new Uint8Array(16)) }],
    ["truncated", { ...v.envelope, ct: v.envelope.ct.slice(0, -4) }],
  ];
  for (const [name, envelope] of tampered) {
    try {
      await e.openEnvelope(K, envelope);
      out.refused.push([name, "opened"]);
    } catch (error) {
      out.refused.push([name, error.name]);
    }
  }
  const code = b.utf8(vectors.return_code.code);
  out.locator = enc(await m.hkdf(code, new Uint8Array(0), b.utf8("vh/v1/locator"), 16));
  out.commit = enc(await m.hkdf(K, new Uint8Array(0), b.utf8("vh/v1/commit"), 32));
  const sender = new e.Sender(vectors.conv, "Y");
  const mine = await sender.textEnvelope(K, "från webbläsaren <b>ü</b>");
  out.browser_envelope = mine;
  out.padded = [0, 253, 254, 255].map((n) => m.pad(new Uint8Array(n)).length);
  return out;
}
"""


def test_browser_reproduces_the_reference_vectors(contexts: Contexts, server: Server) -> None:
    page = contexts.page()
    page.goto(server.base_url + "/en/chat")
    out: dict[str, Any] = page.evaluate(KAT_SCRIPT, VECTORS)

    for got, want in zip(out["messages"], VECTORS["messages"], strict=True):
        for field in ("key", "iv", "nonce", "aad", "plaintext", "ct"):
            assert got[field] == want[field], field
        assert got["opened"] == want["plaintext_obj"]
        assert got["opened_envelope"] == want["plaintext_obj"]
    assert out["refused"] == [
        [name, "MessageError"] for name in ("seq", "role", "seg", "conv", "truncated")
    ]
    assert out["locator"] == VECTORS["return_code"]["locator"]
    assert out["commit"] == VECTORS["acceptance"]["commit"]
    assert out["padded"] == [256, 256, 256, 512]

    # The reverse direction: what the browser encrypts, Python opens.
    envelope = parse_envelope(out["browser_envelope"])
    assert envelope.seq == 1
    assert open_text(b64.decode(VECTORS["segment_key"]), envelope) == "från webbläsaren <b>ü</b>"


async def _python_youth(base_url: str, service_key: bytes, say: str, expect_reply: str) -> str:
    """The Python reference client as the young person, pinning the server's service key: join,
    seal K to the browser console's device, wait for its acceptance, say something, read the
    reply."""
    youth = YouthClient(base_url, service_key=service_key)
    await youth.connect()
    try:
        await youth.join(language="sv", kind="youth")
        await youth.wait_connected(timeout=20)
        assert youth.sender is not None
        key = youth.key
        await youth.send_envelope(youth.sender.text_envelope(key, say))
        await youth.expect("ack")
        while True:  # the console may say other things first; wait for the reply
            await youth.expect("envelope", timeout=20)
            text = open_text(key, youth.envelopes[-1])
            if text == expect_reply:
                return text
    finally:
        await youth.close()


def test_python_client_and_browser_console_read_each_other(
    contexts: Contexts, server: Server, counsellor: StaffAccount, in_thread: Any
) -> None:
    staff = contexts.page()
    open_console(staff, server, counsellor)
    said, reply = "Hej från Python-klienten ✓", "Svar från konsolen i webbläsaren ✓"
    future = in_thread(_python_youth, server.base_url, server.service_key, said, reply)
    panel = staff.locator("[data-chat]")
    expect(panel.locator(".message-body")).to_have_text([said], timeout=20_000)
    send(staff, reply, panel)
    assert future.result(timeout=30) == reply

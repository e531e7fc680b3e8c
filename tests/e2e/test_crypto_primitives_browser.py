"""The browser's CRYPTO.md primitives (crypto/hpke.js, sign.js, certs.js, returncode.js) in
Chromium: RFC 9180 A.3.1, the reference vectors of crypto-v1.json, the project golden file
tests/vectors/v1.json, the reverse direction opened and verified by Python ``cryptography`` and
by app/crypto/, and the refusals (CRYPTO.md §7)."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

from app.crypto import certs as py_certs
from app.crypto import hpke as py_hpke
from app.crypto import returncode as py_returncode
from app.kit import b64
from tests.conftest import Server
from tests.e2e.conftest import Contexts

# The browser's crypto alone: the embedded pass is enough (tests/conftest.py).
pytestmark = pytest.mark.stack_free

TESTS = Path(__file__).resolve().parents[1]
RFC9180_A3: dict[str, Any] = json.loads((TESTS / "vectors" / "rfc9180-a3.json").read_text("utf-8"))
#: The requirements folder sits beside the repository (locally and in CI), as in tests/client.
VECTORS: dict[str, Any] = json.loads(
    (TESTS.parents[1] / "shared" / "vectors" / "crypto-v1.json").read_text("utf-8")
)
#: A time at which the reference certificates are valid (unix seconds).
NOW = 1_780_000_000
SUITE = Suite(KEM.P256, KDF.HKDF_SHA256, AEAD.AES_256_GCM)

IMPORTS = """
  const b = await import("/static/js/crypto/bytes.js");
  const hpke = await import("/static/js/crypto/hpke.js");
  const sign = await import("/static/js/crypto/sign.js");
  const certs = await import("/static/js/crypto/certs.js");
  const rc = await import("/static/js/crypto/returncode.js");
  const d = b.b64urlDecode, enc = b.b64urlEncode;
  const hex = (s) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
  const toHex = (u) => Array.from(u, (x) => x.toString(16).padStart(2, "0")).join("");
  const refused = async (fn) => {
    try {
      await fn();
      return "accepted";
    } catch (error) {
      return error.name;
    }
  };
"""

RFC_SCRIPT = (
    "async (v) => {"
    + IMPORTS
    + """
  const info = hex(v.info), pkR = hex(v.pkRm);
  const ephemeral = await hpke.importKeyPair(hex(v.skEm), hex(v.pkEm));
  const recipient = { privateKey: (await hpke.importKeyPair(hex(v.skRm), pkR)).privateKey,
                      publicKey: pkR };
  const { sharedSecret, enc: encapsulated } = await hpke.encap(pkR, ephemeral);
  const schedule = await hpke.keySchedule(sharedSecret, info, { keyLength: 16 });
  const out = {
    enc: toHex(encapsulated),
    shared_secret: toHex(sharedSecret),
    decap: toHex(await hpke.decap(hex(v.enc), recipient)),
    key_schedule_context: toHex(schedule.keyScheduleContext),
    secret: toHex(schedule.secret),
    key: toHex(schedule.key),
    base_nonce: toHex(schedule.baseNonce),
    exporter_secret: toHex(schedule.exporterSecret),
    encryptions: [], opened: [], exports: [],
  };
  const sender = await hpke.setupBaseS(pkR, info, { keyLength: 16, ephemeral });
  const receiver = await hpke.setupBaseR(hex(v.enc), recipient, info, { keyLength: 16 });
  const wanted = new Map(v.encryptions.map((e) => [e.sequence_number, e]));
  const last = Math.max(...wanted.keys());
  for (let seq = 0; seq <= last; seq++) {
    const aad = b.utf8(`Count-${seq}`);
    const e = wanted.get(seq);
    const pt = e ? hex(e.pt) : b.utf8("filler");
    const nonce = sender.context.computeNonce(seq);
    const ct = await sender.context.seal(aad, pt);
    const back = await receiver.open(aad, ct);
    if (e) {
      out.encryptions.push({ sequence_number: seq, pt: e.pt, aad: toHex(aad),
                             nonce: toHex(nonce), ct: toHex(ct) });
      out.opened.push(toHex(back));
    }
  }
  for (const x of v.exports) {
    out.exports.push({ exporter_context: x.exporter_context, L: x.L,
      exported_value: toHex(await sender.context.export(hex(x.exporter_context), x.L)) });
  }
  const first = v.encryptions[0];
  const sealed = await hpke.seal(pkR, info, hex(first.aad), hex(first.pt),
                                 { keyLength: 16, ephemeral });
  out.single_shot = toHex(sealed);
  const opened = await hpke.open(recipient, b.concat(hex(v.enc), hex(first.ct)), info,
                                 hex(first.aad), { keyLength: 16 });
  out.single_shot_open = toHex(opened);
  out.wrong_key_length = await refused(() => hpke.seal(pkR, info, new Uint8Array(0),
                                                       new Uint8Array(1), { keyLength: 24 }));
  return out;
}"""
)


@pytest.mark.browser
def test_rfc9180_a3_base_mode(contexts: Contexts, server: Server) -> None:
    v = RFC9180_A3
    page = contexts.page()
    page.goto(server.base_url + "/en/chat")
    out: dict[str, Any] = page.evaluate(RFC_SCRIPT, v)
    for field in (
        "enc",
        "shared_secret",
        "key_schedule_context",
        "secret",
        "key",
        "base_nonce",
        "exporter_secret",
        "encryptions",
        "exports",
    ):
        assert out[field] == v[field], field
    assert out["decap"] == v["shared_secret"]
    assert out["opened"] == [e["pt"] for e in v["encryptions"]]
    assert out["single_shot"] == v["enc"] + v["encryptions"][0]["ct"]
    assert out["single_shot_open"] == v["encryptions"][0]["pt"]
    assert out["wrong_key_length"] == "TypeError"


def _labeled_extract(suite: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt or bytes(32), b"HPKE-v1" + suite + label + ikm, hashlib.sha256).digest()


def _labeled_expand(suite: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    labeled = length.to_bytes(2, "big") + b"HPKE-v1" + suite + label + info
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + labeled + bytes([counter]), hashlib.sha256).digest()
        out, counter = out + block, counter + 1
    return out[:length]


def test_rfc9180_a3_file_is_consistent() -> None:
    """The vector file, recomputed independently on Python ``cryptography`` (ECDH, HMAC, AES)."""
    v = RFC9180_A3
    h = bytes.fromhex
    kem, suite = b"KEM\x00\x10", b"HPKE\x00\x10\x00\x01\x00\x01"
    sk_e = ec.derive_private_key(int(v["skEm"], 16), ec.SECP256R1())
    sk_r = ec.derive_private_key(int(v["skRm"], 16), ec.SECP256R1())
    point = serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    assert sk_e.public_key().public_bytes(*point).hex() == v["pkEm"] == v["enc"]
    assert sk_r.public_key().public_bytes(*point).hex() == v["pkRm"]
    dh = sk_e.exchange(ec.ECDH(), sk_r.public_key())
    eae_prk = _labeled_extract(kem, b"", b"eae_prk", dh)
    shared = _labeled_expand(kem, eae_prk, b"shared_secret", h(v["enc"]) + h(v["pkRm"]), 32)
    assert shared.hex() == v["shared_secret"]
    context = (
        b"\x00"
        + _labeled_extract(suite, b"", b"psk_id_hash", b"")
        + _labeled_extract(suite, b"", b"info_hash", h(v["info"]))
    )
    assert context.hex() == v["key_schedule_context"]
    secret = _labeled_extract(suite, shared, b"secret", b"")
    assert secret.hex() == v["secret"]
    key = _labeled_expand(suite, secret, b"key", context, 16)
    base_nonce = _labeled_expand(suite, secret, b"base_nonce", context, 12)
    exporter = _labeled_expand(suite, secret, b"exp", context, 32)
    assert (key.hex(), base_nonce.hex(), exporter.hex()) == (
        v["key"],
        v["base_nonce"],
        v["exporter_secret"],
    )
    for e in v["encryptions"]:
        seq = e["sequence_number"]
        nonce = bytes(a ^ b for a, b in zip(base_nonce, seq.to_bytes(12, "big"), strict=True))
        assert nonce.hex() == e["nonce"]
        assert h(e["aad"]) == f"Count-{seq}".encode()
        assert AESGCM(key).encrypt(nonce, h(e["pt"]), h(e["aad"])).hex() == e["ct"]
    for x in v["exports"]:
        value = _labeled_expand(suite, exporter, b"sec", h(x["exporter_context"]), x["L"])
        assert value.hex() == x["exported_value"]


REFERENCE_SCRIPT = (
    "async ({ v, now }) => {"
    + IMPORTS
    + """
  const conv = d(v.conv), seg = v.seg, K = d(v.segment_key);
  const dev = v.device, per = v.period, service = d(v.service_key.public);
  const deviceMessage = certs.deviceCertMessage(d(dev.staff_id), d(dev.device_id),
    d(dev.hpke_public), d(dev.sig_public), dev.not_after);
  const periodMessage = certs.periodCertMessage(d(per.period_id), d(per.public),
    per.not_before, per.not_after);
  const out = {
    device_message: enc(deviceMessage),
    period_message: enc(periodMessage),
    device_signature: await sign.verify(service, deviceMessage, d(dev.cert_signature)),
    period_signature: await sign.verify(service, periodMessage, d(per.cert_signature)),
    device_cert: await refused(() => certs.verifyDeviceCert(service, d(dev.staff_id),
      d(dev.device_id), d(dev.hpke_public), d(dev.sig_public), dev.not_after,
      d(dev.cert_signature), now)),
    period_cert: await refused(() => certs.verifyPeriodCert(service, d(per.period_id),
      d(per.public), per.not_before, per.not_after, d(per.cert_signature), now)),
    info_counsellor: enc(certs.wrapInfoCounsellor(conv, seg, d(dev.device_id))),
    info_organisation: enc(certs.wrapInfoOrganisation(conv, seg, d(per.period_id))),
  };
  // The device opens with a non-extractable key and its public point, as stored in IndexedDB.
  const device = { privateKey: await hpke.importPrivateKey(d(dev.hpke_pkcs8)),
                   publicKey: d(dev.hpke_public) };
  out.counsellor_key = enc(await certs.openSegmentKeyAsDevice(device, d(v.wraps.counsellor.sealed),
    conv, seg, d(dev.device_id)));
  // The organisation's export tool may hold an extractable key: the bare CryptoKey suffices.
  const period = await hpke.importPrivateKey(d(per.pkcs8), { extractable: true });
  out.organisation_key = enc(await certs.openSegmentKeyAsPeriod(period,
    d(v.wraps.organisation.sealed), conv, seg, d(per.period_id)));
  out.commit = enc(await certs.commit(K));
  out.acceptance_message = enc(await certs.acceptanceMessage(conv, seg, K));
  out.acceptance = await refused(() => certs.verifyAcceptance(d(dev.sig_public), conv, seg, K,
    d(v.acceptance.signature)));
  const r = v.return_code;
  const kek = await rc.kek(r.code, d(r.salt), r.pbkdf2_iterations);
  out.locator = enc(await rc.locator(r.code));
  out.locator_typed = enc(await rc.locator(rc.formatCode(r.code).toLowerCase()));
  out.kek = enc(kek);
  out.return_aad = enc(rc.returnAad(conv, seg));
  out.wrap = enc(await rc.wrapWithCode(kek, d(r.nonce), K, conv, seg));
  out.unwrapped = enc(await rc.unwrapWithCode(kek, d(r.nonce), d(r.wrap), conv, seg));
  return out;
}"""
)


@pytest.mark.browser
def test_browser_reproduces_reference_keys_certs_and_wraps(
    contexts: Contexts, server: Server
) -> None:
    v = VECTORS
    page = contexts.page()
    page.goto(server.base_url + "/en/chat")
    out: dict[str, Any] = page.evaluate(REFERENCE_SCRIPT, {"v": v, "now": NOW})
    assert out["device_message"] == v["device"]["cert_message"]
    assert out["period_message"] == v["period"]["cert_message"]
    assert out["device_signature"] is True
    assert out["period_signature"] is True
    assert out["device_cert"] == "accepted"
    assert out["period_cert"] == "accepted"
    assert out["info_counsellor"] == v["wraps"]["counsellor"]["info"]
    assert out["info_organisation"] == v["wraps"]["organisation"]["info"]
    assert out["counsellor_key"] == v["segment_key"]
    assert out["organisation_key"] == v["segment_key"]
    assert out["commit"] == v["acceptance"]["commit"]
    assert out["acceptance_message"] == v["acceptance"]["message"]
    assert out["acceptance"] == "accepted"
    r = v["return_code"]
    assert out["locator"] == r["locator"]
    assert out["locator_typed"] == r["locator"]
    assert out["kek"] == r["kek"]
    assert out["return_aad"] == r["aad"]
    assert out["wrap"] == r["wrap"]
    assert out["unwrapped"] == v["segment_key"]


REVERSE_SCRIPT = (
    "async ({ v, pythonSealed, pythonInfo }) => {"
    + IMPORTS
    + """
  const conv = d(v.conv), seg = 7, K = b.randomBytes(32);
  const dev = v.device, per = v.period;
  const signer = await sign.importSigningKey(d(dev.sig_pkcs8));
  const fresh = await sign.generateSigningKeyPair();
  const message = b.utf8("signed in the browser");
  const code = rc.newCode(), salt = b.randomBytes(16), nonce = b.randomBytes(12);
  const kek = await rc.kek(code, salt, 1000);
  const device = { privateKey: await hpke.importPrivateKey(d(dev.hpke_pkcs8)),
                   publicKey: d(dev.hpke_public) };
  return {
    K: enc(K),
    counsellor: enc(await certs.sealSegmentKeyToDevice(d(dev.hpke_public), K, conv, seg,
                                                       d(dev.device_id))),
    organisation: enc(await certs.sealSegmentKeyToPeriod(d(per.public), K, conv, seg,
                                                         d(per.period_id))),
    acceptance: enc(await certs.signAcceptance(signer, conv, seg, K)),
    signature: enc(await sign.sign(fresh.privateKey, message)),
    fresh_public: enc(await sign.publicKeyBytes(fresh.publicKey)),
    code, salt: enc(salt), nonce: enc(nonce), kek: enc(kek),
    locator: enc(await rc.locator(code)),
    wrap: enc(await rc.wrapWithCode(kek, nonce, K, conv, seg)),
    from_python: enc(await hpke.open(device, d(pythonSealed), d(pythonInfo), new Uint8Array(0))),
  };
}"""
)


def _verify_raw(public: bytes, signature: bytes, message: bytes) -> None:
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public)
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    key.verify(der, message, ec.ECDSA(hashes.SHA256()))  # raises InvalidSignature


def _private(pkcs8_b64: str) -> Any:
    return serialization.load_der_private_key(b64.decode(pkcs8_b64), password=None)


@pytest.mark.browser
def test_python_opens_and_verifies_what_the_browser_seals_and_signs(
    contexts: Contexts, server: Server
) -> None:
    v = VECTORS
    dev, per = v["device"], v["period"]
    conv, seg = b64.decode(v["conv"]), 7
    device_id, period_id = b64.decode(dev["device_id"]), b64.decode(per["period_id"])
    info_c = b"vh/v1/wrap|C|" + conv + seg.to_bytes(4, "big") + device_id
    info_o = b"vh/v1/wrap|O|" + conv + seg.to_bytes(4, "big") + period_id
    python_key = bytes(range(32))
    python_sealed = SUITE.encrypt(python_key, _private(dev["hpke_pkcs8"]).public_key(), info=info_c)

    page = contexts.page()
    page.goto(server.base_url + "/en/chat")
    args = {"v": v, "pythonSealed": b64.encode(python_sealed), "pythonInfo": b64.encode(info_c)}
    out: dict[str, Any] = page.evaluate(REVERSE_SCRIPT, args)

    K = b64.decode(out["K"])
    assert out["from_python"] == b64.encode(python_key)
    assert (
        SUITE.decrypt(b64.decode(out["counsellor"]), _private(dev["hpke_pkcs8"]), info=info_c) == K
    )
    assert SUITE.decrypt(b64.decode(out["organisation"]), _private(per["pkcs8"]), info=info_o) == K
    with pytest.raises(Exception):  # noqa: B017, PT011 - the binding to info is what is tested
        SUITE.decrypt(b64.decode(out["counsellor"]), _private(dev["hpke_pkcs8"]), info=info_o)

    commit = hkdf_sha256(K, b"vh/v1/commit", 32)
    accept = b"vh/v1/accept" + conv + seg.to_bytes(4, "big") + commit
    _verify_raw(b64.decode(dev["sig_public"]), b64.decode(out["acceptance"]), accept)
    _verify_raw(
        b64.decode(out["fresh_public"]), b64.decode(out["signature"]), b"signed in the browser"
    )

    code = out["code"]
    assert len(code) == 20
    assert set(code) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
    assert b64.decode(out["locator"]) == hkdf_sha256(code.encode(), b"vh/v1/locator", 16)
    kek = hashlib.pbkdf2_hmac("sha256", code.encode(), b64.decode(out["salt"]), 1000)
    assert out["kek"] == b64.encode(kek)
    aad = b"vh/v1/wrap|R|" + conv + seg.to_bytes(4, "big")
    assert AESGCM(kek).decrypt(b64.decode(out["nonce"]), b64.decode(out["wrap"]), aad) == K

    # The same, through the project's Python client (app/crypto/).
    device_key = py_hpke.load_private_key(b64.decode(dev["hpke_pkcs8"]))
    period_key = py_hpke.load_private_key(b64.decode(per["pkcs8"]))
    counsellor = b64.decode(out["counsellor"])
    assert py_certs.open_segment_key_as_device(device_key, counsellor, conv, seg, device_id) == K
    organisation = b64.decode(out["organisation"])
    assert py_certs.open_segment_key_as_period(period_key, organisation, conv, seg, period_id) == K
    sig_pub = b64.decode(dev["sig_public"])
    py_certs.verify_acceptance(sig_pub, conv, seg, K, b64.decode(out["acceptance"]))
    with pytest.raises(py_certs.VerificationError):
        py_certs.verify_acceptance(sig_pub, conv, seg + 1, K, b64.decode(out["acceptance"]))
    assert py_returncode.locator(code) == b64.decode(out["locator"])
    assert py_returncode.kek(code, b64.decode(out["salt"]), 1000) == kek
    wrap = b64.decode(out["wrap"])
    assert py_returncode.unwrap_with_code(kek, b64.decode(out["nonce"]), wrap, conv, seg) == K


def hkdf_sha256(ikm: bytes, info: bytes, length: int) -> bytes:
    """HKDF with the empty salt (32 zero bytes), as CRYPTO.md §8 uses for locator and commit."""
    prk = hmac.new(bytes(32), ikm, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out, counter = out + block, counter + 1
    return out[:length]


NEGATIVE_SCRIPT = (
    "async ({ v, now }) => {"
    + IMPORTS
    + """
  const conv = d(v.conv), seg = v.seg, K = d(v.segment_key);
  const dev = v.device, per = v.period, service = d(v.service_key.public);
  const device = { privateKey: await hpke.importPrivateKey(d(dev.hpke_pkcs8)),
                   publicKey: d(dev.hpke_public) };
  const sealed = d(v.wraps.counsellor.sealed), info = d(v.wraps.counsellor.info);
  const flip = (u, i) => { const c = u.slice(); c[i < 0 ? c.length + i : i] ^= 0x01; return c; };
  const open = (s, i = info, aad = new Uint8Array(0)) => hpke.open(device, s, i, aad);
  const out = {};
  out.control = await refused(() => open(sealed));
  out.flipped_enc = await refused(() => open(flip(sealed, 40)));
  out.flipped_ct = await refused(() => open(flip(sealed, 70)));
  out.flipped_tag = await refused(() => open(flip(sealed, -1)));
  out.truncated = await refused(() => open(sealed.slice(0, -1)));
  out.enc_only = await refused(() => open(sealed.slice(0, 65)));
  out.wrong_info = await refused(() => open(sealed, flip(info, -1)));
  out.wrong_aad = await refused(() => open(sealed, info, b.utf8("x")));
  out.wrong_seg = await refused(() => certs.openSegmentKeyAsDevice(device, sealed, conv, seg + 1,
                                                                  d(dev.device_id)));
  out.wrong_recipient = await refused(async () => certs.openSegmentKeyAsPeriod(
    { privateKey: await hpke.importPrivateKey(d(per.pkcs8)), publicKey: d(per.public) },
    sealed, conv, seg, d(per.period_id)));

  const deviceArgs = [d(dev.staff_id), d(dev.device_id), d(dev.hpke_public), d(dev.sig_public),
                      dev.not_after];
  const other = await sign.generateSigningKeyPair();
  const forged = await sign.sign(other.privateKey, certs.deviceCertMessage(...deviceArgs));
  const sig = d(dev.cert_signature);
  out.device_expired = await refused(() => certs.verifyDeviceCert(service, ...deviceArgs, sig,
                                                                 dev.not_after));
  out.device_other_signer = await refused(() => certs.verifyDeviceCert(service, ...deviceArgs,
                                                                      forged, now));
  // The forgery is a good signature, only by the wrong key.
  out.forged_is_well_formed = await refused(async () => certs.verifyDeviceCert(
    await sign.publicKeyBytes(other.publicKey), ...deviceArgs, forged, now));
  out.device_injected_key = await refused(() => certs.verifyDeviceCert(service, d(dev.staff_id),
    d(dev.device_id), d(per.public), d(dev.sig_public), dev.not_after, sig, now));
  out.device_flipped_signature = await refused(() => certs.verifyDeviceCert(service,
    ...deviceArgs, flip(sig, 5), now));
  out.device_short_signature = await refused(() => certs.verifyDeviceCert(service,
    ...deviceArgs, sig.slice(0, 63), now));
  const periodArgs = [d(per.period_id), d(per.public), per.not_before, per.not_after];
  const psig = d(per.cert_signature);
  out.period_expired = await refused(() => certs.verifyPeriodCert(service, ...periodArgs, psig,
                                                                 per.not_after + 1));
  out.period_not_yet = await refused(() => certs.verifyPeriodCert(service, ...periodArgs, psig,
                                                                 per.not_before - 1));
  out.period_other_signer = await refused(async () => certs.verifyPeriodCert(service,
    ...periodArgs, await sign.sign(other.privateKey, certs.periodCertMessage(...periodArgs)), now));
  out.period_stretched = await refused(() => certs.verifyPeriodCert(service, d(per.period_id),
    d(per.public), per.not_before, per.not_after + 86400, psig, now));

  const asig = d(v.acceptance.signature);
  out.acceptance_other_key = await refused(() => certs.verifyAcceptance(d(dev.sig_public), conv,
    seg, flip(K, 0), asig));
  out.acceptance_other_seg = await refused(() => certs.verifyAcceptance(d(dev.sig_public), conv,
    seg + 1, K, asig));
  out.acceptance_service_key = await refused(() => certs.verifyAcceptance(service, conv, seg, K,
    asig));
  out.verify_flipped_message = await sign.verify(service, flip(d(dev.cert_message), 0), sig);
  out.verify_bad_point = await sign.verify(new Uint8Array(65), d(dev.cert_message), sig);

  const r = v.return_code;
  const kek = d(r.kek);
  out.unwrap_other_seg = await refused(() => rc.unwrapWithCode(kek, d(r.nonce), d(r.wrap), conv,
                                                              seg + 1));
  out.unwrap_other_kek = await refused(() => rc.unwrapWithCode(flip(kek, 0), d(r.nonce),
                                                              d(r.wrap), conv, seg));
  out.unwrap_truncated = await refused(() => rc.unwrapWithCode(kek, d(r.nonce),
                                                              d(r.wrap).slice(0, 40), conv, seg));
  out.normalised = rc.normaliseCode(" 7k3q-9zc1 wx4m-8n2p rt6v ");
  out.look_alikes = rc.normaliseCode("oIlO".repeat(5));
  out.code_too_short = await refused(() => rc.normaliseCode("7K3Q9ZC1WX4M8N2PRT6"));
  out.code_with_u = await refused(() => rc.normaliseCode("7K3Q9ZC1WX4M8N2PRT6U"));
  out.code_dotless_i = await refused(() => rc.normaliseCode("7K3Q9ZC1WX4M8N2PRT6\u0131"));
  out.codes = Array.from({ length: 50 }, () => rc.newCode());
  return out;
}"""
)


@pytest.mark.browser
def test_browser_refuses_tampering_expiry_and_other_signers(
    contexts: Contexts, server: Server
) -> None:
    page = contexts.page()
    page.goto(server.base_url + "/en/chat")
    out: dict[str, Any] = page.evaluate(NEGATIVE_SCRIPT, {"v": VECTORS, "now": NOW})
    assert out.pop("control") == "accepted"
    assert out.pop("forged_is_well_formed") == "accepted"
    hpke_refusals = (
        "flipped_enc",
        "flipped_ct",
        "flipped_tag",
        "truncated",
        "enc_only",
        "wrong_info",
        "wrong_aad",
        "wrong_seg",
        "wrong_recipient",
    )
    for name in hpke_refusals:
        assert out.pop(name) == "HpkeError", name
    for name in (
        "device_expired",
        "device_other_signer",
        "device_injected_key",
        "device_flipped_signature",
        "device_short_signature",
        "period_expired",
        "period_not_yet",
        "period_other_signer",
        "period_stretched",
        "acceptance_other_key",
        "acceptance_other_seg",
        "acceptance_service_key",
    ):
        assert out.pop(name) == "VerificationError", name
    assert out.pop("verify_flipped_message") is False
    assert out.pop("verify_bad_point") is False
    for name in ("unwrap_other_seg", "unwrap_other_kek", "unwrap_truncated"):
        assert out.pop(name) == "ReturnCodeError", name
    assert out.pop("normalised") == VECTORS["return_code"]["code"]
    assert out.pop("look_alikes") == "0110" * 5
    assert out.pop("code_too_short") == "ReturnCodeError"
    assert out.pop("code_with_u") == "ReturnCodeError"
    assert out.pop("code_dotless_i") == "ReturnCodeError"
    codes = out.pop("codes")
    assert len(set(codes)) == 50
    assert all(len(c) == 20 and set(c) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for c in codes)
    assert out == {}


GOLDEN_PATH = TESTS / "vectors" / "v1.json"

GOLDEN_SCRIPT = (
    "async ({ g, now }) => {"
    + IMPORTS
    + """
  const m = await import("/static/js/crypto/message.js");
  const conv = d(g.conv), seg = g.seg, K = d(g.segment_key);
  const dev = g.device, per = g.period, service = d(g.service_key.public);
  const pair = (k) => hpke.importKeyPair(d(k.scalar), d(k.public));
  const out = { hpke: [] };
  const deviceArgs = [d(dev.staff_id), d(dev.device_id), d(dev.hpke.public), d(dev.sig.public),
                      dev.not_after];
  const periodArgs = [d(per.period_id), d(per.public), per.not_before, per.not_after];
  out.device_message = enc(certs.deviceCertMessage(...deviceArgs));
  out.period_message = enc(certs.periodCertMessage(...periodArgs));
  out.device_cert = await refused(() => certs.verifyDeviceCert(service, ...deviceArgs,
    d(dev.cert_signature), now.device));
  out.period_cert = await refused(() => certs.verifyPeriodCert(service, ...periodArgs,
    d(per.cert_signature), now.period));
  // The service key's PKCS#8 imports and signs; its signature verifies under the public key.
  const serviceSigner = await sign.importSigningKey(d(g.service_key.pkcs8));
  out.service_signs = await sign.verify(service, b.utf8("x"), await sign.sign(serviceSigner,
                                                                             b.utf8("x")));
  for (const e of g.hpke.entries) {
    const opts = { keyLength: e.key_length, ephemeral: await pair(e.ephemeral) };
    const pkR = d(e.recipient.public);
    const { sharedSecret, enc: encapsulated } = await hpke.encap(pkR, opts.ephemeral);
    const s = await hpke.keySchedule(sharedSecret, d(e.info), { keyLength: e.key_length });
    const recipient = { privateKey: (await pair(e.recipient)).privateKey, publicKey: pkR };
    out.hpke.push({
      enc: enc(encapsulated), shared_secret: enc(sharedSecret),
      key_schedule_context: enc(s.keyScheduleContext), secret: enc(s.secret), key: enc(s.key),
      base_nonce: enc(s.baseNonce), exporter_secret: enc(s.exporterSecret),
      sealed: enc(await hpke.seal(pkR, d(e.info), d(e.aad), d(e.pt), opts)),
      opened: enc(await hpke.open(recipient, d(e.sealed), d(e.info), d(e.aad),
                                  { keyLength: e.key_length })),
      pkcs8_opened: enc(await hpke.open({ privateKey: await hpke.importPrivateKey(
        d(e.recipient.pkcs8)), publicKey: pkR }, d(e.sealed), d(e.info), d(e.aad),
        { keyLength: e.key_length })),
    });
  }
  const w = g.wraps;
  out.info_counsellor = enc(certs.wrapInfoCounsellor(conv, seg, d(dev.device_id)));
  out.info_organisation = enc(certs.wrapInfoOrganisation(conv, seg, d(per.period_id)));
  out.sealed_counsellor = enc(await certs.sealSegmentKeyToDevice(d(dev.hpke.public), K, conv,
    seg, d(dev.device_id), { ephemeral: await pair(w.counsellor.ephemeral) }));
  out.sealed_organisation = enc(await certs.sealSegmentKeyToPeriod(d(per.public), K, conv, seg,
    d(per.period_id), { ephemeral: await pair(w.organisation.ephemeral) }));
  const device = { privateKey: (await pair(dev.hpke)).privateKey, publicKey: d(dev.hpke.public) };
  out.counsellor_key = enc(await certs.openSegmentKeyAsDevice(device, d(w.counsellor.sealed),
    conv, seg, d(dev.device_id)));
  const period = await hpke.importPrivateKey(d(per.pkcs8), { extractable: true });
  out.organisation_key = enc(await certs.openSegmentKeyAsPeriod(period,
    d(w.organisation.sealed), conv, seg, d(per.period_id)));
  out.commit = enc(await certs.commit(K));
  out.acceptance_message = enc(await certs.acceptanceMessage(conv, seg, K));
  out.acceptance = await refused(() => certs.verifyAcceptance(d(dev.sig.public), conv, seg, K,
    d(g.acceptance.signature)));
  const devSigner = await sign.importSigningKey(d(dev.sig.pkcs8));
  out.browser_acceptance = enc(await certs.signAcceptance(devSigner, conv, seg, K));
  const at = g.acceptance_at, devCert = certs.parseDeviceCert({ device_id: dev.device_id,
    staff_id: dev.staff_id, hpke_public_key: dev.hpke.public, sig_public_key: dev.sig.public,
    not_after: dev.not_after, certificate: dev.cert_signature });
  out.acceptance_at_message = enc(await certs.acceptanceMessage(conv, seg, K, at.signed_at));
  out.acceptance_at = await refused(() => certs.verifyAcceptance(d(dev.sig.public), conv, seg,
    K, d(at.signature), at.signed_at));
  out.acceptance_at_untimed = await refused(() => certs.verifyAcceptance(d(dev.sig.public), conv,
    seg, K, d(at.signature)));
  out.acceptance_at_other_time = await refused(() => certs.verifyAcceptance(d(dev.sig.public),
    conv, seg, K, d(at.signature), at.signed_at + 1));
  out.signed_time_late_read = await refused(() => certs.checkSignedTime(d(g.service_key.public),
    devCert, at.signed_at, at.expired_at + 100000000));
  out.signed_time_expired = await refused(() => certs.checkSignedTime(d(g.service_key.public),
    devCert, at.expired_at, at.expired_at));
  out.signed_time_skew = await refused(() => certs.checkSignedTime(d(g.service_key.public),
    devCert, at.signed_at, at.signed_at - at.clock_skew));
  out.signed_time_future = await refused(() => certs.checkSignedTime(d(g.service_key.public),
    devCert, at.signed_at, at.signed_at - at.clock_skew - 1));
  out.browser_acceptance_at = enc(await certs.signAcceptance(devSigner, conv, seg, K,
    at.signed_at));
  const r = g.return_code;
  const kek = await rc.kek(r.code, d(r.salt));
  out.formatted = rc.formatCode(r.code);
  out.typed = rc.normaliseCode(r.typed);
  out.locator = enc(await rc.locator(r.code));
  out.locator_typed = enc(await rc.locator(r.typed));
  out.kek = enc(kek);
  out.kek_low = enc(await rc.kek(r.code, d(r.salt), r.kek_low.iterations));
  out.return_aad = enc(rc.returnAad(conv, seg));
  out.wrap = enc(await rc.wrapWithCode(kek, d(r.nonce), K, conv, seg));
  out.unwrapped = enc(await rc.unwrapWithCode(d(r.kek), d(r.nonce), d(r.wrap), conv, seg));
  const msg = g.message, inst = d(msg.inst);
  const iv = await m.messageIv(K, conv, msg.role, inst);
  out.message = {
    key: enc(await m.messageKey(K, conv, msg.role, inst)),
    iv: enc(iv),
    nonce: enc(m.nonce(iv, msg.seq)),
    aad: enc(m.aad(1, conv, seg, msg.role, inst, msg.seq)),
    plaintext: enc(m.pad(m.encodeBody(msg.plaintext_obj))),
    ct: enc(await m.encryptMessage(K, conv, seg, msg.role, inst, msg.seq, msg.plaintext_obj)),
  };
  out.message_opened = await m.decryptMessage(K, conv, seg, msg.role, inst, msg.seq, d(msg.ct));
  return out;
}"""
)


@pytest.mark.browser
def test_browser_reproduces_the_project_golden_file(contexts: Contexts, server: Server) -> None:
    """tests/vectors/v1.json (made by the Python client) byte for byte; signatures verified."""
    if not GOLDEN_PATH.exists():
        pytest.skip(f"{GOLDEN_PATH.name} not written yet (tests/vectors/make_v1.py)")
    g: dict[str, Any] = json.loads(GOLDEN_PATH.read_text("utf-8"))
    now = {"device": g["device"]["not_after"] - 1, "period": g["period"]["not_before"]}
    page = contexts.page()
    page.goto(server.base_url + "/en/chat")
    out: dict[str, Any] = page.evaluate(GOLDEN_SCRIPT, {"g": g, "now": now})

    assert out["device_message"] == g["device"]["cert_message"]
    assert out["period_message"] == g["period"]["cert_message"]
    assert out["device_cert"] == "accepted"
    assert out["period_cert"] == "accepted"
    assert out["service_signs"] is True
    for got, want in zip(out["hpke"], g["hpke"]["entries"], strict=True):
        for field in (
            "enc",
            "shared_secret",
            "key_schedule_context",
            "secret",
            "key",
            "base_nonce",
            "exporter_secret",
            "sealed",
        ):
            assert got[field] == want[field], (want["key_length"], field)
        assert got["opened"] == got["pkcs8_opened"] == want["pt"]
    w = g["wraps"]
    assert out["info_counsellor"] == w["counsellor"]["info"]
    assert out["info_organisation"] == w["organisation"]["info"]
    assert out["sealed_counsellor"] == w["counsellor"]["sealed"]
    assert out["sealed_organisation"] == w["organisation"]["sealed"]
    assert out["counsellor_key"] == out["organisation_key"] == g["segment_key"]
    assert out["commit"] == g["acceptance"]["commit"]
    assert out["acceptance_message"] == g["acceptance"]["message"]
    assert out["acceptance"] == "accepted"
    _verify_raw(
        b64.decode(g["device"]["sig"]["public"]),
        b64.decode(out["browser_acceptance"]),
        b64.decode(g["acceptance"]["message"]),
    )
    assert out["acceptance_at_message"] == g["acceptance_at"]["message"]
    assert out["acceptance_at"] == out["signed_time_late_read"] == "accepted"
    assert out["signed_time_skew"] == "accepted"
    for refusal in (
        "acceptance_at_untimed",
        "acceptance_at_other_time",
        "signed_time_expired",
        "signed_time_future",
    ):
        assert out[refusal] == "VerificationError", refusal
    _verify_raw(
        b64.decode(g["device"]["sig"]["public"]),
        b64.decode(out["browser_acceptance_at"]),
        b64.decode(g["acceptance_at"]["message"]),
    )
    r = g["return_code"]
    assert out["formatted"] == r["formatted"]
    assert out["typed"] == r["code"]
    assert out["locator"] == out["locator_typed"] == r["locator"]
    assert out["kek"] == r["kek"]
    assert out["kek_low"] == r["kek_low"]["kek"]
    assert out["return_aad"] == r["aad"]
    assert out["wrap"] == r["wrap"]
    assert out["unwrapped"] == g["segment_key"]
    for field in ("key", "iv", "nonce", "aad", "plaintext", "ct"):
        assert out["message"][field] == g["message"][field], field
    assert out["message_opened"] == g["message"]["plaintext_obj"]

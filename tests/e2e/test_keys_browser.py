"""The key-exchange modules in Chromium against the Python reference crypto (CRYPTO.md §3,
PROTOCOL.md §6): youth/keys.js (verify certificates, seal K, check the acceptance, wrap K under
a return code) and staff/device.js (non-extractable device keys in IndexedDB, registered over
HTTP — mocked here with Playwright routes, so these tests need no server-side key support)."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import pytest

from app.crypto import certs, hpke, returncode
from app.crypto import sign as ecdsa
from app.kit import b64
from tests.conftest import Server
from tests.e2e.conftest import Contexts

# The pages alone (their JavaScript and layout): the embedded pass is enough (tests/conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.stack_free]

PEERS_SCRIPT = """
async ({ service, frame, now }) => {
  const k = await import("/static/js/youth/keys.js");
  const b = await import("/static/js/crypto/bytes.js");
  try {
    const peers = await k.verifiedPeers(b.b64urlDecode(service), frame, now);
    const { key, frame: keys } = await k.newSegmentKeys(peers, frame.conv, frame.seg);
    return { ok: true, key: b.b64urlEncode(key), keys };
  } catch (error) {
    return { ok: false, error: error.name, message: error.message };
  }
}
"""

ACCEPT_SCRIPT = """
async ({ service, frame, now, key, sigs, code }) => {
  const k = await import("/static/js/youth/keys.js");
  const b = await import("/static/js/crypto/bytes.js");
  const peers = await k.verifiedPeers(b.b64urlDecode(service), frame, now);
  const K = b.b64urlDecode(key);
  const results = [];
  for (const sig of sigs) {
    try {
      await k.checkAcceptance(peers, frame.conv, frame.seg, K, sig);
      results.push("ok");
    } catch (error) {
      results.push(error.name);
    }
  }
  const { frame: returnFrame, locator } = await k.returnCodeFrame(code, K, frame.conv, frame.seg);
  return { results, returnFrame, locator };
}
"""


class Org:
    """A service key, one counsellor device and one period key, as the server would certify."""

    def __init__(self, now: int) -> None:
        self.service = ecdsa.generate_private_key()
        self.service_pub = ecdsa.public_key_bytes(self.service)
        self.device_hpke = hpke.generate_private_key()
        self.device_sig = ecdsa.generate_private_key()
        self.period = hpke.generate_private_key()
        self.staff_id = secrets.token_bytes(16)
        self.device_id = secrets.token_bytes(16)
        self.period_id = secrets.token_bytes(16)
        self.conv = secrets.token_bytes(16)
        self.now = now

    def device(self, *, signer: Any = None, not_after: int | None = None) -> dict[str, Any]:
        not_after = self.now + 30 * 86400 if not_after is None else not_after
        hpke_pub = hpke.public_key_bytes(self.device_hpke)
        sig_pub = ecdsa.public_key_bytes(self.device_sig)
        cert = certs.issue_device_cert(
            signer or self.service, self.staff_id, self.device_id, hpke_pub, sig_pub, not_after
        )
        return {
            "staff_id": b64.encode(self.staff_id),
            "device_id": b64.encode(self.device_id),
            "hpke_public_key": b64.encode(hpke_pub),
            "sig_public_key": b64.encode(sig_pub),
            "not_after": not_after,
            "certificate": b64.encode(cert),
        }

    def period_info(self, *, signer: Any = None, not_before: int | None = None) -> dict[str, Any]:
        not_before = self.now - 86400 if not_before is None else not_before
        not_after = self.now + 30 * 86400
        pub = hpke.public_key_bytes(self.period)
        cert = certs.issue_period_cert(
            signer or self.service, self.period_id, pub, not_before, not_after
        )
        return {
            "period_id": b64.encode(self.period_id),
            "public_key": b64.encode(pub),
            "not_before": not_before,
            "not_after": not_after,
            "certificate": b64.encode(cert),
        }

    def paired(self, device: dict[str, Any], period: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "type": "paired",
            "conv": b64.encode(self.conv),
            "counsellor": {"alias": "Sara"},
            "seg": 0,
            "device": device,
            "period": period,
            "keys_stored": False,
            "accepted": None,
        }


def _peers(page: Any, org: Org, frame: dict[str, Any]) -> dict[str, Any]:
    arg = {"service": b64.encode(org.service_pub), "frame": frame, "now": org.now}
    result: dict[str, Any] = page.evaluate(PEERS_SCRIPT, arg)
    return result


def test_youth_keys_seal_to_verified_keys_python_opens_them(
    contexts: Contexts, server: Server
) -> None:
    page = contexts.page()
    page.goto(server.base_url + "/en/chat")
    org = Org(int(time.time()))
    frame = org.paired(org.device(), org.period_info())
    out = _peers(page, org, frame)
    assert out["ok"], out
    key = b64.decode(out["key"])
    keys = out["keys"]
    assert keys["type"] == "keys"
    assert (keys["conv"], keys["seg"]) == (frame["conv"], 0)
    wrap_c, wrap_o = b64.decode(keys["wrap_c"]), b64.decode(keys["wrap_o"])
    assert len(wrap_c) == len(wrap_o) == 113  # PROTOCOL.md §6.3
    opened_c = certs.open_segment_key_as_device(org.device_hpke, wrap_c, org.conv, 0, org.device_id)
    opened_o = certs.open_segment_key_as_period(org.period, wrap_o, org.conv, 0, org.period_id)
    assert opened_c == opened_o == key

    # Without a period key, K is sealed to the device only.
    out = _peers(page, org, org.paired(org.device(), None))
    assert out["ok"], out
    assert out["keys"]["wrap_o"] is None

    # The acceptance: the device's signature verifies, anything else is refused.
    good = certs.sign_acceptance(org.device_sig, org.conv, 0, key)
    other_key = certs.sign_acceptance(org.device_sig, org.conv, 0, secrets.token_bytes(32))
    other_signer = certs.sign_acceptance(org.service, org.conv, 0, key)
    other_seg = certs.sign_acceptance(org.device_sig, org.conv, 1, key)
    code = returncode.new_code()
    got = page.evaluate(
        ACCEPT_SCRIPT,
        {
            "service": b64.encode(org.service_pub),
            "frame": frame,
            "now": org.now,
            "key": b64.encode(key),
            "sigs": [b64.encode(s) for s in (good, other_key, other_signer, other_seg)]
            + ["not base64!"],
            "code": code,
        },
    )
    assert got["results"] == ["ok"] + ["VerificationError"] * 4

    # The return code: the server learns the locator; the code opens the wrap.
    rc = got["returnFrame"]
    assert rc["type"] == "return_code"
    assert rc["locator"] == got["locator"] == b64.encode(returncode.locator(code))
    assert (rc["conv"], rc["seg"]) == (frame["conv"], 0)
    salt, nonce, wrap = (b64.decode(rc[f]) for f in ("salt", "nonce", "wrap"))
    assert (len(salt), len(nonce), len(wrap)) == (16, 12, 48)
    kek = returncode.kek(code, salt)
    assert returncode.unwrap_with_code(kek, nonce, wrap, org.conv, 0) == key


def test_youth_keys_refuse_forged_or_expired_certificates(
    contexts: Contexts, server: Server
) -> None:
    page = contexts.page()
    page.goto(server.base_url + "/en/chat")
    org = Org(int(time.time()))
    impostor = hpke.generate_private_key()
    device, period = org.device(), org.period_info()
    swapped_key = {**device, "hpke_public_key": b64.encode(hpke.public_key_bytes(impostor))}
    cases = {
        "device signed by another key": org.paired(org.device(signer=impostor), period),
        "device key swapped": org.paired(swapped_key, period),
        "device expired": org.paired(org.device(not_after=org.now - 1), period),
        "device id changed": org.paired({**device, "device_id": b64.encode(bytes(16))}, period),
        "period signed by another key": org.paired(device, org.period_info(signer=impostor)),
        "period not yet valid": org.paired(device, org.period_info(not_before=org.now + 60)),
        "no device": org.paired(None, period),  # type: ignore[arg-type]
        "certificate truncated": org.paired(
            {**device, "certificate": device["certificate"][:-4]}, period
        ),
    }
    for name, frame in cases.items():
        out = _peers(page, org, frame)
        assert not out["ok"], name
        assert out["error"] in ("VerificationError", "TypeError"), (name, out)

    # The service key comes from the page itself; a page without one refuses everything.
    page.evaluate("document.querySelector('meta[name=vh-service-key]')?.remove()")
    error = page.evaluate(
        """async () => {
          const c = await import("/static/js/crypto/certs.js");
          try { c.pinnedServiceKey(); return "accepted"; } catch (e) { return e.name; }
        }"""
    )
    assert error == "VerificationError"


DEVICE_SCRIPT = """
async ({ staffId, csrf }) => {
  const d = await import("/static/js/staff/device.js");
  try {
    const device = await d.ensureDevice(staffId, csrf);
    let exported = "exported";
    try {
      await crypto.subtle.exportKey("pkcs8", device.hpke.privateKey);
    } catch (error) {
      exported = error.name;
    }
    return {
      id: device.id,
      hpkeExtractable: device.hpke.privateKey.extractable,
      sigExtractable: device.signingKey.extractable,
      exported,
      local: localStorage.length,
      session: sessionStorage.length,
      cookie: document.cookie,
      databases: (await indexedDB.databases()).map((db) => db.name),
    };
  } catch (error) {
    return { error: error.name };
  }
}
"""

OPEN_SCRIPT = """
async ({ staffId, wrap, conv, deviceId }) => {
  const d = await import("/static/js/staff/device.js");
  const c = await import("/static/js/crypto/certs.js");
  const b = await import("/static/js/crypto/bytes.js");
  const record = await d.loadRecord(staffId);
  const device = new d.Device(record);
  const key = await c.openSegmentKeyAsDevice(
    device.hpke, b.b64urlDecode(wrap), b.b64urlDecode(conv), 0, b.b64urlDecode(deviceId));
  const sig = await c.signAcceptance(device.signingKey, b.b64urlDecode(conv), 0, key);
  return { key: b.b64urlEncode(key), sig: b.b64urlEncode(sig) };
}
"""


class FakeDevices:
    """Stands in for POST/GET /staff/api/devices (PROTOCOL.md §6.2) through Playwright routes."""

    def __init__(self, page: Any) -> None:
        self.registered: dict[str, dict[str, Any]] = {}
        self.posts: list[dict[str, Any]] = []
        self.gets: list[str] = []
        self.known = True
        self.fresh = True
        page.route("**/staff/api/devices", self._post)
        page.route("**/staff/api/devices/*", self._get)

    def _post(self, route: Any) -> None:
        request = route.request
        assert request.method == "POST"
        body = json.loads(request.post_data)
        self.posts.append({"body": body, "csrf": request.headers.get("x-csrf-token")})
        if not self.fresh:
            error = {"error": {"code": "login_not_fresh", "message": "log in again"}}
            route.fulfill(status=403, content_type="application/json", body=json.dumps(error))
            return
        device_id = b64.encode(secrets.token_bytes(16))
        answer = {
            "device_id": device_id,
            "staff_id": "staff",
            **body,
            "not_after": int(time.time()) + 30 * 86400,
            "certificate": b64.encode(bytes(64)),
        }
        self.registered[device_id] = answer
        route.fulfill(status=201, content_type="application/json", body=json.dumps(answer))

    def _get(self, route: Any) -> None:
        device_id = route.request.url.rsplit("/", 1)[1]
        self.gets.append(device_id)
        if self.known and device_id in self.registered:
            body = json.dumps(self.registered[device_id])
            route.fulfill(status=200, content_type="application/json", body=body)
        else:
            error = {"error": {"code": "not_found", "message": "no such device"}}
            route.fulfill(status=404, content_type="application/json", body=json.dumps(error))


def test_staff_device_keys_are_non_extractable_and_survive_a_reload(
    contexts: Contexts, server: Server
) -> None:
    page = contexts.page()
    fake = FakeDevices(page)
    page.goto(server.base_url + "/staff")
    staff_id = b64.encode(secrets.token_bytes(16))
    arg = {"staffId": staff_id, "csrf": "the-csrf-token"}

    first = page.evaluate(DEVICE_SCRIPT, arg)
    assert "error" not in first, first
    assert (first["hpkeExtractable"], first["sigExtractable"]) == (False, False)
    assert first["exported"] == "InvalidAccessError"
    assert (first["local"], first["session"], first["cookie"]) == (0, 0, "")
    assert first["databases"] == ["vh-staff"]
    assert len(fake.posts) == 1
    assert fake.posts[0]["csrf"] == "the-csrf-token"
    posted = fake.posts[0]["body"]
    hpke_pub = b64.decode(posted["hpke_public_key"])
    sig_pub = b64.decode(posted["sig_public_key"])
    assert len(hpke_pub) == len(sig_pub) == 65

    def seal_and_open() -> None:
        key, conv = secrets.token_bytes(32), secrets.token_bytes(16)
        device_id = b64.decode(first["id"])
        wrap = certs.seal_segment_key_to_device(hpke_pub, key, conv, 0, device_id)
        arg = {
            "staffId": staff_id,
            "wrap": b64.encode(wrap),
            "conv": b64.encode(conv),
            "deviceId": first["id"],
        }
        got = page.evaluate(OPEN_SCRIPT, arg)
        assert b64.decode(got["key"]) == key
        certs.verify_acceptance(sig_pub, conv, 0, key, b64.decode(got["sig"]))

    seal_and_open()

    # A reload keeps the device: checked with GET, not registered again; its keys still work.
    page.reload()
    again = page.evaluate(DEVICE_SCRIPT, arg)
    assert again["id"] == first["id"]
    assert fake.gets == [first["id"]]
    assert len(fake.posts) == 1
    seal_and_open()

    # The server forgot it (expired, revoked): a new device with new keys replaces it...
    fake.known = False
    renewed = page.evaluate(DEVICE_SCRIPT, arg)
    assert renewed["id"] != first["id"]
    assert len(fake.posts) == 2
    assert fake.posts[1]["body"]["hpke_public_key"] != posted["hpke_public_key"]
    # ...unless the login is not fresh: then the counsellor must log in again.
    fake.fresh = False
    fake.registered.clear()
    assert page.evaluate(DEVICE_SCRIPT, arg) == {"error": "LoginNotFresh"}
    # Another counsellor on the same browser gets a device of their own.
    fake.fresh = True
    other = page.evaluate(DEVICE_SCRIPT, {"staffId": "other", "csrf": "x"})
    assert other["id"] not in (first["id"], renewed["id"])
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0


CERT_SCRIPT = """
async ({ service, device, now, broken }) => {
  const c = await import("/static/js/crypto/certs.js");
  const b = await import("/static/js/crypto/bytes.js");
  const cert = c.parseDeviceCert(device);
  await c.verifyParsedDeviceCert(b.b64urlDecode(service), cert, now);
  const refused = {};
  for (const [name, change] of Object.entries(broken)) {
    try {
      c.parseDeviceCert({ ...device, ...change });
      refused[name] = "accepted";
    } catch (error) {
      refused[name] = error.name;
    }
  }
  return { id: cert.id, deviceId: b.b64urlEncode(cert.deviceId), refused };
}
"""


def test_one_certificate_parser_reads_what_python_issues(
    contexts: Contexts, server: Server
) -> None:
    """crypto/certs.js parseDeviceCert is the page's one reader of a device certificate:
    it takes what app.crypto.certs.DeviceCert writes and refuses a malformed field."""
    page = contexts.page()
    page.goto(server.base_url + "/en/chat")
    org = Org(int(time.time()))
    device = certs.DeviceCert.from_dict(org.device()).as_dict()
    broken = {
        "missing staff id": {"staff_id": None},
        "short device id": {"device_id": "AAAA"},
        "key not base64url": {"hpke_public_key": "*" * 87},
        "time not a number": {"not_after": "soon"},
        "short signature": {"certificate": device["certificate"][:-4]},
    }
    args = {"service": b64.encode(org.service_pub), "device": device, "now": org.now}
    out = page.evaluate(CERT_SCRIPT, {**args, "broken": broken})
    assert out["id"] == device["device_id"] == out["deviceId"]
    assert out["refused"] == dict.fromkeys(broken, "VerificationError")


COMPONENTS_SCRIPT = """
async () => {
  const { initComponents } = await import("/static/js/components.js");
  for (let i = 0; i < 2; i++) {
    const probe = document.createElement("div");
    probe.dataset.module = "probe";
    document.body.append(probe);
  }
  const seen = [];
  initComponents("probe", (element) => seen.push(element));
  initComponents("probe", (element) => seen.push(element));
  const started = document.querySelectorAll("[data-module=probe]").length;
  return { calls: seen.length, distinct: new Set(seen).size, started };
}
"""


def test_each_component_is_started_once(contexts: Contexts, server: Server) -> None:
    page = contexts.page()
    page.goto(server.base_url + "/en/chat")
    assert page.evaluate(COMPONENTS_SCRIPT) == {"calls": 2, "distinct": 2, "started": 2}

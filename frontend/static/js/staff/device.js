// The counsellor's device keys (CRYPTO.md §2, PROTOCOL.md §6.2): one HPKE P-256 key pair that
// receives sealed segment keys and one ECDSA P-256 key pair that signs acceptances. Both private
// halves are NON-EXTRACTABLE CryptoKeys, made here and kept in IndexedDB ("vh-staff"), which
// stores CryptoKey objects by structured clone without ever exposing their bytes. Nothing of
// them goes to localStorage, sessionStorage, cookies or the URL. Staff pages only: the young
// person's pages never open IndexedDB (SAFETY S-9).
//
// One record per staff member (keyed by staff_id), so two counsellors sharing a browser profile
// do not replace each other's device. Logging out keeps the record on purpose: the device is the
// counsellor's (their keys open the chats sealed to it while they are still open); it is
// renewed at a login when its certificate ends within 4 days (certificates last VH_DEVICE_DAYS,
// 7), and replaced when the server no longer knows it (expired, or revoked).

import { b64urlDecode, b64urlEncode } from "../crypto/bytes.js";
import * as hpke from "../crypto/hpke.js";
import { generateSigningKeyPair, publicKeyBytes } from "../crypto/sign.js";

const DATABASE = "vh-staff";
const STORE = "devices";
const VERSION = 1;

/** The server refused to register a device: the login is older than 10 minutes. */
export class LoginNotFresh extends Error {
  constructor() {
    super("log in again to register this device");
    this.name = "LoginNotFresh";
  }
}

/** Registering or checking the device failed for another reason (network, server error). */
export class DeviceError extends Error {
  constructor(message) {
    super(message);
    this.name = "DeviceError";
  }
}

function request(idbRequest) {
  return new Promise((resolve, reject) => {
    idbRequest.onsuccess = () => resolve(idbRequest.result);
    idbRequest.onerror = () => reject(idbRequest.error);
  });
}

function openDatabase() {
  const opening = indexedDB.open(DATABASE, VERSION);
  opening.onupgradeneeded = () => {
    if (!opening.result.objectStoreNames.contains(STORE)) {
      opening.result.createObjectStore(STORE);
    }
  };
  return request(opening);
}

async function withStore(mode, action) {
  const db = await openDatabase();
  try {
    const tx = db.transaction(STORE, mode);
    const result = await request(action(tx.objectStore(STORE)));
    await new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new DeviceError("transaction aborted"));
    });
    return result;
  } finally {
    db.close();
  }
}

/** The stored device record of `staffId`, or null. */
export async function loadRecord(staffId) {
  return (await withStore("readonly", (store) => store.get(staffId))) ?? null;
}

function saveRecord(record) {
  return withStore("readwrite", (store) => store.put(record, record.staffId));
}

/**
 * One registered device: `id` (base64url, as on the wire), `hpke` ({privateKey, publicKey}
 * for hpke.open: a CryptoKey and its 65-byte point) and `signingKey` (the ECDSA private
 * CryptoKey for signAcceptance).
 */
export class Device {
  constructor(record) {
    this.record = record;
    this.id = record.deviceId;
    this.idBytes = b64urlDecode(record.deviceId);
    this.hpke = { privateKey: record.hpkePrivateKey, publicKey: record.hpkePublicKey };
    this.signingKey = record.sigPrivateKey;
  }
}

async function fetchJson(url, options) {
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin", ...options });
  } catch {
    throw new DeviceError("the server cannot be reached");
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    // 204 or a non-JSON error page: the status says enough.
  }
  return { status: response.status, body };
}

/** The server's error code for a refused registration, or null. */
function refusal(status, body) {
  return status === 403 ? (body?.error?.code ?? null) : null;
}

async function register(staffId, csrf, freshLogin, askEnrolCode) {
  const hpkePair = await hpke.generateKeyPair({ extractable: false });
  const sigPair = await generateSigningKeyPair({ extractable: false });
  const hpkePublic = await hpke.publicKeyBytes(hpkePair.publicKey);
  const sigPublic = await publicKeyBytes(sigPair.publicKey);
  const post = (enrolCode) =>
    fetchJson("/staff/api/devices", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf ?? "" },
      body: JSON.stringify({
        hpke_public_key: b64urlEncode(hpkePublic),
        sig_public_key: b64urlEncode(sigPublic),
        fresh_login: freshLogin ?? null,
        enrol_code: enrolCode,
      }),
    });
  // First without a code: the server says whether the login is fresh before a code is asked
  // for; then the counsellor's enrolment code (vhouse staff enrol), again while it is wrong.
  let { status, body } = await post(null);
  while (["enrol_code_required", "enrol_code_wrong"].includes(refusal(status, body))) {
    const code = await askEnrolCode(refusal(status, body) === "enrol_code_wrong");
    ({ status, body } = await post(code));
  }
  if (refusal(status, body) === "login_not_fresh") throw new LoginNotFresh();
  if (status !== 201 && status !== 200) {
    throw new DeviceError(`the device could not be registered (${status})`);
  }
  if (body.hpke_public_key !== b64urlEncode(hpkePublic)) {
    throw new DeviceError("the server certified another key than this device's");
  }
  const record = {
    staffId,
    deviceId: body.device_id,
    notAfter: body.not_after,
    certificate: body.certificate,
    hpkePrivateKey: hpkePair.privateKey,
    hpkePublicKey: hpkePublic,
    sigPrivateKey: sigPair.privateKey,
    sigPublicKey: sigPublic,
  };
  await saveRecord(record);
  return record;
}

/** A certificate with less than this left is renewed at a fresh login (milliseconds). */
const RENEW_WITHIN_MS = 4 * 24 * 60 * 60 * 1000;

/**
 * `record` with a new certificate when its certificate ends soon and this login is fresh
 * (certificates are short-lived: POST /staff/api/devices/{id}/renew); `record` itself when it
 * need not or cannot be renewed now (it stays usable until it expires).
 */
async function renewed(record, csrf, freshLogin) {
  if (!freshLogin || record.notAfter * 1000 - Date.now() > RENEW_WITHIN_MS) return record;
  const { status, body } = await fetchJson(
    `/staff/api/devices/${encodeURIComponent(record.deviceId)}/renew`,
    {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf ?? "" },
      body: JSON.stringify({ fresh_login: freshLogin }),
    },
  );
  if (status !== 200 || body?.hpke_public_key !== b64urlEncode(record.hpkePublicKey)) return record;
  const fresh = { ...record, notAfter: body.not_after, certificate: body.certificate };
  await saveRecord(fresh);
  return fresh;
}

/**
 * The device of `staffId` on this browser, registered with the server: the stored one while
 * `GET /staff/api/devices/{id}` still knows it, otherwise a new one (keys made here, public
 * halves registered with the session's `csrf` token and `freshLogin`, the proof the login
 * answered, kept in memory only). A new device also needs the account's enrolment code:
 * `askEnrolCode(wrong)` resolves to the code the counsellor typed (`wrong`: the last one was
 * refused). Throws LoginNotFresh when the server wants a fresh password+TOTP login before it
 * certifies a new device (no proof, as after a reload, or an old one), DeviceError otherwise.
 */
export async function ensureDevice(staffId, csrf, freshLogin, askEnrolCode) {
  const stored = await loadRecord(staffId);
  if (stored) {
    const { status } = await fetchJson(`/staff/api/devices/${encodeURIComponent(stored.deviceId)}`);
    if (status === 200) return new Device(await renewed(stored, csrf, freshLogin));
    if (status !== 404) throw new DeviceError(`the device could not be checked (${status})`);
    // 404: expired or revoked. Its keys are useless now; a new device replaces the record.
  }
  return new Device(await register(staffId, csrf, freshLogin, askEnrolCode));
}

// Certificates, sealed segment keys and acceptances: CRYPTO.md §2-3, byte for byte as §8 lays
// them out. Mirrors app/crypto/certs.py. Ids (staffId, deviceId, periodId, conv) are
// 16-byte Uint8Arrays, seg a u32, times unix seconds (Number or BigInt, written as u64),
// public keys 65-byte uncompressed points, signatures 64-byte r ‖ s.
//
// The young person's client must verify the counsellor's device certificate and the period
// certificate against the service public key before it seals anything to their keys.

import { b64urlDecode, concat, u32, u64, utf8 } from "./bytes.js";
import * as hpke from "./hpke.js";
import { hkdf } from "./message.js";
import { sign, verify } from "./sign.js";

export const SEGMENT_KEY_BYTES = 32;

/** A certificate or acceptance that must not be trusted: bad signature, expired, malformed. */
export class VerificationError extends Error {
  constructor(message) {
    super(message);
    this.name = "VerificationError";
  }
}

function id(value, name) {
  if (!(value instanceof Uint8Array) || value.length !== 16) {
    throw new TypeError(`${name} must be 16 bytes`);
  }
  return value;
}

function point(value, name) {
  if (!(value instanceof Uint8Array) || value.length !== 65 || value[0] !== 0x04) {
    throw new TypeError(`${name} must be a 65-byte uncompressed point`);
  }
  return value;
}

function segment(seg) {
  if (!Number.isInteger(seg) || seg < 0 || seg > 0xffffffff) {
    throw new TypeError("seg must be a u32");
  }
  return u32(seg);
}

function time(value, name) {
  const big = typeof value === "bigint" ? value : Number.isSafeInteger(value) ? BigInt(value) : -1n;
  if (big < 0n || big >= 1n << 64n) throw new TypeError(`${name} must be a u64`);
  return big;
}

function segmentKey(key) {
  if (!(key instanceof Uint8Array) || key.length !== SEGMENT_KEY_BYTES) {
    throw new TypeError("segment key must be 32 bytes");
  }
  return key;
}

/** "vh/v1/device" ‖ staff_id ‖ device_id ‖ hpke_pub ‖ sig_pub ‖ u64 not_after. */
export function deviceCertMessage(staffId, deviceId, hpkePub, sigPub, notAfter) {
  return concat(
    utf8("vh/v1/device"),
    id(staffId, "staffId"),
    id(deviceId, "deviceId"),
    point(hpkePub, "hpkePub"),
    point(sigPub, "sigPub"),
    u64(time(notAfter, "notAfter")),
  );
}

/** "vh/v1/period" ‖ period_id ‖ period_pub ‖ u64 not_before ‖ u64 not_after. */
export function periodCertMessage(periodId, periodPub, notBefore, notAfter) {
  return concat(
    utf8("vh/v1/period"),
    id(periodId, "periodId"),
    point(periodPub, "periodPub"),
    u64(time(notBefore, "notBefore")),
    u64(time(notAfter, "notAfter")),
  );
}

/**
 * Refuse a device certificate unless the service key signed exactly these fields and
 * `now < notAfter` (unix seconds). Throws VerificationError; returns nothing when valid.
 */
export async function verifyDeviceCert(
  servicePub,
  staffId,
  deviceId,
  hpkePub,
  sigPub,
  notAfter,
  signature,
  now,
) {
  const message = deviceCertMessage(staffId, deviceId, hpkePub, sigPub, notAfter);
  if (!(await verify(servicePub, message, signature))) {
    throw new VerificationError("the device certificate is not signed by the service key");
  }
  if (time(now, "now") >= time(notAfter, "notAfter")) {
    throw new VerificationError("the device certificate has expired");
  }
}

/**
 * Refuse a period certificate unless the service key signed exactly these fields and
 * `notBefore <= now < notAfter` (unix seconds). Throws VerificationError.
 */
export async function verifyPeriodCert(
  servicePub,
  periodId,
  periodPub,
  notBefore,
  notAfter,
  signature,
  now,
) {
  const message = periodCertMessage(periodId, periodPub, notBefore, notAfter);
  if (!(await verify(servicePub, message, signature))) {
    throw new VerificationError("the period certificate is not signed by the service key");
  }
  const at = time(now, "now");
  if (at < time(notBefore, "notBefore")) {
    throw new VerificationError("the period certificate is not valid yet");
  }
  if (at >= time(notAfter, "notAfter")) {
    throw new VerificationError("the period certificate has expired");
  }
}

// Certificates as they travel (PROTOCOL.md §6.2): JSON objects of base64url text. The page
// parses them here, once, and verifies them before sealing to or trusting their keys.

/**
 * `value` decoded from base64url, exactly `length` bytes. Throws VerificationError otherwise:
 * a field of a frame that is not what the protocol says is refused like a bad signature.
 */
export function fieldBytes(value, length, name) {
  let bytes;
  try {
    bytes = b64urlDecode(value);
  } catch {
    throw new VerificationError(`${name} is not base64url`);
  }
  if (bytes.length !== length) throw new VerificationError(`${name} is not ${length} bytes`);
  return bytes;
}

function seconds(value, name) {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new VerificationError(`${name} is not a time`);
  }
  return value;
}

/**
 * The service public key the page was served with (`<meta name="vh-service-key">`, 65 bytes).
 * The page and its scripts come from the same origin with SRI, so this is the pinned key;
 * every certificate a socket or an API sends is checked against it. Throws VerificationError
 * if it is missing.
 */
export function pinnedServiceKey(doc = document) {
  const content = doc.querySelector('meta[name="vh-service-key"]')?.content ?? "";
  let key;
  try {
    key = b64urlDecode(content);
  } catch {
    throw new VerificationError("the page carries no valid service key");
  }
  if (key.length !== 65 || key[0] !== 0x04) {
    throw new VerificationError("the page carries no valid service key");
  }
  return key;
}

/**
 * A device certificate's JSON (`{device_id, staff_id, hpke_public_key, sig_public_key,
 * not_after, certificate}`) decoded: `{id, staffId, deviceId, hpkePub, sigPub, notAfter,
 * certificate}` (`id` is the base64url device id). Throws VerificationError for a missing or
 * malformed field. Holding one proves nothing: verifyParsedDeviceCert. Mirrors
 * `DeviceCert.from_dict` in app/crypto/certs.py.
 */
export function parseDeviceCert(json) {
  if (!json || typeof json !== "object") throw new VerificationError("no counsellor device");
  return {
    id: json.device_id,
    deviceId: fieldBytes(json.device_id, 16, "device_id"),
    hpkePub: fieldBytes(json.hpke_public_key, 65, "hpke_public_key"),
    sigPub: fieldBytes(json.sig_public_key, 65, "sig_public_key"),
    staffId: fieldBytes(json.staff_id, 16, "staff_id"),
    notAfter: seconds(json.not_after, "not_after"),
    certificate: fieldBytes(json.certificate, 64, "certificate"),
  };
}

/** verifyDeviceCert for a parseDeviceCert result (`DeviceCert.verify` in Python). */
export function verifyParsedDeviceCert(servicePub, cert, now) {
  const { staffId, deviceId, hpkePub, sigPub, notAfter, certificate } = cert;
  const fields = [staffId, deviceId, hpkePub, sigPub, notAfter, certificate];
  return verifyDeviceCert(servicePub, ...fields, now);
}

/**
 * A period certificate's JSON (`{period_id, public_key, not_before, not_after, certificate}`)
 * decoded: `{periodId, periodPub, notBefore, notAfter, certificate}`. Throws VerificationError
 * for a missing or malformed field.
 */
export function parsePeriodCert(json) {
  if (!json || typeof json !== "object") throw new VerificationError("no period key");
  return {
    periodId: fieldBytes(json.period_id, 16, "period_id"),
    periodPub: fieldBytes(json.public_key, 65, "public_key"),
    notBefore: seconds(json.not_before, "not_before"),
    notAfter: seconds(json.not_after, "not_after"),
    certificate: fieldBytes(json.certificate, 64, "certificate"),
  };
}

/** verifyPeriodCert for a parsePeriodCert result. */
export function verifyParsedPeriodCert(servicePub, cert, now) {
  const { periodId, periodPub, notBefore, notAfter, certificate } = cert;
  return verifyPeriodCert(servicePub, periodId, periodPub, notBefore, notAfter, certificate, now);
}

/** HPKE info for the counsellor device: "vh/v1/wrap|C|" ‖ conv ‖ u32 seg ‖ device_id. */
export function wrapInfoCounsellor(conv, seg, deviceId) {
  return concat(utf8("vh/v1/wrap|C|"), id(conv, "conv"), segment(seg), id(deviceId, "deviceId"));
}

/** HPKE info for the organisation: "vh/v1/wrap|O|" ‖ conv ‖ u32 seg ‖ period_id. */
export function wrapInfoOrganisation(conv, seg, periodId) {
  return concat(utf8("vh/v1/wrap|O|"), id(conv, "conv"), segment(seg), id(periodId, "periodId"));
}

/** enc ‖ ct: K sealed to a counsellor device whose certificate the caller has verified. */
export function sealSegmentKeyToDevice(hpkePub, key, conv, seg, deviceId, options = {}) {
  const info = wrapInfoCounsellor(conv, seg, deviceId);
  return hpke.seal(point(hpkePub, "hpkePub"), info, new Uint8Array(0), segmentKey(key), options);
}

/** enc ‖ ct: K sealed to a period key whose certificate the caller has verified. */
export function sealSegmentKeyToPeriod(periodPub, key, conv, seg, periodId, options = {}) {
  const info = wrapInfoOrganisation(conv, seg, periodId);
  const pub = point(periodPub, "periodPub");
  return hpke.seal(pub, info, new Uint8Array(0), segmentKey(key), options);
}

async function openSegmentKey(skR, sealed, info) {
  const key = await hpke.open(skR, sealed, info, new Uint8Array(0));
  if (key.length !== SEGMENT_KEY_BYTES) throw new hpke.HpkeError("segment key is not 32 bytes");
  return key;
}

/** K from a counsellor wrap; `skR` as hpke.open takes it. Throws hpke.HpkeError. */
export function openSegmentKeyAsDevice(skR, sealed, conv, seg, deviceId) {
  return openSegmentKey(skR, sealed, wrapInfoCounsellor(conv, seg, deviceId));
}

/** K from an organisation wrap; `skR` as hpke.open takes it. Throws hpke.HpkeError. */
export function openSegmentKeyAsPeriod(skR, sealed, conv, seg, periodId) {
  return openSegmentKey(skR, sealed, wrapInfoOrganisation(conv, seg, periodId));
}

/** HKDF(ikm = K, salt = 32 zero bytes, info = "vh/v1/commit", L = 32). */
export function commit(key) {
  return hkdf(segmentKey(key), new Uint8Array(0), utf8("vh/v1/commit"), 32);
}

/**
 * "vh/v1/accept" ‖ conv ‖ u32 seg ‖ commit(K); with `signedAt` (issue 13 (6)) the timed form
 * "vh/v1/accept-at" ‖ conv ‖ u32 seg ‖ u64 signed_at ‖ commit(K): the device's own clock at
 * acceptance, so that a later reader checks the certificate at a signed time.
 */
export async function acceptanceMessage(conv, seg, key, signedAt = null) {
  if (signedAt === null || signedAt === undefined) {
    return concat(utf8("vh/v1/accept"), id(conv, "conv"), segment(seg), await commit(key));
  }
  const at = u64(time(signedAt, "signedAt"));
  return concat(utf8("vh/v1/accept-at"), id(conv, "conv"), segment(seg), at, await commit(key));
}

/**
 * The counsellor device's 64-byte signature accepting segment `seg` of `conv` under K (the
 * timed form when `signedAt` is given).
 */
export async function signAcceptance(sigPrivateKey, conv, seg, key, signedAt = null) {
  return sign(sigPrivateKey, await acceptanceMessage(conv, seg, key, signedAt));
}

/**
 * Refuse an acceptance unless the device signing key `sigPub` (from a verified device
 * certificate) signed this conv, seg and K (and `signedAt`, when given). Throws
 * VerificationError.
 */
export async function verifyAcceptance(sigPub, conv, seg, key, signature, signedAt = null) {
  if (!(await verify(sigPub, await acceptanceMessage(conv, seg, key, signedAt), signature))) {
    throw new VerificationError("the acceptance is not signed by the counsellor's device");
  }
}

/** How far a signed time may lie ahead of the reader's clock (two clocks never agree). */
export const CLOCK_SKEW_SECONDS = 300;

/**
 * Refuse a timed acceptance's `signedAt` unless it is plausible (not after `now` plus
 * CLOCK_SKEW_SECONDS) and the parsed device certificate `cert` was valid then
 * (`check_signed_time` in Python). Throws VerificationError.
 */
export async function checkSignedTime(servicePub, cert, signedAt, now) {
  if (time(signedAt, "signedAt") > time(now, "now") + BigInt(CLOCK_SKEW_SECONDS)) {
    throw new VerificationError("the acceptance is signed at a time still to come");
  }
  await verifyParsedDeviceCert(servicePub, cert, signedAt);
}

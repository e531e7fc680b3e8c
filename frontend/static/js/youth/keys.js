// The young person's side of the key exchange (CRYPTO.md §3, PROTOCOL.md §6.3 and §6.5), in
// memory only: check the counsellor's device certificate and the period certificate against
// the service key pinned in the page, make the segment key K, seal it, check the acceptance,
// and wrap K under a return code. Nothing here touches storage, cookies or the URL (SAFETY S-9).

import { b64urlDecode, b64urlEncode, randomBytes } from "../crypto/bytes.js";
import {
  SEGMENT_KEY_BYTES,
  VerificationError,
  sealSegmentKeyToDevice,
  sealSegmentKeyToPeriod,
  verifyAcceptance,
  verifyDeviceCert,
  verifyPeriodCert,
} from "../crypto/certs.js";
import { NONCE_BYTES, SALT_BYTES, kek, locator, wrapWithCode } from "../crypto/returncode.js";

/**
 * The service public key the page was served with (`<meta name="vh-service-key">`, 65 bytes).
 * The page and its scripts come from the same origin with SRI, so this is the pinned key;
 * anything the socket says is checked against it. Throws VerificationError if it is missing.
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

function bytesOf(value, length, name) {
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
  if (!Number.isSafeInteger(value) || value < 0) throw new VerificationError(`${name} is not a time`);
  return value;
}

/**
 * The keys of a `paired` frame, each verified against `servicePub` at `now` (unix seconds):
 * `{device: {id, idBytes, hpkePub, sigPub}, period: {idBytes, pub} | null}`. Throws
 * VerificationError (or TypeError for a malformed frame) — the caller must then refuse to seal.
 */
export async function verifiedPeers(servicePub, frame, now) {
  const d = frame.device;
  if (!d || typeof d !== "object") throw new VerificationError("no counsellor device");
  const device = {
    id: d.device_id,
    idBytes: bytesOf(d.device_id, 16, "device_id"),
    hpkePub: bytesOf(d.hpke_public_key, 65, "hpke_public_key"),
    sigPub: bytesOf(d.sig_public_key, 65, "sig_public_key"),
  };
  await verifyDeviceCert(
    servicePub,
    bytesOf(d.staff_id, 16, "staff_id"),
    device.idBytes,
    device.hpkePub,
    device.sigPub,
    seconds(d.not_after, "not_after"),
    bytesOf(d.certificate, 64, "certificate"),
    now,
  );
  let period = null;
  const p = frame.period;
  if (p !== null && p !== undefined) {
    period = {
      idBytes: bytesOf(p.period_id, 16, "period_id"),
      pub: bytesOf(p.public_key, 65, "public_key"),
    };
    await verifyPeriodCert(
      servicePub,
      period.idBytes,
      period.pub,
      seconds(p.not_before, "not_before"),
      seconds(p.not_after, "not_after"),
      bytesOf(p.certificate, 64, "certificate"),
      now,
    );
  }
  return { device, period };
}

/**
 * A fresh segment key K and the `keys` frame sealing it to the verified `peers` (never call
 * this with peers that verifiedPeers did not return). `conv` is base64url, `seg` a u32.
 */
export async function newSegmentKeys(peers, conv, seg) {
  const key = randomBytes(SEGMENT_KEY_BYTES);
  const convBytes = b64urlDecode(conv);
  const { device, period } = peers;
  const wrapC = await sealSegmentKeyToDevice(device.hpkePub, key, convBytes, seg, device.idBytes);
  const wrapO = period
    ? await sealSegmentKeyToPeriod(period.pub, key, convBytes, seg, period.idBytes)
    : null;
  const frame = {
    type: "keys",
    conv,
    seg,
    wrap_c: b64urlEncode(wrapC),
    wrap_o: wrapO ? b64urlEncode(wrapO) : null,
  };
  return { key, frame };
}

/** Throws VerificationError unless `sig` (base64url) is the device's acceptance of K. */
export async function checkAcceptance(peers, conv, seg, key, sig) {
  const signature = bytesOf(sig, 64, "sig");
  await verifyAcceptance(peers.device.sigPub, b64urlDecode(conv), seg, key, signature);
}

/**
 * The `return_code` frame wrapping K under `code` (CRYPTO.md §3): a new random salt and nonce,
 * PBKDF2 on purpose slow (about a second). Returns `{frame, locator}`.
 */
export async function returnCodeFrame(code, key, conv, seg) {
  const salt = randomBytes(SALT_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const kekBytes = await kek(code, salt);
  const wrap = await wrapWithCode(kekBytes, nonce, key, b64urlDecode(conv), seg);
  kekBytes.fill(0);
  const loc = b64urlEncode(await locator(code));
  return {
    locator: loc,
    frame: {
      type: "return_code",
      conv,
      seg,
      locator: loc,
      salt: b64urlEncode(salt),
      nonce: b64urlEncode(nonce),
      wrap: b64urlEncode(wrap),
    },
  };
}

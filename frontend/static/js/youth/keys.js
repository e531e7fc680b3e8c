// The young person's side of the key exchange (CRYPTO.md §3, PROTOCOL.md §6.3 and §6.5), in
// memory only: check the counsellor's device certificate and the period certificate against
// the service key pinned in the page (crypto/certs.js parses and verifies both), make the segment key K, seal it, check the acceptance,
// and wrap K under a return code. Nothing here touches storage, cookies or the URL (SAFETY S-9).

import { b64urlDecode, b64urlEncode, randomBytes } from "../crypto/bytes.js";
import {
  SEGMENT_KEY_BYTES,
  VerificationError,
  fieldBytes,
  parseDeviceCert,
  parsePeriodCert,
  sealSegmentKeyToDevice,
  sealSegmentKeyToPeriod,
  verifyAcceptance,
  verifyParsedDeviceCert,
  verifyParsedPeriodCert,
} from "../crypto/certs.js";
import { NONCE_BYTES, SALT_BYTES, kek, locator, wrapWithCode } from "../crypto/returncode.js";

/**
 * The keys of a `paired` frame, each verified against `servicePub` at `now` (unix seconds):
 * `{device: {id, idBytes, hpkePub, sigPub}, period: {idBytes, pub} | null}`. Throws
 * VerificationError (or TypeError for a malformed frame) — the caller must then refuse to seal.
 */
export async function verifiedPeers(servicePub, frame, now) {
  const cert = parseDeviceCert(frame.device);
  await verifyParsedDeviceCert(servicePub, cert, now);
  const { id, deviceId: idBytes, hpkePub, sigPub } = cert;
  const device = { id, idBytes, hpkePub, sigPub };
  let period = null;
  const p = frame.period;
  if (p !== null && p !== undefined) {
    const periodCert = parsePeriodCert(p);
    await verifyParsedPeriodCert(servicePub, periodCert, now);
    period = { idBytes: periodCert.periodId, pub: periodCert.periodPub };
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

/**
 * Throws VerificationError unless `sig` (base64url) is the device's acceptance of K, timed with
 * `signedAt` when that is given (PROTOCOL.md §6.3).
 */
export async function checkAcceptance(peers, conv, seg, key, sig, signedAt = null) {
  const signature = fieldBytes(sig, 64, "sig");
  if (signedAt !== null && signedAt !== undefined && !Number.isSafeInteger(signedAt)) {
    throw new VerificationError("the acceptance's signed time is not a number");
  }
  await verifyAcceptance(peers.device.sigPub, b64urlDecode(conv), seg, key, signature, signedAt);
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

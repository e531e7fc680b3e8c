// The young person's envelope signature (issue 13 (5), docs/PROTOCOL.md §6.7): the browser
// twin of app/crypto/youthsig.py, function for function. The page makes one ECDSA P-256 key
// pair per conversation (non-extractable, memory only), sends the public point in `join`, and
// signs each role-Y envelope it sends: "vh/v1/youth-envelope-sig" ‖ d, d = SHA-256(aad ‖ ct)
// (the AAD binds conv, seg, role, inst and seq).

import { b64urlDecode, b64urlEncode, concat, utf8 } from "./bytes.js";
import { digestOfEnvelope, envelopeDigest, DIGEST_BYTES } from "./transcript.js";
import { generateSigningKeyPair, publicKeyBytes, sign, verify } from "./sign.js";

const DOMAIN = utf8("vh/v1/youth-envelope-sig");

/** `"vh/v1/youth-envelope-sig" ‖ d`. */
export function signatureMessage(digest) {
  if (!(digest instanceof Uint8Array) || digest.length !== DIGEST_BYTES) {
    throw new Error("the envelope digest is 32 bytes");
  }
  return concat(DOMAIN, digest);
}

/** A fresh key pair for one conversation: {privateKey (not extractable), publicKey, pub}
 * with `pub` the 65-byte point as base64url, as the `join` frame carries it. */
export async function makeYouthKey() {
  const pair = await generateSigningKeyPair({ extractable: false });
  return { ...pair, pub: b64urlEncode(await publicKeyBytes(pair.publicKey)) };
}

/** The 64-byte signature of a role-Y envelope (bytes conv, inst, ct). */
export async function signEnvelope(privateKey, conv, seg, inst, seq, ct) {
  const digest = await envelopeDigest(conv, seg, "Y", inst, seq, ct);
  return sign(privateKey, signatureMessage(digest));
}

/** The envelope as it travels (base64url fields) with its `sig` added. */
export async function signed(privateKey, envelope) {
  if (envelope.role !== "Y") throw new Error("only the young person's envelopes are signed");
  const digest = await digestOfEnvelope(envelope);
  return { ...envelope, sig: b64urlEncode(await sign(privateKey, signatureMessage(digest))) };
}

/** Whether `signature` is `publicKey`'s (65 bytes) over this role-Y envelope; never throws. */
export async function verifyEnvelope(publicKey, conv, seg, inst, seq, ct, signature) {
  try {
    const digest = await envelopeDigest(conv, seg, "Y", inst, seq, ct);
    return await verify(publicKey, signatureMessage(digest), signature);
  } catch {
    return false;
  }
}

/** `verifyEnvelope` of an envelope as it travels, with `pub` base64url; false without `sig`. */
export async function verifySigned(pub, envelope) {
  if (envelope.role !== "Y" || typeof envelope.sig !== "string" || typeof pub !== "string") {
    return false;
  }
  try {
    const [conv, inst, ct] = [envelope.conv, envelope.inst, envelope.ct].map(b64urlDecode);
    const [key, sig] = [b64urlDecode(pub), b64urlDecode(envelope.sig)];
    return await verifyEnvelope(key, conv, envelope.seg, inst, envelope.seq, ct, sig);
  } catch {
    return false;
  }
}

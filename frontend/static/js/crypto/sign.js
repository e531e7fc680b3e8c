// ECDSA P-256 with SHA-256, signatures as raw r ‖ s (64 bytes): WebCrypto's own form and the
// wire form of CRYPTO.md §1. Mirrors app/crypto/sign.py (which converts to and from DER).
// Public keys are 65-byte uncompressed points.

export const SIGNATURE_BYTES = 64;
export const PUBLIC_KEY_BYTES = 65;
const ALGORITHM = { name: "ECDSA", namedCurve: "P-256" };
const PARAMS = { name: "ECDSA", hash: "SHA-256" };

function bytes(value, name) {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
  return value;
}

/** Import a 65-byte uncompressed P-256 point as an ECDSA verification key. */
export function importVerifyKey(raw) {
  if (!(raw instanceof Uint8Array) || raw.length !== PUBLIC_KEY_BYTES || raw[0] !== 0x04) {
    throw new TypeError("public key must be a 65-byte uncompressed P-256 point");
  }
  return crypto.subtle.importKey("raw", raw, ALGORITHM, true, ["verify"]);
}

/** Import a PKCS#8 P-256 private key for signing (non-extractable unless asked). */
export function importSigningKey(pkcs8, { extractable = false } = {}) {
  return crypto.subtle.importKey("pkcs8", bytes(pkcs8, "pkcs8"), ALGORITHM, extractable, [
    "sign",
  ]);
}

/** A fresh signing key pair; the private half is non-extractable unless asked. */
export async function generateSigningKeyPair({ extractable = false } = {}) {
  const pair = await crypto.subtle.generateKey(ALGORITHM, extractable, ["sign", "verify"]);
  return { privateKey: pair.privateKey, publicKey: pair.publicKey };
}

/** The 65-byte uncompressed point of an ECDSA public CryptoKey. */
export async function publicKeyBytes(publicKey) {
  return new Uint8Array(await crypto.subtle.exportKey("raw", publicKey));
}

/** The 64-byte r ‖ s signature of `message` by the ECDSA private CryptoKey `privateKey`. */
export async function sign(privateKey, message) {
  return new Uint8Array(await crypto.subtle.sign(PARAMS, privateKey, bytes(message, "message")));
}

/**
 * Whether `sig` (64 bytes r ‖ s) is a valid signature of `message` by `publicKeyRaw65`.
 * Returns false, never throws, for a malformed signature or public key.
 */
export async function verify(publicKeyRaw65, message, sig) {
  if (!(sig instanceof Uint8Array) || sig.length !== SIGNATURE_BYTES) return false;
  let key;
  try {
    key = await importVerifyKey(publicKeyRaw65);
  } catch {
    return false;
  }
  return crypto.subtle.verify(PARAMS, key, sig, bytes(message, "message"));
}

// HPKE base mode (RFC 9180) on WebCrypto: DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-GCM.
// Browsers have no HPKE, so the RFC's pieces are written out here with HMAC, ECDH and AES-GCM:
// LabeledExtract/LabeledExpand (§4), DHKEM Encap/Decap with ExtractAndExpand (§4.1),
// KeySchedule (§5.1), nonces from sequence numbers and Seal/Open (§5.2), the exporter (§5.3).
// Mirrors app/crypto/hpke.py. The AEAD key length is a parameter: 32 (AES-256-GCM,
// aead 0x0002) is CRYPTO.md suite cs = 1; 16 (AES-128-GCM, aead 0x0001) is RFC 9180 A.3.
// Public keys are 65-byte uncompressed points; the sealed form is enc (65 bytes) ‖ ct, what
// Python's hpke.Suite.encrypt returns.

import { b64urlDecode, b64urlEncode, concat, u8, utf8 } from "./bytes.js";

export const KEM_P256_HKDF_SHA256 = 0x0010;
export const KDF_HKDF_SHA256 = 0x0001;
export const AEAD_IDS = Object.freeze({ 16: 0x0001, 32: 0x0002 });
export const MODE_BASE = 0x00;
/** Nenc = Npk: an uncompressed P-256 point. */
export const ENC_BYTES = 65;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
const HASH_BYTES = 32;
const VERSION = utf8("HPKE-v1");
const KEM_SUITE = concat(utf8("KEM"), i2osp2(KEM_P256_HKDF_SHA256));
const P256 = { name: "ECDH", namedCurve: "P-256" };

/** Sealing or opening failed: wrong key, info or aad, tampered or truncated ciphertext. */
export class HpkeError extends Error {
  constructor(message) {
    super(message);
    this.name = "HpkeError";
  }
}

function i2osp2(value) {
  return Uint8Array.of((value >> 8) & 0xff, value & 0xff);
}

function bytes(value, name) {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
  return value;
}

function aeadId(keyLength) {
  const id = AEAD_IDS[keyLength];
  if (id === undefined) throw new TypeError("keyLength must be 16 or 32");
  return id;
}

/** "HPKE" ‖ kem_id ‖ kdf_id ‖ aead_id (RFC 9180 §5.1). */
export function hpkeSuiteId(keyLength) {
  return concat(
    utf8("HPKE"),
    i2osp2(KEM_P256_HKDF_SHA256),
    i2osp2(KDF_HKDF_SHA256),
    i2osp2(aeadId(keyLength)),
  );
}

async function hmac(key, data) {
  // An empty HKDF salt is HashLen zero bytes (RFC 5869 §2.2); WebCrypto refuses empty keys.
  const raw = key.length ? key : new Uint8Array(HASH_BYTES);
  const k = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, data));
}

/** HKDF-Expand (RFC 5869 §2.3) with HMAC-SHA256. */
async function expand(prk, info, length) {
  if (length > 255 * HASH_BYTES) throw new RangeError("HKDF-Expand length too large");
  const out = new Uint8Array(length);
  let t = new Uint8Array(0);
  for (let i = 1, offset = 0; offset < length; i++) {
    t = await hmac(prk, concat(t, info, u8(i)));
    out.set(t.subarray(0, Math.min(HASH_BYTES, length - offset)), offset);
    offset += HASH_BYTES;
  }
  return out;
}

/** LabeledExtract(salt, label, ikm) of RFC 9180 §4; `label` is a string. */
export function labeledExtract(suiteId, salt, label, ikm) {
  return hmac(bytes(salt, "salt"), concat(VERSION, suiteId, utf8(label), bytes(ikm, "ikm")));
}

/** LabeledExpand(prk, label, info, L) of RFC 9180 §4; `label` is a string. */
export function labeledExpand(suiteId, prk, label, info, length) {
  if (length > 0xffff) throw new RangeError("length too large");
  const labeled = concat(i2osp2(length), VERSION, suiteId, utf8(label), bytes(info, "info"));
  return expand(prk, labeled, length);
}

async function extractAndExpand(dh, kemContext) {
  const eaePrk = await labeledExtract(KEM_SUITE, new Uint8Array(0), "eae_prk", dh);
  return labeledExpand(KEM_SUITE, eaePrk, "shared_secret", kemContext, HASH_BYTES);
}

/** Import a 65-byte uncompressed P-256 point as an ECDH public key. */
export function importPublicKey(raw) {
  if (!(raw instanceof Uint8Array) || raw.length !== ENC_BYTES || raw[0] !== 0x04) {
    throw new TypeError("public key must be a 65-byte uncompressed P-256 point");
  }
  return crypto.subtle.importKey("raw", raw, P256, true, []);
}

/** Import a PKCS#8 P-256 private key for opening (non-extractable unless asked). */
export function importPrivateKey(pkcs8, { extractable = false } = {}) {
  return crypto.subtle.importKey("pkcs8", bytes(pkcs8, "pkcs8"), P256, extractable, [
    "deriveBits",
  ]);
}

/**
 * Import a raw 32-byte scalar with its 65-byte public point as an ECDH key pair
 * `{privateKey, publicKey}` (used to inject RFC 9180's fixed ephemeral keys).
 */
export async function importKeyPair(scalar, publicRaw) {
  if (bytes(scalar, "scalar").length !== 32) throw new TypeError("scalar must be 32 bytes");
  const publicKey = await importPublicKey(publicRaw);
  const jwk = {
    kty: "EC",
    crv: "P-256",
    x: b64urlEncode(publicRaw.subarray(1, 33)),
    y: b64urlEncode(publicRaw.subarray(33, 65)),
    d: b64urlEncode(scalar),
    ext: false,
  };
  const privateKey = await crypto.subtle.importKey("jwk", jwk, P256, false, ["deriveBits"]);
  return { privateKey, publicKey };
}

/** A fresh P-256 key pair; the private half is non-extractable unless asked. */
export async function generateKeyPair({ extractable = false } = {}) {
  const pair = await crypto.subtle.generateKey(P256, extractable, ["deriveBits"]);
  return { privateKey: pair.privateKey, publicKey: pair.publicKey };
}

/** The 65-byte uncompressed point of an ECDH public CryptoKey. */
export async function publicKeyBytes(publicKey) {
  return new Uint8Array(await crypto.subtle.exportKey("raw", publicKey));
}

async function dh(privateKey, publicKey) {
  try {
    return new Uint8Array(
      await crypto.subtle.deriveBits({ name: "ECDH", public: publicKey }, privateKey, 256),
    );
  } catch {
    throw new HpkeError("ECDH failed");
  }
}

/** DHKEM Encap (RFC 9180 §4.1): `{sharedSecret, enc}`. `ephemeral` is for known-answer tests. */
export async function encap(pkR, ephemeral) {
  const pkRm = bytes(pkR, "pkR");
  const recipient = await importPublicKey(pkRm);
  const pair = ephemeral ?? (await generateKeyPair());
  const enc = await publicKeyBytes(pair.publicKey);
  const secret = await dh(pair.privateKey, recipient);
  return { sharedSecret: await extractAndExpand(secret, concat(enc, pkRm)), enc };
}

async function recipientKeys(skR) {
  if (skR instanceof CryptoKey) {
    // A bare private key must be extractable: Decap needs pkRm, which only its JWK carries.
    const jwk = await crypto.subtle.exportKey("jwk", skR);
    const pkRm = concat(Uint8Array.of(0x04), b64urlDecode(jwk.x), b64urlDecode(jwk.y));
    return { privateKey: skR, pkRm };
  }
  const { privateKey, publicKey } = skR ?? {};
  if (!(privateKey instanceof CryptoKey)) {
    throw new TypeError("skR must be a CryptoKey or {privateKey, publicKey}");
  }
  const pkRm = publicKey instanceof CryptoKey ? await publicKeyBytes(publicKey) : publicKey;
  if (!(pkRm instanceof Uint8Array) || pkRm.length !== ENC_BYTES) {
    throw new TypeError("publicKey must be a CryptoKey or 65 bytes");
  }
  return { privateKey, pkRm };
}

/** DHKEM Decap (RFC 9180 §4.1): the shared secret of `enc` for the recipient `skR`. */
export async function decap(enc, skR) {
  if (!(enc instanceof Uint8Array) || enc.length !== ENC_BYTES) {
    throw new HpkeError("enc must be 65 bytes");
  }
  const { privateKey, pkRm } = await recipientKeys(skR);
  let ephemeral;
  try {
    ephemeral = await importPublicKey(enc);
  } catch {
    throw new HpkeError("enc is not a P-256 point");
  }
  const secret = await dh(privateKey, ephemeral);
  return extractAndExpand(secret, concat(enc, pkRm));
}

/**
 * KeySchedule in base mode (RFC 9180 §5.1): `{keyScheduleContext, secret, key, baseNonce,
 * exporterSecret}` as bytes. Exported for known-answer tests; callers want setupBaseS/R.
 */
export async function keySchedule(sharedSecret, info, { keyLength = 32 } = {}) {
  const suite = hpkeSuiteId(keyLength);
  const empty = new Uint8Array(0);
  const pskIdHash = await labeledExtract(suite, empty, "psk_id_hash", empty);
  const infoHash = await labeledExtract(suite, empty, "info_hash", bytes(info, "info"));
  const keyScheduleContext = concat(u8(MODE_BASE), pskIdHash, infoHash);
  const secret = await labeledExtract(suite, bytes(sharedSecret, "sharedSecret"), "secret", empty);
  return {
    keyScheduleContext,
    secret,
    key: await labeledExpand(suite, secret, "key", keyScheduleContext, keyLength),
    baseNonce: await labeledExpand(suite, secret, "base_nonce", keyScheduleContext, NONCE_BYTES),
    exporterSecret: await labeledExpand(suite, secret, "exp", keyScheduleContext, HASH_BYTES),
  };
}

/**
 * One direction of an HPKE context: `seal`/`open` use and advance the sequence number, so
 * messages must be opened in the order they were sealed. Made by setupBaseS/setupBaseR.
 */
export class Context {
  #aes;
  #suite;
  #exporterSecret;

  constructor(aes, baseNonce, exporterSecret, suiteId) {
    this.#aes = aes;
    this.baseNonce = baseNonce;
    this.#exporterSecret = exporterSecret;
    this.#suite = suiteId;
    this.seq = 0;
  }

  /** base_nonce XOR I2OSP(seq, 12) (RFC 9180 §5.2). */
  computeNonce(seq) {
    if (!Number.isSafeInteger(seq) || seq < 0) throw new HpkeError("sequence number overflow");
    const out = this.baseNonce.slice();
    let rest = BigInt(seq);
    for (let i = NONCE_BYTES - 1; i >= 0 && rest > 0n; i--) {
      out[i] ^= Number(rest & 0xffn);
      rest >>= 8n;
    }
    return out;
  }

  /** ct ‖ tag of `pt` under the next sequence number. */
  async seal(aad, pt) {
    const params = { name: "AES-GCM", iv: this.computeNonce(this.seq), additionalData: aad };
    const ct = new Uint8Array(await crypto.subtle.encrypt(params, this.#aes, bytes(pt, "pt")));
    this.seq += 1;
    return ct;
  }

  /** The plaintext of `ct` under the next sequence number; throws HpkeError if it fails. */
  async open(aad, ct) {
    if (bytes(ct, "ct").length < TAG_BYTES) throw new HpkeError("ciphertext is too short");
    const params = { name: "AES-GCM", iv: this.computeNonce(this.seq), additionalData: aad };
    let pt;
    try {
      pt = new Uint8Array(await crypto.subtle.decrypt(params, this.#aes, ct));
    } catch {
      throw new HpkeError("the ciphertext could not be opened");
    }
    this.seq += 1;
    return pt;
  }

  /** Secret export (RFC 9180 §5.3): LabeledExpand(exporter_secret, "sec", context, L). */
  export(exporterContext, length) {
    return labeledExpand(this.#suite, this.#exporterSecret, "sec", exporterContext, length);
  }
}

async function context(sharedSecret, info, keyLength) {
  const s = await keySchedule(sharedSecret, info, { keyLength });
  const aes = await crypto.subtle.importKey("raw", s.key, "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
  return new Context(aes, s.baseNonce, s.exporterSecret, hpkeSuiteId(keyLength));
}

/** SetupBaseS: `{enc, context}` for sealing to `pkR` (65 bytes). */
export async function setupBaseS(pkR, info, { keyLength = 32, ephemeral } = {}) {
  aeadId(keyLength);
  const { sharedSecret, enc } = await encap(pkR, ephemeral);
  return { enc, context: await context(sharedSecret, info, keyLength) };
}

/** SetupBaseR: the context for opening what was sealed to `enc`. Throws HpkeError. */
export async function setupBaseR(enc, skR, info, { keyLength = 32 } = {}) {
  aeadId(keyLength);
  return context(await decap(enc, skR), info, keyLength);
}

/**
 * Single-shot Seal: enc (65 bytes) ‖ ct. `pkR` is a 65-byte uncompressed point; `ephemeral`
 * (`{privateKey, publicKey}` CryptoKeys, see importKeyPair) is only for known-answer tests.
 */
export async function seal(pkR, info, aad, pt, { keyLength = 32, ephemeral } = {}) {
  const { enc, context: ctx } = await setupBaseS(pkR, info, { keyLength, ephemeral });
  return concat(enc, await ctx.seal(aad, pt));
}

/**
 * Single-shot Open of enc ‖ ct. `skR` is either `{privateKey, publicKey}` (CryptoKey, and the
 * public key as CryptoKey or 65 bytes: what a non-extractable stored key needs) or an
 * extractable private CryptoKey. Throws HpkeError when it cannot be opened.
 */
export async function open(skR, sealed, info, aad, { keyLength = 32 } = {}) {
  if (!(sealed instanceof Uint8Array) || sealed.length < ENC_BYTES + TAG_BYTES) {
    throw new HpkeError("sealed value is too short");
  }
  const ctx = await setupBaseR(sealed.subarray(0, ENC_BYTES), skR, info, { keyLength });
  return ctx.open(aad, sealed.subarray(ENC_BYTES));
}

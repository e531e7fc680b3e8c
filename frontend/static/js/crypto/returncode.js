// Return codes (CRYPTO.md §3 and §8): 20 Crockford base32 characters (100 bits) made here with
// crypto.getRandomValues, the locator the server may learn, the PBKDF2 key-encryption key and
// the AES-256-GCM wrap of the segment key. Mirrors app/crypto/returncode.py.
// The code's 20 uppercase ASCII bytes are the HKDF ikm and the PBKDF2 password.

import { concat, u32, utf8 } from "./bytes.js";
import { hkdf } from "./message.js";

export const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
export const CODE_LENGTH = 20;
export const ITERATIONS = 600_000;
export const SALT_BYTES = 16;
export const NONCE_BYTES = 12;
export const KEY_BYTES = 32;

/** A typed code that is not a return code, or a wrap the code cannot open. */
export class ReturnCodeError extends Error {
  constructor(message) {
    super(message);
    this.name = "ReturnCodeError";
  }
}

function bytes(value, length, name) {
  if (!(value instanceof Uint8Array) || value.length !== length) {
    throw new TypeError(`${name} must be ${length} bytes`);
  }
  return value;
}

function segment(seg) {
  if (!Number.isInteger(seg) || seg < 0 || seg > 0xffffffff) {
    throw new TypeError("seg must be a u32");
  }
  return u32(seg);
}

/** A fresh code: 20 characters of the Crockford alphabet, 5 uniform random bits each. */
export function newCode() {
  // 256 is a multiple of 32, so the low five bits of a random byte are uniform.
  const random = crypto.getRandomValues(new Uint8Array(CODE_LENGTH));
  return Array.from(random, (b) => ALPHABET[b & 31]).join("");
}

/** The code in groups of four for showing once ("7K3Q 9ZC1 …"); normaliseCode undoes it. */
export function formatCode(code) {
  return normaliseCode(code).match(/.{4}/g).join(" ");
}

/**
 * The canonical code of what someone typed: case, spaces and hyphens ignored, and Crockford's
 * look-alikes read as digits (O → 0, I and L → 1); anything else outside the alphabet (U,
 * punctuation, non-ASCII) is refused. Throws ReturnCodeError if it is not a code.
 */
export function normaliseCode(text) {
  if (typeof text !== "string") throw new ReturnCodeError("a return code is text");
  const stripped = text.replace(/[\s-]/g, "");
  // Refused before upper-casing: "ı".toUpperCase() is "I", and nothing should be guessed at.
  if (/[^\x00-\x7f]/.test(stripped)) {
    throw new ReturnCodeError(`a return code is ${CODE_LENGTH} letters and digits`);
  }
  const code = stripped.toUpperCase().replaceAll("O", "0").replace(/[IL]/g, "1");
  if (code.length !== CODE_LENGTH || [...code].some((c) => !ALPHABET.includes(c))) {
    throw new ReturnCodeError(`a return code is ${CODE_LENGTH} letters and digits`);
  }
  return code;
}

/** HKDF(ikm = code, salt = 32 zero bytes, info = "vh/v1/locator", L = 16): all the server sees. */
export function locator(code) {
  return hkdf(utf8(normaliseCode(code)), new Uint8Array(0), utf8("vh/v1/locator"), 16);
}

/** The 32-byte KEK: PBKDF2-HMAC-SHA256(code, salt16, iterations). Slow on purpose (~1 s). */
export async function kek(code, salt16, iterations = ITERATIONS) {
  if (!Number.isInteger(iterations) || iterations < 1) throw new TypeError("bad iterations");
  const password = await crypto.subtle.importKey(
    "raw",
    utf8(normaliseCode(code)),
    "PBKDF2",
    false,
    ["deriveBits"],
  );
  const salt = bytes(salt16, SALT_BYTES, "salt");
  const params = { name: "PBKDF2", hash: "SHA-256", salt, iterations };
  return new Uint8Array(await crypto.subtle.deriveBits(params, password, KEY_BYTES * 8));
}

/** "vh/v1/wrap|R|" ‖ conv ‖ u32 seg. */
export function returnAad(conv, seg) {
  return concat(utf8("vh/v1/wrap|R|"), bytes(conv, 16, "conv"), segment(seg));
}

function aesKey(kekBytes, usage) {
  if (kekBytes instanceof CryptoKey) return kekBytes;
  return crypto.subtle.importKey("raw", bytes(kekBytes, KEY_BYTES, "kek"), "AES-GCM", false, [
    usage,
  ]);
}

/**
 * ct ‖ tag of the segment key K under the KEK (32 bytes, or an AES-GCM CryptoKey). The caller
 * stores salt, nonce and the result, and must use a fresh random nonce for every wrap.
 */
export async function wrapWithCode(kekBytes, nonce12, key, conv, seg) {
  const params = {
    name: "AES-GCM",
    iv: bytes(nonce12, NONCE_BYTES, "nonce"),
    additionalData: returnAad(conv, seg),
  };
  const aes = await aesKey(kekBytes, "encrypt");
  const ct = await crypto.subtle.encrypt(params, aes, bytes(key, KEY_BYTES, "segment key"));
  return new Uint8Array(ct);
}

/** The segment key K of a return wrap; throws ReturnCodeError if this KEK cannot open it. */
export async function unwrapWithCode(kekBytes, nonce12, wrap, conv, seg) {
  const params = {
    name: "AES-GCM",
    iv: bytes(nonce12, NONCE_BYTES, "nonce"),
    additionalData: returnAad(conv, seg),
  };
  const aes = await aesKey(kekBytes, "decrypt");
  let key;
  try {
    key = new Uint8Array(await crypto.subtle.decrypt(params, aes, wrap));
  } catch {
    throw new ReturnCodeError("the return code does not open this conversation");
  }
  if (key.length !== KEY_BYTES) throw new ReturnCodeError("the wrapped key is not 32 bytes");
  return key;
}

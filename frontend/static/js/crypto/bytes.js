// Byte helpers for the crypto modules: base64url (no padding), concatenation, big-endian ints.
// The Python counterparts are app/kit/b64.py and the u32/u64 helpers of app/crypto/message.py.

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/** base64url without padding (CRYPTO.md §1). */
export function b64urlEncode(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

const B64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * True when `text` is canonical unpadded base64url: decoding and encoding again gives the same
 * text. atob ignores the unused low bits of the last character, so without this one value
 * (an `inst`, a `conv`) could be spelled up to 16 ways (app/kit/b64.py is_b64url).
 */
export function isB64url(text) {
  if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
    return false;
  }
  const unusedBits = { 2: 15, 3: 3 }[text.length % 4];
  return !unusedBits || (B64URL_ALPHABET.indexOf(text.at(-1)) & unusedBits) === 0;
}

/** Decode canonical unpadded base64url; throws TypeError on anything else. */
export function b64urlDecode(text) {
  if (!isB64url(text)) throw new TypeError("not canonical unpadded base64url");
  const padded = text.replaceAll("-", "+").replaceAll("_", "/") + "===".slice((text.length + 3) % 4);
  const binary = atob(padded);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function u8(value) {
  return Uint8Array.of(value & 0xff);
}

export function u16(value) {
  const out = new Uint8Array(2);
  new DataView(out.buffer).setUint16(0, value);
  return out;
}

export function u32(value) {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

/** u64 big-endian; `value` is a Number (exact up to 2^53) or a BigInt. */
export function u64(value) {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}

export function utf8(text) {
  return encoder.encode(text);
}

/** Strict UTF-8 decoding: throws TypeError on malformed bytes. */
export function fromUtf8(bytes) {
  return strictDecoder.decode(bytes);
}

export function randomBytes(n) {
  return crypto.getRandomValues(new Uint8Array(n));
}

// The message layer of CRYPTO.md §4, byte for byte as §8 lays it out (suite cs = 1).
// Mirrors app/crypto/message.py function for function (message_key there is messageKey here);
// both reproduce vectors/crypto-v1.json. Binary arguments are Uint8Arrays: conv and inst are
// the 16-byte ids, role is "Y" or "C", seg a u32 and seq a u64 (Number or BigInt).

import { concat, fromUtf8, u16, u32, u64, u8, utf8 } from "./bytes.js";

export const CS = 1;
export const PAD_BLOCK = 256;
export const TAG_BYTES = 16;
export const MAX_JSON_BYTES = 0xffff;

/** A message that cannot be opened: wrong key, tampered header or ciphertext, bad padding. */
export class MessageError extends Error {
  constructor(message) {
    super(message);
    this.name = "MessageError";
  }
}

/** HKDF-SHA256 (RFC 5869). An empty salt is written as 32 zero bytes (WebCrypto refuses none). */
export async function hkdf(ikm, salt, info, length) {
  const base = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: salt.length ? salt : new Uint8Array(32), info },
    base,
    length * 8,
  );
  return new Uint8Array(bits);
}

function roleByte(role) {
  if (role !== "Y" && role !== "C") throw new TypeError("role must be 'Y' or 'C'");
  return utf8(role);
}

function id(value, name) {
  if (!(value instanceof Uint8Array) || value.length !== 16) {
    throw new TypeError(`${name} must be 16 bytes`);
  }
  return value;
}

/** The AES-256-GCM key of one sender instance: HKDF(K, conv, "vh/v1/key|" ‖ role ‖ inst). */
export function messageKey(key, conv, role, inst) {
  const info = concat(utf8("vh/v1/key|"), roleByte(role), id(inst, "inst"));
  return hkdf(key, id(conv, "conv"), info, 32);
}

/** The 12-byte base IV of one sender instance: HKDF(K, conv, "vh/v1/iv|" ‖ role ‖ inst). */
export function messageIv(key, conv, role, inst) {
  const info = concat(utf8("vh/v1/iv|"), roleByte(role), id(inst, "inst"));
  return hkdf(key, id(conv, "conv"), info, 12);
}

/** iv XOR (4 zero bytes ‖ u64 seq): unique per message of one instance. */
export function nonce(iv, seq) {
  if (iv.length !== 12) throw new TypeError("iv must be 12 bytes");
  const mask = concat(new Uint8Array(4), u64(seq));
  return iv.map((b, i) => b ^ mask[i]);
}

/** "vh1" ‖ u8 cs ‖ conv ‖ u32 seg ‖ role ‖ inst ‖ u64 seq: the envelope header, bound. */
export function aad(cs, conv, seg, role, inst, seq) {
  return concat(
    utf8("vh1"),
    u8(cs),
    id(conv, "conv"),
    u32(seg),
    roleByte(role),
    id(inst, "inst"),
    u64(seq),
  );
}

/** The UTF-8 JSON of a plaintext object (Python's encode_body writes the same bytes). */
export function encodeBody(body) {
  return utf8(JSON.stringify(body));
}

/** u16 n ‖ json ‖ zero bytes, the total a multiple of 256. Throws RangeError if too long. */
export function pad(jsonBytes) {
  if (jsonBytes.length > MAX_JSON_BYTES) throw new RangeError("message too long");
  const framed = 2 + jsonBytes.length;
  const out = new Uint8Array(Math.ceil(framed / PAD_BLOCK) * PAD_BLOCK);
  out.set(u16(jsonBytes.length), 0);
  out.set(jsonBytes, 2);
  return out;
}

/** The JSON bytes of a padded plaintext; throws MessageError if the framing is wrong. */
export function unpad(plaintext) {
  if (plaintext.length < PAD_BLOCK || plaintext.length % PAD_BLOCK) {
    throw new MessageError("plaintext is not padded to a multiple of 256 bytes");
  }
  const n = (plaintext[0] << 8) | plaintext[1];
  if (2 + n > plaintext.length || plaintext.subarray(2 + n).some((b) => b !== 0)) {
    throw new MessageError("plaintext padding is malformed");
  }
  return plaintext.slice(2, 2 + n);
}

async function aesKey(key, conv, role, inst, usage) {
  const raw = await messageKey(key, conv, role, inst);
  return crypto.subtle.importKey("raw", raw, "AES-GCM", false, [usage]);
}

/** ct ‖ tag of one message; the caller must never reuse seq for the same instance. */
export async function encryptMessage(key, conv, seg, role, inst, seq, body) {
  const aes = await aesKey(key, conv, role, inst, "encrypt");
  const iv = await messageIv(key, conv, role, inst);
  const plaintext = pad(encodeBody(body));
  const ct = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: nonce(iv, seq), additionalData: aad(CS, conv, seg, role, inst, seq) },
    aes,
    plaintext,
  );
  return new Uint8Array(ct);
}

/** The plaintext object of one message. Throws MessageError when it cannot be opened. */
export async function decryptMessage(key, conv, seg, role, inst, seq, ct) {
  if (ct.length < PAD_BLOCK + TAG_BYTES) throw new MessageError("ciphertext is too short");
  const aes = await aesKey(key, conv, role, inst, "decrypt");
  const iv = await messageIv(key, conv, role, inst);
  let plaintext;
  try {
    plaintext = new Uint8Array(
      await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: nonce(iv, seq), additionalData: aad(CS, conv, seg, role, inst, seq) },
        aes,
        ct,
      ),
    );
  } catch {
    throw new MessageError("the message could not be decrypted");
  }
  let body;
  try {
    body = JSON.parse(fromUtf8(unpad(plaintext)));
  } catch (error) {
    if (error instanceof MessageError) throw error;
    throw new MessageError("the message is not UTF-8 JSON");
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new MessageError("the message is not a JSON object");
  }
  return body;
}

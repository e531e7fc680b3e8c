// A warm transfer's handoff note (CRYPTO.md §5, PROTOCOL.md §7): sealed by the sending
// counsellor's console straight to the colleague's certified device, opened by that device.
// The server relays the sealed note once with the offer and never stores it.
//
//   sealed = HPKE.Seal(device_hpke_pub, info = "vh/v1/note|" ‖ conv ‖ device_id, aad = "",
//                      pt = pad(UTF-8 JSON {"type": "note", "body": text}))
//
// `conv` and `device_id` are the 16-byte ids (no segment: a note belongs to the offer, not to a
// key segment). The "vh/v1/note|" label keeps a note from ever opening as a segment key wrap
// ("vh/v1/wrap|C|…") or the reverse. The plaintext is padded like a message (u16 length ‖ JSON
// ‖ zeros to a multiple of 256 bytes) so its length leaks little. Same suite as every seal:
// DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-256-GCM; sealed form enc (65) ‖ ct.

import { concat, fromUtf8, utf8 } from "./bytes.js";
import * as hpke from "./hpke.js";
import { encodeBody, pad, unpad } from "./message.js";

/** Sealed notes travel as base64url of at most this many characters (PROTOCOL.md §7). */
export const NOTE_MAX_CHARS = 8 * 1024;

function id(value, name) {
  if (!(value instanceof Uint8Array) || value.length !== 16) {
    throw new TypeError(`${name} must be 16 bytes`);
  }
  return value;
}

/** "vh/v1/note|" ‖ conv ‖ device_id. */
export function noteInfo(conv, deviceId) {
  return concat(utf8("vh/v1/note|"), id(conv, "conv"), id(deviceId, "deviceId"));
}

/**
 * enc ‖ ct of `text` for the device `deviceId` whose HPKE public key is `hpkePub` (65 bytes).
 * The caller must have verified that device's certificate against the pinned service key.
 */
export function sealNote(hpkePub, text, conv, deviceId) {
  const plaintext = pad(encodeBody({ type: "note", body: String(text) }));
  return hpke.seal(hpkePub, noteInfo(conv, deviceId), new Uint8Array(0), plaintext);
}

/** The text of a sealed note; `skR` as hpke.open takes it. Throws if it cannot be opened. */
export async function openNote(skR, sealed, conv, deviceId) {
  const plaintext = await hpke.open(skR, sealed, noteInfo(conv, deviceId), new Uint8Array(0));
  const body = JSON.parse(fromUtf8(unpad(plaintext)));
  if (body?.type !== "note" || typeof body.body !== "string") {
    throw new TypeError("not a handoff note");
  }
  return body.body;
}

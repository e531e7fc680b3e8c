// INTERIM SEGMENT KEY — NOT END-TO-END ENCRYPTION. THE SERVER CAN DERIVE THIS KEY.
//
// Until the E2E issue brings sealed segment keys (CRYPTO.md §3: K made in the young person's
// browser and sealed with HPKE to the counsellor's device and the period key), both sides derive
// K from the conversation id alone, which the server knows:
//
//     K = HKDF(ikm = conv id bytes, salt = 32 zero bytes, info = "vh/v1/test-key", L = 32)
//
// This only keeps plaintext out of the database and logs and lets the pages work end to end
// now. It protects against nobody who can see a conversation id. It is replaced by the sealed
// segment key of CRYPTO.md §3; app/client/testkey.py is its Python twin and goes too.

import { utf8 } from "./bytes.js";
import { hkdf } from "./message.js";

export const INFO = "vh/v1/test-key";

/** The INTERIM, server-derivable segment key of conversation `conv` (16 raw bytes). */
export function interimSegmentKey(conv) {
  if (!(conv instanceof Uint8Array) || conv.length !== 16) {
    throw new TypeError("conv must be 16 bytes");
  }
  return hkdf(conv, new Uint8Array(0), utf8(INFO), 32);
}

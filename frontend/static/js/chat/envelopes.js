// Building and opening envelopes of the CRYPTO.md §4 shape: the browser twin of
// app/client/envelopes.py (Sender.text_envelope there is Sender.textEnvelope here).

import { b64urlDecode, b64urlEncode, randomBytes } from "../crypto/bytes.js";
import { MessageError, decryptMessage, encryptMessage } from "../crypto/message.js";

/** One sending instance (this page load): its random `inst` and next `seq` per segment. */
export class Sender {
  constructor(conv, role, seg = 0) {
    this.conv = conv;
    this.role = role;
    this.seg = seg;
    this.inst = b64urlEncode(randomBytes(16));
    this.nextSeq = 1;
  }

  /** Encrypt `body` under segment key `key` as this instance's next seq. */
  async messageEnvelope(key, body) {
    const seq = this.nextSeq++;
    const ct = await encryptMessage(
      key,
      b64urlDecode(this.conv),
      this.seg,
      this.role,
      b64urlDecode(this.inst),
      seq,
      body,
    );
    return {
      v: 1,
      cs: 1,
      conv: this.conv,
      seg: this.seg,
      role: this.role,
      inst: this.inst,
      seq,
      ct: b64urlEncode(ct),
    };
  }

  /** A {"type": "text", "body": text, "sent_at": unix ms} message, encrypted. */
  textEnvelope(key, text) {
    return this.messageEnvelope(key, { type: "text", body: text, sent_at: Date.now() });
  }
}

/** The plaintext object of `envelope`; throws MessageError if it cannot be opened. */
export async function openEnvelope(key, envelope) {
  let conv, inst, ct;
  try {
    [conv, inst, ct] = [envelope.conv, envelope.inst, envelope.ct].map(b64urlDecode);
  } catch {
    throw new MessageError("the envelope's binary fields are not base64url");
  }
  return decryptMessage(key, conv, envelope.seg, envelope.role, inst, envelope.seq, ct);
}

/** The text of a `text` message; throws MessageError for anything else. */
export async function openText(key, envelope) {
  const body = await openEnvelope(key, envelope);
  if (body.type !== "text" || typeof body.body !== "string") {
    throw new MessageError("not a text message");
  }
  return body.body;
}

/** The ws(s):// URL of a socket path on this page's origin. */
export function socketUrl(path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

const RECONNECT_DELAYS_MS = [500, 1000, 2000, 4000, 8000];

/** Milliseconds to wait before reconnect number `attempt` (0-based): backoff with jitter. */
export function reconnectDelay(attempt) {
  const base = RECONNECT_DELAYS_MS[Math.min(attempt, RECONNECT_DELAYS_MS.length - 1)];
  return base * (0.5 + Math.random());
}

/** Send one JSON frame if the socket is open; false (nothing sent) otherwise. */
export function sendFrame(socket, frame) {
  if (socket?.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify(frame));
    return true;
  }
  return false;
}

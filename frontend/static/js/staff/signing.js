// The console's transcript signatures (issue 13 (5), docs/PROTOCOL.md §6.6): what this device
// holds of each segment it opened — every envelope received that decrypted, and its own ones
// once the server acknowledged them — signed with the device's non-extractable ECDSA key
// (staff/device.js) before a transfer and at close, and again when the chat leaves the console.
// Only digests-to-be are kept (the envelopes as sent: ciphertext), never plaintext, and they go
// with the panel's keys.

import { digestOfEnvelope, idOf, makeSignature } from "../crypto/transcript.js";

/** How long a close or transfer waits for this panel's last messages to be acknowledged. */
const ACK_WAIT_MS = 3000;

export class TranscriptLog {
  constructor(conv) {
    this.conv = conv;
    this.segs = new Set(); // segments whose key opened here: the ones this device signs
    this.held = new Map(); // seg -> Map id -> envelope
    this.pending = new Map(); // "seg|inst|seq" -> own envelope not yet acknowledged
    this.signed = new Map(); // seg -> the last signed digest (base64url), not to sign twice
  }

  opened(seg) {
    this.segs.add(seg);
  }

  /** An envelope received that decrypted (or one of ours, acknowledged). */
  received(envelope) {
    if (!this.held.has(envelope.seg)) this.held.set(envelope.seg, new Map());
    this.held.get(envelope.seg).set(idOf(envelope.role, envelope.inst, envelope.seq), envelope);
  }

  sent(envelope) {
    this.pending.set(`${envelope.seg}|${envelope.inst}|${envelope.seq}`, envelope);
  }

  /** The server stored one of ours: from now on it is part of what this device signs. */
  acked(frame) {
    const key = `${frame.seg}|${frame.inst}|${frame.seq}`;
    const envelope = this.pending.get(key);
    if (!envelope) return;
    this.pending.delete(key);
    this.received(envelope);
  }

  /** Resolves once every own envelope is acknowledged, or after `ms`. */
  async settled(ms = ACK_WAIT_MS) {
    const until = Date.now() + ms;
    while (this.pending.size > 0 && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** The `transcript_sig` frames for each segment whose holdings changed since last signed. */
  async frames(signingKey) {
    const out = [];
    for (const seg of [...this.segs].sort((a, b) => a - b)) {
      const held = new Map();
      for (const [id, envelope] of this.held.get(seg) ?? []) {
        const { role, inst, seq } = envelope;
        held.set(id, { role, inst, seq, digest: await digestOfEnvelope(envelope) });
      }
      const frame = await makeSignature(signingKey, this.conv, seg, held);
      if (this.signed.get(seg) === frame.digest) continue;
      this.signed.set(seg, frame.digest);
      out.push(frame);
    }
    return out;
  }

  /** The panel forgets the chat (deleted): nothing of it stays. */
  clear() {
    this.segs.clear();
    this.held.clear();
    this.pending.clear();
    this.signed.clear();
  }
}

// The young person's check of the counsellor device's transcript signature (issue 13 (5),
// docs/PROTOCOL.md §6.6). Before a transfer and at close the counsellor's device signs the
// digest of every envelope it holds of the segment; the server relays it as `transcript_sig`.
// This page holds the same envelopes (its own as sent, the counsellor's as received and
// decrypted) and checks, with the device's signing key certified at pairing (youth/keys.js):
// the signature is the device's, it names exactly the envelopes this page has with the same
// bytes, and every counsellor message shown here is among them. If not, a calm notice says so
// (the chat goes on). Memory only, like every key and message of the page (SAFETY S-9).

import { _ } from "../i18n.js";
import { checkSignature, digestOfEnvelope, idOf } from "../crypto/transcript.js";

export class TranscriptCheck {
  /** `notify(text)` shows a notice in the transcript. */
  constructor(notify) {
    this.notify = notify;
    this.peers = new Map(); // seg -> {sigPub, alias}: the certified device of that segment
    this.held = new Map(); // seg -> Map id -> {role, inst, seq, digest}
    this.waiting = new Map(); // seg -> a signature naming envelopes not here yet
    this.warned = new Set(); // segments already told about (once each)
  }

  /** Segment `seg` is sealed to a device whose certificate verified (`paired`). */
  peer(seg, sigPub, alias) {
    this.peers.set(seg, { sigPub, alias });
  }

  /** An envelope this page sent, or received and decrypted. */
  async record(envelope) {
    const digest = await digestOfEnvelope(envelope);
    const { seg, role, inst, seq } = envelope;
    if (!this.held.has(seg)) this.held.set(seg, new Map());
    this.held.get(seg).set(idOf(role, inst, seq), { role, inst, seq, digest });
    const waiting = this.waiting.get(seg);
    if (waiting) await this.signature(waiting, { later: true });
  }

  /** A `transcript_sig` frame for this conversation. */
  async signature(frame, { later = false } = {}) {
    const peer = this.peers.get(frame.seg);
    if (!peer || this.warned.has(frame.seg)) return;
    this.waiting.delete(frame.seg);
    const held = this.held.get(frame.seg) ?? new Map();
    let result;
    try {
      result = await checkSignature(frame, held, peer.sigPub);
    } catch {
      result = { status: "mismatch", missing: [], uncovered: [] };
    }
    if (result.status === "incomplete") {
      // A signed message in the young person's name that this page never sent: someone else
      // wrote it. A counsellor message still on its way: check again when it arrives.
      if (result.missing.some((id) => id.startsWith("Y|"))) return this.warn(frame.seg, peer);
      this.waiting.set(frame.seg, frame);
      return;
    }
    // A counsellor message shown here that the device did not sign at that moment was not
    // sent by it (checked when the signature arrives: later ones are signed next time).
    const unsigned = !later && result.uncovered.some((id) => id.startsWith("C|"));
    if (result.status === "mismatch" || unsigned) this.warn(frame.seg, peer);
  }

  warn(seg, peer) {
    this.warned.add(seg);
    this.notify(
      _(
        "A check of this chat did not match: {alias}'s device and this page do not have the " +
          "same messages. Someone else may have added or changed a message. If something here " +
          "seems wrong, you can end the chat. If you are in danger now, call 112.",
        { alias: peer.alias },
      ),
    );
  }
}

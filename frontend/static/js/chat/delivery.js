// Delivery that cannot lie (PROTOCOL.md §4), shared by the youth chat and each console panel.
//
// Receiving: each stream (seg, role, inst) is a contiguous prefix plus the seqs seen beyond it
// (SeqSet, the twin of app/chat/envelope.py SeqSet). An envelope is recorded only after it
// decrypted, so a forged one (any seq) cannot block the real stream; the prefix is the `have`
// cursor of a sync; what is still missing after a sync could not be delivered.
// Sending: every envelope stays in memory until its own (seg, inst, seq) is acknowledged, and
// only then is its message shown as delivered. It is sent again after `unavailable` (with a
// short backoff; later messages wait behind it, so each stream is stored in order), and after
// every `synced` (a reconnect's sync, or a gap's).

import { isB64url } from "../crypto/bytes.js";
import { _, ngettext } from "../i18n.js";

/** The seqs held of one stream: 1..prefix, plus `beyond`. */
export class SeqSet {
  constructor() {
    this.prefix = 0;
    this.beyond = new Set();
  }

  has(seq) {
    return seq <= this.prefix || this.beyond.has(seq);
  }

  /** Record `seq`; false when it was held already (a duplicate or a replay). */
  add(seq) {
    if (this.has(seq)) return false;
    if (seq === this.prefix + 1) {
      this.prefix = seq;
      while (this.beyond.delete(this.prefix + 1)) this.prefix += 1;
    } else {
      this.beyond.add(seq);
    }
    return true;
  }

  /** How many seqs below the highest held are not held. */
  missing() {
    let highest = this.prefix;
    for (const seq of this.beyond) highest = Math.max(highest, seq);
    return highest - this.prefix - this.beyond.size;
  }
}

/**
 * True when `envelope` has the CRYPTO.md §4 shape with canonical base64url fields: anything
 * else cannot come from an honest server and is dropped unseen (one envelope re-spelled with
 * ignored trailing bits would otherwise be a new stream, shown again).
 */
export function wellFormed(envelope) {
  return (
    envelope !== null &&
    typeof envelope === "object" &&
    Number.isSafeInteger(envelope.seg) &&
    envelope.seg >= 0 &&
    Number.isSafeInteger(envelope.seq) &&
    envelope.seq >= 1 &&
    (envelope.role === "Y" || envelope.role === "C") &&
    [envelope.conv, envelope.inst].every((id) => isB64url(id) && id.length === 22) &&
    isB64url(envelope.ct)
  );
}

/** What was received of each stream, as SeqSets keyed "seg|role|inst". */
export class Streams {
  constructor() {
    this.streams = new Map();
    this.reported = new Map(); // stream -> how many missing were already reported
  }

  static keyOf(e) {
    return `${e.seg}|${e.role}|${e.inst}`;
  }

  /** True when `envelope` was received (and decrypted) before: drop it. */
  has(envelope) {
    return this.streams.get(Streams.keyOf(envelope))?.has(envelope.seq) ?? false;
  }

  /** Record `envelope` as received: call only after it decrypted. */
  add(envelope) {
    const key = Streams.keyOf(envelope);
    if (!this.streams.has(key)) this.streams.set(key, new SeqSet());
    return this.streams.get(key).add(envelope.seq);
  }

  /** True while some stream has a gap (a later seq arrived first). */
  hasGaps() {
    for (const seqs of this.streams.values()) if (seqs.missing() > 0) return true;
    return false;
  }

  /** After a sync: how many more messages than reported before could not be delivered. */
  undelivered() {
    let count = 0;
    for (const [key, seqs] of this.streams) {
      const missing = seqs.missing();
      count += Math.max(0, missing - (this.reported.get(key) ?? 0));
      this.reported.set(key, missing);
    }
    return count;
  }

  /** `have` for a sync (each stream's prefix), plus `own` cursors of this page's streams. */
  cursors(own = []) {
    const have = [];
    for (const [key, seqs] of this.streams) {
      const [seg, role, inst] = key.split("|");
      have.push({ seg: Number(seg), role, inst, seq: seqs.prefix });
    }
    return have.concat(own);
  }
}

/** The "n messages could not be delivered" line in the page's language, or null for none. */
export function undeliveredText(count) {
  if (count <= 0) return null;
  return ngettext(
    "{n} message could not be delivered.",
    "{n} messages could not be delivered.",
    count,
  );
}

/**
 * A message's delivery mark (the youth page asks for one per own message): a text inside the
 * message, so it is seen and read by a screen reader with it — "Sending…", then "Delivered"
 * at the message's own ack, or "Not delivered" when it was refused for good.
 */
export function markSending(item) {
  const mark = document.createElement("span");
  mark.className = "message-mark";
  mark.dataset.delivery = "sending";
  mark.textContent = _("Sending…");
  item.append(mark);
}

function setMark(item, state, text) {
  const mark = item?.querySelector("[data-delivery]");
  if (!mark) return;
  mark.dataset.delivery = state;
  mark.textContent = text;
}

const RESEND_DELAYS_MS = [1000, 2000, 4000, 8000];

/**
 * This page's own envelopes until each one's own ack. `send(envelope)` writes one to the
 * socket (false when it is down: it is sent again after the next `synced`).
 */
export class Unacked {
  /** `onRecovered()` runs at the first ack after `unavailable` (to clear a "busy" line). */
  constructor(send, onRecovered = () => {}) {
    this.send = send;
    this.onRecovered = onRecovered;
    this.busy = false; // an `unavailable` was seen and no ack since
    this.items = new Map(); // "seg|inst|seq" -> {envelope, item, sent}
    this.acked = new Map(); // "seg|inst" -> SeqSet of acknowledged seqs
    this.failing = false; // the server said unavailable: later envelopes wait in line
    this.timer = undefined;
    this.attempt = 0;
  }

  static keyOf(seg, inst, seq) {
    return `${seg}|${inst}|${seq}`;
  }

  /** Keep `envelope` (shown as `item`, pending until acked, if given) and send it. */
  add(envelope, item = null) {
    const entry = { envelope, item, sent: false };
    this.items.set(Unacked.keyOf(envelope.seg, envelope.inst, envelope.seq), entry);
    if (!this.failing) entry.sent = this.send(envelope);
  }

  /** An `ack`: only this envelope is delivered; true when it was one of ours. */
  acknowledged(frame) {
    const key = Unacked.keyOf(frame.seg, frame.inst, frame.seq);
    const stream = `${frame.seg}|${frame.inst}`;
    const entry = this.items.get(key);
    if (!entry && !this.acked.has(stream)) return false;
    if (!this.acked.has(stream)) this.acked.set(stream, new SeqSet());
    this.acked.get(stream).add(frame.seq);
    if (entry) {
      entry.item?.classList.remove("message-pending");
      setMark(entry.item, "delivered", _("Delivered"));
      this.items.delete(key);
    }
    if (!this.failing) this.attempt = 0;
    if (this.busy && !this.failing) {
      this.busy = false;
      this.onRecovered();
    }
    return true;
  }

  /** The seq up to which every envelope of an own stream was acknowledged (a sync cursor). */
  ackedPrefix(seg, inst) {
    return this.acked.get(`${seg}|${inst}`)?.prefix ?? 0;
  }

  /** True when `ref` ({seg, inst, seq} of an error frame) names one of ours. */
  owns(ref) {
    return Boolean(ref) && this.items.has(Unacked.keyOf(ref.seg, ref.inst, ref.seq));
  }

  /** `unavailable` for one of ours: not stored, so send everything unacked again soon. */
  unavailable() {
    this.failing = true;
    this.busy = true;
    if (this.timer !== undefined) return;
    const base = RESEND_DELAYS_MS[Math.min(this.attempt, RESEND_DELAYS_MS.length - 1)];
    this.attempt += 1;
    this.timer = setTimeout(() => {
      // Everything goes again, in order, and what is written from now on follows it: a
      // further `unavailable` starts the next, longer wait.
      this.timer = undefined;
      this.failing = false;
      this.resend();
    }, base * (0.75 + Math.random() / 2));
  }

  /** A refusal for good (bad input): it will never be delivered; its item says so. */
  refused(ref) {
    const key = Unacked.keyOf(ref.seg, ref.inst, ref.seq);
    const entry = this.items.get(key);
    if (!entry) return;
    this.items.delete(key);
    entry.item?.classList.replace("message-pending", "message-failed");
    setMark(entry.item, "failed", _("Not delivered"));
  }

  /** Send every unacknowledged envelope again, in the order they were made (the server
   * stores each once and acks a repeat as a duplicate). */
  resend() {
    for (const entry of this.items.values()) entry.sent = this.send(entry.envelope);
  }

  /** The chat ended or the page forgets: drop everything (the quick exit). */
  clear() {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.items.clear();
    this.acked.clear();
    this.failing = false;
    this.busy = false;
  }
}

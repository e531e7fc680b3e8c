// One conversation panel of the staff console: transcript (role=log), message box, close.
// Messages are encrypted with the message layer of CRYPTO.md §4 under the segment key K that
// the young person's browser made and sealed to this counsellor device (CRYPTO.md §3,
// PROTOCOL.md §6.3): the panel unseals K with the device's HPKE key, signs the acceptance with
// the device's signing key, and only then can read and write. K stays in memory.
// A conversation deleted by the young person or a supervisor (SAFETY S-18, `closed` with
// reason "deleted") keeps only a notice: its messages, shared history, keys and drafts go.
// Before a transfer and at close the device signs what it holds of the segment (signing.js).

import { b64urlDecode, b64urlEncode } from "../crypto/bytes.js";
import { openSegmentKeyAsDevice, signAcceptance } from "../crypto/certs.js";
import { Compose } from "../chat/compose.js";
import { Streams, Unacked, undeliveredText, wellFormed } from "../chat/delivery.js";
import { Sender, openEnvelope } from "../chat/envelopes.js";
import { Transcript } from "../chat/transcript.js";
import { verifySigned } from "../crypto/youthsig.js";
import { attachCanned } from "./canned.js";
import { CloseControl } from "./closing.js";
import { TranscriptLog } from "./signing.js";
import { ago } from "./labels.js";
import { addNotice, sentAt, stamp } from "./notices.js";
import { TransferControl } from "./transfer.js";

/** How long a gap in a stream may wait to be filled live before a sync asks for it. */
const GAP_WAIT_MS = 2000;

const KIND_NAMES = { youth: "young person", professional: "professional" };

/** How long a dropped connection waits before the console says "connection lost". */
const LOST_NOTICE_MS = 1500;
/** How long an ended chat's messages stay on the console before they are cleared. */
const ENDED_KEPT_MS = 10 * 60 * 1000;

export class Conversation {
  /**
   * `info` is {conv, kind, language, urgent, seg, device, wrap, accepted} from hello or
   * assigned; `send(frame)` writes to the console socket (false when it is down); `number`
   * names the panel for people; `device` is this browser's staff/device.js Device.
   */
  constructor(template, info, number, send, device, { fresh = false } = {}) {
    this.info = info;
    this.conv = info.conv;
    this.convBytes = b64urlDecode(info.conv);
    this.sendFrame = send;
    this.device = device;
    this.element = template.content.firstElementChild.cloneNode(true);
    this.element.dataset.conv = this.conv;
    this.urgent = Boolean(info.urgent);
    if (info.urgent) this.element.classList.add("urgent");
    this.log = this.element.querySelector("[data-transcript]");
    this.transcript = new Transcript(this.log);
    this.sinceLine = this.element.querySelector("[data-chat-since]");
    this.label = "";
    this.since = Date.now(); // when it came to this console (the list's order)
    // Unread: the young person's messages not yet seen in the active pane. A chat listed by
    // `hello` (a reload) counts only what arrives after its first replay; a new one all of it,
    // and itself until it is looked at.
    this.counting = fresh;
    this.fresh = fresh;
    this.unread = 0;
    this.lastFromThem = null; // unix ms of the young person's last message
    this.endedText = "ended";
    this.onIncoming = () => {};
    this.onChange = () => {};
    this.status = this.element.querySelector("[data-chat-status]");
    this.composer = new Compose(this.element.querySelector("[data-compose]"), {
      active: () => this.open && this.sender !== null,
      onText: (text) => this.sendText(text),
      onTyping: (on) => this.sendFrame({ type: "typing", conv: this.conv, typing: on }),
    });
    attachCanned(this.composer.box, info.language); // "/word": canned replies, never sent alone
    this.closeButton = this.element.querySelector("[data-close-chat]");
    this.dismissButton = this.element.querySelector("[data-dismiss]");
    this.number = number;
    // A transfer or a close goes after the device's transcript signature (issue 13 (5)).
    this.signatures = new TranscriptLog(this.conv);
    const signed = async (frame) => {
      await this.signTranscript({ wait: true });
      return this.sendFrame(frame);
    };
    this.transfer = new TransferControl(this.element, this.conv, number, signed);
    this.closing = new CloseControl(this.element, this.conv, number, signed);
    this.streams = new Streams(); // what was received (and decrypted) of each stream
    this.unreadable = new Set(); // envelopes already reported as undecryptable
    // Sent, not yet acknowledged: shown as pending until each one's own ack (PROTOCOL.md §4).
    this.unacked = new Unacked(
      (envelope) => this.sendFrame({ type: "envelope", envelope }),
      () => {
        this.status.textContent = "";
      },
    );
    this.ownInsts = new Map(); // inst -> seg of every instance this panel sent with
    this.syncing = false;
    this.gapTimer = undefined;
    this.open = true;
    this.away = false; // "connection lost" shown, and no `presence` back since
    this.lostTimer = null;
    this.keys = new Map(); // seg -> K (32 bytes), in memory only
    this.acceptStored = new Set(); // segments whose acceptance the server confirmed
    this.held = []; // envelopes of a segment whose key has not arrived yet
    this.sender = null; // made once the newest segment's key is known
    this.erased = false; // deleted: nothing of it may be shown again
    this.chain = Promise.resolve();
  }

  /** "K7" (staff/labels.js): the chat's name on this console, from its id. */
  setLabel(label) {
    this.label = label;
    const kind = KIND_NAMES[this.info.kind] ?? this.info.kind;
    const urgent = this.urgent ? " — URGENT: in danger now" : "";
    this.element.querySelector("[data-chat-title]").textContent =
      `Chat ${label} — ${kind}, ${this.info.language}${urgent}`;
    this.log.setAttribute("aria-label", `Messages, chat ${label}`);
    this.element.setAttribute("aria-label", `Chat ${label}`);
  }

  /** Unread messages, and the chat itself while it is new and not yet looked at. */
  unreadCount() {
    return this.unread + (this.fresh ? 1 : 0);
  }

  markRead() {
    this.unread = 0;
    this.fresh = false;
  }

  /** Each second: how long ago the young person last wrote, counted on. */
  tick(now) {
    if (this.erased) return;
    const parts = [];
    if (this.lastFromThem !== null) {
      parts.push(`Last message from them ${ago((now - this.lastFromThem) / 1000)}`);
    } else if (this.open) {
      parts.push("No message from them yet");
    }
    const text = parts.join(" · ");
    if (this.sinceLine.textContent !== text) this.sinceLine.textContent = text;
  }

  /** The note of the warm transfer that brought the chat here, kept readable in the pane. */
  showHandoff(from, text) {
    const box = this.element.querySelector("[data-handoff]");
    const title = box.querySelector("[data-handoff-title]");
    title.textContent = `Handoff note from ${from}`;
    title.id = `chat-${this.number}-handoff`;
    box.setAttribute("role", "region");
    box.setAttribute("aria-labelledby", title.id);
    box.querySelector("[data-handoff-text]").textContent = text;
    box.hidden = false;
  }

  /** The console's own socket went away (`false`) or came back (`true`). */
  connection(up) {
    if (!this.open) return;
    if (!up) {
      if (this.offline) return;
      this.offline = true;
      // Writing goes on: what is sent meanwhile stays pending and goes out on reconnect.
      addNotice(
        this.transcript,
        "offline",
        "Your console lost its connection. Reconnecting… Messages you write are sent when it is back.",
      );
    } else if (this.offline) {
      this.offline = false;
      addNotice(this.transcript, "online", "Your console is connected again.");
    }
  }

  init(onDismiss) {
    this.loadSummary();
    this.dismissButton.addEventListener("click", () => onDismiss(this));
    this.composer.setEnabled(false);
    this.status.textContent = "Waiting for the young person's keys…";
    if ((this.info.seg ?? 0) > 0) {
      // Taken over from a colleague or the queue: earlier segments were sealed to someone else
      // and are never sent here (CRYPTO.md §5).
      addNotice(
        this.transcript,
        "info",
        "This chat was passed to you. Earlier messages stay with the counsellor they were " +
          "written to.",
      );
    }
  }

  /**
   * The triage answers under the title (issue 11): who (a professional is labelled as such),
   * the language, topic, age band, danger now, and the wait before this pairing. No content.
   */
  async loadSummary() {
    const line = this.element.querySelector("[data-chat-summary]");
    try {
      const response = await fetch(`/staff/api/conversations/${this.conv}/summary`, {
        credentials: "same-origin",
      });
      if (!response.ok) return;
      const s = await response.json();
      if (this.erased) return;
      const minutes = Math.round(s.waited_seconds / 60);
      const parts = [
        s.kind === "professional" ? "Professional seeking consultation" : "Young person",
        `language ${s.language}`,
        `topic: ${s.topic ? s.topic.label : "not given"}`,
        `age: ${s.age_band ? s.age_band.label : "not given"}`,
        `in danger now: ${s.danger_now ? "YES" : "no"}`,
        `waited ${minutes < 1 ? "under a minute" : `${minutes} min`} before this chat`,
      ];
      line.textContent = parts.join(" · ");
      line.classList.toggle("danger", s.danger_now);
      this.tick(Date.now());
    } catch {
      // The summary is a help, not a must: the chat works without it.
    }
  }

  /** `have` for a sync of this conversation: each stream's prefix, own ones as acked. */
  cursors() {
    const own = [...this.ownInsts].map(([inst, seg]) => ({
      seg,
      role: "C",
      inst,
      seq: this.unacked.ackedPrefix(seg, inst),
    }));
    return this.streams.cursors(own);
  }

  /** Ask for what is missing; the console sends the frame (false when its socket is down). */
  sync() {
    if (this.sendFrame({ type: "sync", conv: this.conv, have: this.cursors() })) {
      this.syncing = true;
    }
  }

  /** The replay of a sync is complete: report what could not be delivered, and send again
   * what was never acknowledged (the server stores each once). */
  synced() {
    this.syncing = false;
    const notice = undeliveredText(this.streams.undelivered());
    if (notice) addNotice(this.transcript, "error", notice);
    this.counting = true; // from now on what arrives is new
    this.unacked.resend();
  }

  /** A stream has a gap: if it is still there in a moment (not just out of order), sync. */
  checkGaps() {
    if (this.gapTimer !== undefined || !this.streams.hasGaps()) return;
    this.gapTimer = setTimeout(() => {
      this.gapTimer = undefined;
      if (this.open && !this.syncing && this.streams.hasGaps()) this.sync();
    }, GAP_WAIT_MS);
  }

  /**
   * A sealed segment key for this conversation: from `keys`, or a `wrap` inside `hello` or
   * `assigned`. Opens it with this device's key, accepts it (signed) and then shows what was
   * held back. A wrap sealed to another device cannot be opened here, and says so.
   */
  async sealedKey({ seg, device, wrap, accepted }) {
    if (!wrap || this.erased) return;
    if (!this.keys.has(seg) && !(await this.unseal(seg, device, wrap))) return;
    // Signed only once K opened here; sent again after a reconnect until the server stored it
    // (`hello` says accepted: true then; a repeat is answered alike and not stored twice).
    if (accepted !== true && !this.acceptStored.has(seg)) {
      // Timed (PROTOCOL.md §6.3): this device's clock is signed in, so that a return visit
      // checks the certificate at a time the server cannot choose.
      const signedAt = Math.floor(Date.now() / 1000);
      const key = this.keys.get(seg);
      const sig = await signAcceptance(this.device.signingKey, this.convBytes, seg, key, signedAt);
      const frame = { type: "accept", conv: this.conv, seg, sig: b64urlEncode(sig) };
      this.sendFrame({ ...frame, signed_at: signedAt });
    }
    const held = this.held;
    this.held = [];
    for (const envelope of held) await this.received(envelope);
  }

  /** Open K of segment `seg` with this device's key; false (and a notice) if it cannot be. */
  async unseal(seg, device, wrap) {
    if (device && device !== this.device.id) {
      addNotice(
        this.transcript,
        "decrypt",
        "This chat's key was sealed to another of your devices: it cannot be read in this browser.",
      );
      return false;
    }
    let key;
    try {
      key = await openSegmentKeyAsDevice(
        this.device.hpke,
        b64urlDecode(wrap),
        this.convBytes,
        seg,
        this.device.idBytes,
      );
    } catch {
      addNotice(
        this.transcript,
        "decrypt",
        "The young person's key could not be opened on this device: messages cannot be read.",
      );
      return false;
    }
    this.keys.set(seg, key);
    this.signatures.opened(seg);
    if (!this.sender || seg > this.sender.seg) {
      this.sender = new Sender(this.conv, "C", seg);
      this.ownInsts.set(this.sender.inst, seg);
    }
    addNotice(this.transcript, "info", "End-to-end encrypted: the young person's key opened on this device.");
    if (this.open) {
      this.composer.setEnabled(true);
      this.status.textContent = "";
    }
    return true;
  }

  /** The server stored our acceptance of segment `seg` (accept_stored). */
  acceptanceStored(seg) {
    this.acceptStored.add(seg);
  }

  async received(envelope) {
    if (this.erased || !wellFormed(envelope) || envelope.conv !== this.conv) return;
    if (envelope.role === "C" && this.ownInsts.has(envelope.inst)) return; // shown when sent
    const key = this.keys.get(envelope.seg);
    if (!key) {
      if (this.held.length < 1000) this.held.push(envelope);
      return;
    }
    if (this.streams.has(envelope)) return; // a duplicate or a replay
    const own = envelope.role === "C";
    let body;
    try {
      body = await openEnvelope(key, envelope);
    } catch {
      this.unreadableEnvelope(envelope);
      return;
    }
    // Only what decrypted moves the stream on: a forged seq cannot block the real one.
    this.streams.add(envelope);
    this.signatures.received(envelope);
    // PROTOCOL.md §6.7: with the page key stored at join, a young person's message is theirs
    // only if that key signed it (without one, an older conversation: shown as before).
    const youthKey = this.info.youth_key;
    const notTheirs = !own && typeof youthKey === "string" && !(await verifySigned(youthKey, envelope));
    // A "rekey" says the young person moved on to a new segment (CRYPTO.md §5): not shown.
    if (body.type !== "rekey") {
      if (body.type === "text" && typeof body.body === "string") {
        const at = sentAt(body);
        const them = KIND_NAMES[this.info.kind] === "professional" ? "Professional" : "Young person";
        const who = own ? "You" : notTheirs ? `Not from the ${them.toLowerCase()}'s page` : them;
        const item = this.transcript.addMessage(who, body.body, { own });
        stamp(item, at);
        if (notTheirs) {
          item.classList.add("message-not-you");
          if (!this.notTheirsShown) {
            this.notTheirsShown = true;
            addNotice(
              this.transcript,
              "info",
              "A message in the young person's name was not signed by their page. Someone else " +
                "who holds this chat's key may have written it: do not take it as their words.",
            );
          }
        }
        if (!own) {
          this.lastFromThem = Math.max(this.lastFromThem ?? 0, at);
          if (this.counting) {
            this.unread += 1;
            this.onIncoming(this, "message");
          } else {
            this.onChange(); // a replayed message: no alert, but the times are redrawn
          }
        }
      } else {
        addNotice(this.transcript, "error", "A message could not be shown.");
      }
    }
    if (!own) this.status.textContent = "";
    this.checkGaps();
  }

  /** Shown once per envelope, and the other side is told; the stream does not move on. */
  unreadableEnvelope(envelope) {
    const { seg, role, inst, seq } = envelope;
    const id = `${Streams.keyOf(envelope)}|${seq}`;
    if (this.unreadable.has(id) || this.unreadable.size >= 1000) return;
    this.unreadable.add(id);
    addNotice(this.transcript, "decrypt", "A message could not be decrypted.");
    this.sendFrame({ type: "undecryptable", conv: this.conv, seg, role, inst, seq });
  }

  /** The young person's client reported that one of our messages could not be opened. */
  undecryptable() {
    addNotice(this.transcript, "decrypt", "A message did not arrive readable for the young person.");
  }

  /** An ack: only the message with this very (seg, inst, seq) is delivered. */
  acknowledged(frame) {
    if (!this.ownInsts.has(frame.inst)) return;
    this.unacked.acknowledged(frame);
    this.signatures.acked(frame);
  }

  /**
   * Sign what this device holds of each of its segments and send it (PROTOCOL.md §6.6), unless
   * nothing changed since the last signature. `wait`: first let the last messages be
   * acknowledged (never inside the console's frame loop, which delivers the acks).
   */
  async signTranscript({ wait = false } = {}) {
    if (this.erased || !this.device?.signingKey) return;
    try {
      await this.chain;
      if (wait) await this.signatures.settled();
      for (const frame of await this.signatures.frames(this.device.signingKey)) {
        this.sendFrame(frame);
      }
    } catch {
      addNotice(this.transcript, "error", "This chat's transcript could not be signed.");
    }
  }

  /** True when the error frame's `ref` names one of this panel's unacknowledged envelopes. */
  owns(ref) {
    return this.unacked.owns(ref);
  }

  /** Queue encryption and sending of `text`; `chain` keeps seq order on the wire. */
  sendText(text) {
    const item = stamp(this.transcript.addMessage("You", text, { own: true }), Date.now());
    item.classList.add("message-pending");
    const sender = this.sender;
    const key = this.keys.get(sender.seg);
    this.chain = this.chain
      .then(async () => {
        const envelope = await sender.textEnvelope(key, text);
        this.signatures.sent(envelope);
        this.unacked.add(envelope, item);
      })
      .catch(() => addNotice(this.transcript, "error", "The message could not be sent."));
  }

  showTyping(on) {
    this.status.textContent = on ? "The young person is typing…" : "";
  }

  /**
   * The young person's connection dropped (tab closed, phone locked) or came back. A drop is
   * shown after a moment (`LOST_NOTICE_MS`): a quick exit also drops the socket, and its
   * `closed` ("left suddenly") usually follows at once; then only that is shown.
   */
  presence(present) {
    if (!this.open) return;
    clearTimeout(this.lostTimer);
    this.lostTimer = null;
    if (!present) {
      this.lostTimer = setTimeout(() => this.connectionLost(), LOST_NOTICE_MS);
      return;
    }
    if (!this.away) return;
    this.away = false;
    addNotice(this.transcript, "back", "The young person is back.");
    this.status.textContent = "";
    this.element.classList.remove("youth-away");
  }

  connectionLost() {
    this.lostTimer = null;
    if (!this.open || this.away) return;
    this.away = true;
    addNotice(
      this.transcript,
      "away",
      "the young person's page went away (closed or locked). The chat ends by itself if " +
        "they do not come back within a few minutes.",
    );
    this.status.textContent = "Connection lost. Waiting for the young person to come back…";
    this.element.classList.add("youth-away");
  }

  closed(frame) {
    if (frame.reason === "deleted") {
      this.deleted(frame);
      return;
    }
    if (this.erased) return;
    this.open = false;
    clearTimeout(this.lostTimer);
    let text = "You closed the chat.";
    let kind = "closed";
    this.endedText = "ended";
    if (frame.by === "gone") {
      text = "This chat is no longer with you (passed on or ended while you were away).";
    } else if (frame.by === "youth") {
      if (frame.reason === "left") {
        kind = "left";
        text = "The young person left suddenly (quick exit).";
        this.endedText = "left suddenly";
      } else if (frame.reason === "abandoned") {
        text = "The chat ended: the young person's connection was lost and they did not come back.";
      } else text = "The young person ended the chat.";
    }
    addNotice(this.transcript, kind, text);
    if (frame.by === "youth") this.onIncoming(this, "ended");
    // Nothing more can be sent or read in it: its keys go now, its messages after a while.
    this.forget();
    this.composer.box.value = "";
    clearTimeout(this.clearTimer);
    this.clearTimer = setTimeout(() => this.clearEnded(), ENDED_KEPT_MS);
    this.status.textContent = "";
    this.composer.disable();
    this.transfer.disable();
    this.closing.ended();
    this.dismissButton.disabled = false;
    this.dismissButton.hidden = false;
    this.element.classList.add("chat-closed");
  }

  /**
   * The conversation was deleted, open or already closed (SAFETY S-18): by the young person
   * (`by: "youth"`) or a supervisor (the server says `by: "counsellor"`). Everything it held
   * goes from the page and from memory: messages, the shared earlier chat, drafts, keys, what
   * was waiting to be sent or shown. Only the notice stays, until the panel is removed.
   */
  deleted(frame) {
    if (this.erased) return;
    this.erased = true;
    this.open = false;
    clearTimeout(this.lostTimer);
    this.forget();
    this.signatures.clear();
    this.element.querySelector("[data-chat-summary]").textContent = ""; // its metadata too
    this.streams = new Streams();
    this.unreadable.clear();
    this.ownInsts.clear();
    this.acceptStored.clear();
    this.sender = null;
    this.info = { ...this.info, wrap: null };
    for (const section of this.element.querySelectorAll("[data-shared-history]")) {
      section.remove();
    }
    this.transcript.clear();
    this.composer.box.value = "";
    this.composer.disable();
    this.transfer.disable();
    this.element.classList.remove("youth-away");
    this.status.textContent = "";
    const text =
      frame.by === "youth"
        ? "The young person deleted this conversation."
        : "A supervisor deleted this conversation.";
    this.endedText = "deleted";
    this.sinceLine.textContent = "";
    this.element.querySelector("[data-handoff]").hidden = true;
    addNotice(this.transcript, "info", `${text} Its messages are gone from this console too.`)
      .classList.add("notice-deleted");
    this.dismissButton.disabled = false;
    this.dismissButton.hidden = false;
    this.element.classList.add("chat-closed", "chat-deleted");
  }

  /**
   * The chat left this console (`transferred`, PROTOCOL.md §7.2): nothing of it is kept — its
   * messages, keys and drafts go — and only a notice says where it went, until removed.
   */
  handedOver(text) {
    if (this.erased) return;
    this.erased = true;
    this.open = false;
    clearTimeout(this.lostTimer);
    this.forget();
    this.streams = new Streams();
    this.sender = null;
    for (const section of this.element.querySelectorAll("[data-shared-history]")) {
      section.remove();
    }
    this.element.querySelector("[data-handoff]").hidden = true;
    this.transcript.clear();
    this.composer.box.value = "";
    this.composer.disable();
    this.transfer.disable();
    this.closing.ended();
    this.status.textContent = "";
    this.sinceLine.textContent = "";
    this.element.querySelector("[data-chat-summary]").textContent = "";
    this.element.querySelector("[data-transfer-status]").textContent = "";
    this.lastFromThem = null;
    this.element.classList.remove("youth-away");
    this.endedText = "transferred";
    addNotice(this.transcript, "transferred", text);
    this.dismissButton.disabled = false;
    this.dismissButton.hidden = false;
    this.element.classList.add("chat-closed");
  }

  /**
   * An ended chat's messages leave the page `ENDED_KEPT_MS` after the end (SECURITY: a console
   * left open holds no old conversations); only a notice stays until the panel is removed.
   */
  clearEnded() {
    if (this.erased) return;
    for (const section of this.element.querySelectorAll("[data-shared-history]")) {
      section.remove();
    }
    this.transcript.clear();
    this.element.querySelector("[data-handoff]").hidden = true;
    this.sinceLine.textContent = "";
    addNotice(
      this.transcript,
      "info",
      "This ended chat was cleared from the console. The organisation's export can read it " +
        "again while it is kept.",
    );
  }

  /** The chat is no longer this console's (found on reconnect): keep nothing of its keys. */
  gone() {
    this.closed({ by: "gone" });
    this.forget();
  }

  /** Forget the segment keys (the panel is removed or the counsellor logged out). */
  forget() {
    for (const key of this.keys.values()) key.fill(0);
    this.keys.clear();
    this.signatures.clear(); // signed already, if it was to be (console.js signs first)
    this.held = [];
    clearTimeout(this.gapTimer);
    this.unacked.clear();
  }

  error(frame) {
    if (frame.code === "unavailable" && this.unacked.owns(frame.ref)) {
      // Not stored: kept, and sent again shortly (it still shows as not delivered).
      this.unacked.unavailable();
      this.status.textContent = "The service is busy: messages will be sent again in a moment…";
      return;
    }
    if (this.unacked.owns(frame.ref)) this.unacked.refused(frame.ref);
    addNotice(this.transcript, "error", frame.message || "Something went wrong.");
  }
}

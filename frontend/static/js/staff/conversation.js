// One conversation panel of the staff console: transcript (role=log), message box, close.
// Messages are encrypted with the message layer of CRYPTO.md §4 under the INTERIM segment key
// of crypto/testkey.js until sealed segment keys (CRYPTO.md §3) land.

import { b64urlDecode } from "../crypto/bytes.js";
import { interimSegmentKey } from "../crypto/testkey.js";
import { Compose } from "../chat/compose.js";
import { Sender, Streams, openText } from "../chat/envelopes.js";
import { Transcript } from "../chat/transcript.js";

const KIND_NAMES = { youth: "young person", professional: "professional" };

export class Conversation {
  /**
   * `info` is {conv, kind, language, urgent} from hello or assigned; `send(frame)` writes to the
   * console socket (false when it is down); `number` names the panel for people.
   */
  constructor(template, info, number, send) {
    this.info = info;
    this.conv = info.conv;
    this.sendFrame = send;
    this.element = template.content.firstElementChild.cloneNode(true);
    this.element.dataset.conv = this.conv;
    const kind = KIND_NAMES[info.kind] ?? info.kind;
    const title = `Chat ${number} — ${kind}, ${info.language}${info.urgent ? " — URGENT: in danger now" : ""}`;
    this.element.querySelector("[data-chat-title]").textContent = title;
    if (info.urgent) this.element.classList.add("urgent");
    const log = this.element.querySelector("[data-transcript]");
    log.setAttribute("aria-label", `Messages, chat ${number}`);
    this.transcript = new Transcript(log);
    this.status = this.element.querySelector("[data-chat-status]");
    this.composer = new Compose(this.element.querySelector("[data-compose]"), {
      active: () => this.open && this.key !== null,
      onText: (text) => this.sendText(text),
      onTyping: (on) => this.sendFrame({ type: "typing", conv: this.conv, typing: on }),
    });
    this.closeButton = this.element.querySelector("[data-close-chat]");
    this.dismissButton = this.element.querySelector("[data-dismiss]");
    this.streams = new Streams();
    this.pending = new Map();
    this.acked = 0;
    this.open = true;
    this.key = null;
    this.sender = null;
  }

  async init(onDismiss) {
    this.key = await interimSegmentKey(b64urlDecode(this.conv));
    this.sender = new Sender(this.conv, "C");
    this.closeButton.addEventListener("click", () => {
      this.sendFrame({ type: "close", conv: this.conv });
    });
    this.dismissButton.addEventListener("click", () => onDismiss(this));
  }

  /** `have` for a sync of this conversation. */
  cursors() {
    return this.streams.cursors(this.sender, this.acked);
  }

  async received(envelope) {
    if (envelope.role === "C" && envelope.inst === this.sender.inst) return;
    if (!this.streams.accept(envelope)) return;
    const own = envelope.role === "C";
    try {
      const text = await openText(this.key, envelope);
      this.transcript.addMessage(own ? "You" : "Young person", text, { own });
    } catch {
      this.transcript.addNotice("A message could not be decrypted and is not shown.", "error");
    }
    if (!own) this.status.textContent = "";
  }

  acknowledged(frame) {
    if (frame.inst !== this.sender.inst) return;
    this.acked = Math.max(this.acked, frame.seq);
    for (const [seq, { item }] of this.pending) {
      if (seq <= frame.seq) {
        item.classList.remove("message-pending");
        this.pending.delete(seq);
      }
    }
  }

  /** After a reconnect's sync: send again what was never acknowledged (the server dedups). */
  resend() {
    for (const { envelope } of this.pending.values()) {
      this.sendFrame({ type: "envelope", envelope });
    }
  }

  /** Queue encryption and sending of `text`; `chain` keeps seq order on the wire. */
  sendText(text) {
    const item = this.transcript.addMessage("You", text, { own: true });
    item.classList.add("message-pending");
    this.chain = (this.chain ?? Promise.resolve())
      .then(async () => {
        const envelope = await this.sender.textEnvelope(this.key, text);
        this.pending.set(envelope.seq, { envelope, item });
        this.sendFrame({ type: "envelope", envelope });
      })
      .catch(() => this.transcript.addNotice("The message could not be sent.", "error"));
  }

  showTyping(on) {
    this.status.textContent = on ? "The young person is typing…" : "";
  }

  closed(frame) {
    this.open = false;
    let text = "You closed the chat.";
    if (frame.by === "youth") {
      text =
        frame.reason === "left"
          ? "The young person left suddenly (quick exit)."
          : "The young person ended the chat.";
    }
    this.transcript.addNotice(text);
    this.status.textContent = "";
    this.composer.disable();
    this.dismissButton.disabled = false;
    this.dismissButton.hidden = false;
    this.element.classList.add("chat-closed");
  }

  error(frame) {
    this.transcript.addNotice(frame.message || "Something went wrong.", "error");
  }
}

// Warm transfers offered to this counsellor (PROTOCOL.md §7): one card per offer with the chat's
// kind, language and urgency, the handoff note opened with this device's key (crypto/note.js),
// and Accept / Decline. An offer expires on the server after 120 s, counted down on the card;
// the card goes when the server withdraws it, when the chat arrives (`assigned`), or when it
// is answered. The opened note is handed to the chat once it arrives (`takeNote`), so the new
// counsellor can still read it in the chat pane; it is never stored.

import { b64urlDecode } from "../crypto/bytes.js";
import { openNote } from "../crypto/note.js";
import { span } from "./labels.js";
import { reasonText } from "./transfer.js";

const KIND_NAMES = { youth: "young person", professional: "professional" };

export class Offers {
  /**
   * `section` holds the list and is hidden while there is no offer; `template` makes a card;
   * `send(frame)` writes to the console socket; `device()` is this browser's Device (or null);
   * `say(text)` writes to the console's status line.
   */
  constructor(section, template, send, device, say) {
    this.section = section;
    this.list = section.querySelector("[data-offer-list]");
    this.template = template;
    this.send = send;
    this.device = device;
    this.say = say;
    this.cards = new Map(); // conv -> element
    this.notes = new Map(); // conv -> {from, text|null}: the opened note, until the chat arrives
    this.timers = new Map(); // conv -> interval of the card's countdown
  }

  async add(frame) {
    this.remove(frame.conv);
    const card = this.template.content.firstElementChild.cloneNode(true);
    card.dataset.conv = frame.conv;
    const kind = KIND_NAMES[frame.kind] ?? frame.kind;
    const urgent = frame.urgent ? " — URGENT: in danger now" : "";
    const who = typeof frame.from === "string" && frame.from ? frame.from : "A colleague";
    card.querySelector("[data-offer-title]").textContent =
      `${who} offers you a chat — ${kind}, ${frame.language}${urgent}`;
    if (frame.urgent) card.classList.add("urgent");
    const expires = card.querySelector("[data-offer-expires]");
    const until = Number(frame.expires_at) * 1000;
    const count = () => {
      const left = (until - Date.now()) / 1000;
      expires.textContent =
        left > 0
          ? `Answer within ${span(left)}, or it goes back to ${who}.`
          : `Time is up: the chat goes back to ${who}.`;
      expires.classList.toggle("soon", left <= 30);
    };
    count();
    this.timers.set(frame.conv, setInterval(count, 1000));
    const note = card.querySelector("[data-offer-note]");
    const opened = await this.noteText(frame);
    note.textContent = opened.shown;
    this.notes.set(frame.conv, { from: who, text: opened.text });
    const status = card.querySelector("[data-offer-status]");
    const buttons = card.querySelectorAll("button");
    const answer = (accept) => {
      if (!this.send({ type: "offer_answer", conv: frame.conv, accept })) {
        status.textContent = "Not connected: try again.";
        return;
      }
      for (const button of buttons) button.disabled = true;
      status.textContent = accept ? "Accepting…" : "Declining…";
    };
    card.querySelector("[data-offer-accept]").addEventListener("click", () => answer(true));
    card.querySelector("[data-offer-decline]").addEventListener("click", () => answer(false));
    this.cards.set(frame.conv, card);
    this.list.append(card);
    this.section.hidden = false;
  }

  /** The note's text, opened with this device's key; never rendered as HTML. */
  async noteText(frame) {
    if (!frame.note) return { shown: "No note.", text: null };
    const device = this.device();
    try {
      const text = await openNote(
        device.hpke,
        b64urlDecode(frame.note),
        b64urlDecode(frame.conv),
        device.idBytes,
      );
      return { shown: `Note: ${text}`, text };
    } catch {
      const failed = "The note could not be opened on this device.";
      return { shown: failed, text: failed };
    }
  }

  /** The note of the accepted offer for `conv` ({from, text} or null), handed over once. */
  takeNote(conv) {
    const note = this.notes.get(conv) ?? null;
    this.notes.delete(conv);
    return note;
  }

  has(conv) {
    return this.cards.has(conv);
  }

  remove(conv) {
    clearInterval(this.timers.get(conv));
    this.timers.delete(conv);
    const card = this.cards.get(conv);
    if (!card) return;
    card.remove();
    this.cards.delete(conv);
    this.section.hidden = this.cards.size === 0;
  }

  /** `offer_withdrawn`: declined (by us), expired, or the sender is gone. */
  withdrawn(frame) {
    if (!this.has(frame.conv)) return;
    this.remove(frame.conv);
    this.notes.delete(frame.conv);
    const why = {
      declined: "You declined the offered chat.",
      expired: "An offered chat went back to your colleague: it was not answered in time.",
      target_gone: "An offered chat went back to your colleague: you were off duty.",
      closed: "An offered chat ended before you answered.",
    };
    this.say(why[frame.reason] ?? "An offered chat was withdrawn.");
  }

  /** A `transfer_refused` error about an offer (no_offer: it was no longer open). */
  refused(frame) {
    this.remove(frame.conv);
    this.say(`The offer could not be answered: ${reasonText(frame.reason)}.`);
  }

  clear() {
    for (const conv of [...this.cards.keys()]) this.remove(conv);
    this.notes.clear();
  }
}

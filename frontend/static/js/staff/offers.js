// Warm transfers offered to this counsellor (PROTOCOL.md §7): one card per offer with the chat's
// kind, language and urgency, the handoff note opened with this device's key (crypto/note.js),
// and Accept / Decline. An offer expires on the server after 120 s; the card goes when the
// server withdraws it, when the chat arrives (`assigned`), or when it is answered.

import { b64urlDecode } from "../crypto/bytes.js";
import { openNote } from "../crypto/note.js";
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
    const until = new Date(Number(frame.expires_at) * 1000);
    card.querySelector("[data-offer-expires]").textContent =
      `Answer before ${until.toLocaleTimeString()}, or it goes back to them.`;
    const note = card.querySelector("[data-offer-note]");
    note.textContent = await this.noteText(frame);
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
    if (!frame.note) return "No note.";
    const device = this.device();
    try {
      const text = await openNote(
        device.hpke,
        b64urlDecode(frame.note),
        b64urlDecode(frame.conv),
        device.idBytes,
      );
      return `Note: ${text}`;
    } catch {
      return "The note could not be opened on this device.";
    }
  }

  has(conv) {
    return this.cards.has(conv);
  }

  remove(conv) {
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
  }
}

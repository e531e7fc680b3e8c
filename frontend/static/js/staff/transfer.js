// The "Transfer" control of one conversation panel (PROTOCOL.md §7): to a colleague on duty
// (GET /staff/api/colleagues) or back to a queue (youth/professional, optionally a skill queue),
// warm (the colleague accepts first) or cold (at once). A warm transfer to a person may carry a
// handoff note, sealed here to the colleague's device once its certificate verifies against
// the service key pinned in the page (crypto/note.js); the server never sees the text.
// Everything is built with textContent; nothing is kept after the panel goes.

import { b64urlDecode, b64urlEncode } from "../crypto/bytes.js";
import { parseDeviceCert, pinnedServiceKey, verifyParsedDeviceCert } from "../crypto/certs.js";
import { NOTE_MAX_CHARS, sealNote } from "../crypto/note.js";

/** Why the server refused or returned a transfer, for people. */
const REASONS = {
  self: "you cannot transfer a chat to yourself",
  target_not_on_duty: "that colleague is not on duty any more",
  target_cannot_serve: "that colleague cannot take this chat (language, kind or organisation)",
  target_full: "that colleague has no free capacity",
  no_one_available: "no one on duty can take it now",
  nobody_can_serve:
    "nobody else on duty can serve that queue now; tick \"Transfer anyway\" to send it there",
  offer_pending: "a transfer of this chat is already waiting for an answer",
  not_yours: "this chat is not yours any more",
  no_offer: "the offer is no longer open",
  declined: "they declined",
  expired: "they did not answer in time",
  target_gone: "they went off duty",
};

export function reasonText(reason) {
  return REASONS[reason] ?? "it was not possible";
}

/**
 * The colleague's device as {idBytes, hpkePub}, after its certificate verified against
 * `servicePub` for that colleague's staff id at `now` (unix seconds). Throws otherwise: the
 * caller must then seal nothing to it.
 */
export async function verifiedColleagueDevice(servicePub, colleague, now) {
  const d = colleague.device;
  if (!d || d.staff_id !== colleague.staff_id) throw new Error("no certified device");
  const cert = parseDeviceCert(d);
  await verifyParsedDeviceCert(servicePub, cert, now);
  return { idBytes: cert.deviceId, hpkePub: cert.hpkePub };
}

/**
 * Whether anyone on duty but this counsellor can serve `conv` in the queue (kind, skill):
 * GET /staff/api/queue-served. Throws when it cannot be told.
 */
async function fetchServed(conv, queue, skill) {
  const query = new URLSearchParams({ conv, queue });
  if (skill) query.set("skill", skill);
  const response = await fetch(`/staff/api/queue-served?${query}`, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`${response.status}`);
  const body = await response.json();
  return body.served === true;
}

async function fetchColleagues() {
  const response = await fetch("/staff/api/colleagues", { credentials: "same-origin" });
  if (!response.ok) throw new Error(`the list could not be loaded (${response.status})`);
  const body = await response.json();
  return Array.isArray(body.colleagues) ? body.colleagues : [];
}

export class TransferControl {
  /**
   * `element` is the panel; `conv` the conversation id (base64url); `number` the panel's
   * number; `send(frame)` writes to the console socket (after the device's transcript
   * signature) and resolves to false when it is down.
   */
  constructor(element, conv, number, send) {
    this.conv = conv;
    this.convBytes = b64urlDecode(conv);
    this.send = send;
    this.openButton = element.querySelector("[data-transfer-open]");
    this.form = element.querySelector("[data-transfer]");
    this.target = this.form.elements.target;
    this.queueFields = element.querySelector("[data-transfer-queue-fields]");
    this.noteField = element.querySelector("[data-transfer-note-field]");
    this.status = element.querySelector("[data-transfer-status]");
    this.served = element.querySelector("[data-transfer-served]");
    this.confirmField = element.querySelector("[data-transfer-confirm-field]");
    this.checked = 0; // the latest "who can serve" request, so an older answer is dropped
    // The template's labels name their control; ids are made per panel so they stay unique.
    for (const label of this.form.querySelectorAll("label[data-for]")) {
      const control = this.form.elements[label.dataset.for];
      control.id = `chat-${number}-${label.dataset.for}`;
      label.htmlFor = control.id;
    }
    this.colleagues = new Map(); // staff_id -> colleague, from the last load
    this.pending = false;
    this.openButton.addEventListener("click", () => (this.form.hidden ? this.show() : this.hide()));
    this.form.querySelector("[data-transfer-cancel]").addEventListener("click", () => this.hide());
    this.form.addEventListener("change", () => this.fields());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
  }

  /** Open the form with a fresh list of colleagues on duty. */
  async show(message = "") {
    this.form.hidden = false;
    this.openButton.setAttribute("aria-expanded", "true");
    this.status.textContent = message || "Loading colleagues on duty…";
    let list = [];
    try {
      list = await fetchColleagues();
      this.status.textContent = message;
    } catch (error) {
      this.status.textContent = `Colleagues: ${error.message}. You can still choose a queue.`;
    }
    this.colleagues = new Map(list.map((c) => [c.staff_id, c]));
    const chosen = this.target.value;
    const options = [new Option("Choose…", "")];
    for (const c of list) {
      const org = c.organisation ? `, ${c.organisation}` : "";
      const label = `${c.alias}${org} — ${c.load}/${c.capacity} chats`;
      options.push(new Option(label, `staff:${c.staff_id}`));
    }
    options.push(new Option("A queue…", "queue"));
    this.target.replaceChildren(...options);
    if ([...this.target.options].some((o) => o.value === chosen)) this.target.value = chosen;
    this.fields();
    this.target.focus();
  }

  hide() {
    this.form.hidden = true;
    this.openButton.setAttribute("aria-expanded", "false");
    this.form.elements.note.value = "";
  }

  /** Show the queue choice for a queue, the note for a warm transfer to a person. */
  fields() {
    const toQueue = this.target.value === "queue";
    const toPerson = this.target.value.startsWith("staff:");
    this.queueFields.hidden = !toQueue;
    this.noteField.hidden = !(toPerson && this.form.elements.mode.value === "warm");
    this.checkServed(toQueue);
  }

  /** Before a transfer to a queue: say whether anyone on duty can serve it (issue 9 item 5). */
  async checkServed(toQueue) {
    const check = ++this.checked;
    const form = this.form.elements;
    if (!toQueue) {
      this.served.hidden = true;
      this.confirmField.hidden = true;
      form.confirm.checked = false;
      return;
    }
    const queue = form.queue.value === "professional" ? "professional" : "youth";
    let served;
    try {
      served = await fetchServed(this.conv, queue, form.skill.value || null);
    } catch {
      served = null;
    }
    if (check !== this.checked) return;
    this.served.hidden = false;
    if (served === null) {
      this.served.textContent = "Could not check who on duty can serve this queue.";
    } else if (served) {
      this.served.textContent = "Someone on duty can serve this queue.";
    } else {
      this.served.textContent =
        "Nobody else on duty can serve this queue now: the young person would wait for nobody.";
    }
    this.confirmField.hidden = served !== false || form.mode.value !== "cold";
    if (this.confirmField.hidden) form.confirm.checked = false;
  }

  async submit() {
    if (this.pending) return;
    const form = this.form.elements;
    const mode = form.mode.value === "cold" ? "cold" : "warm";
    let to;
    let note = null;
    let confirm = false;
    if (this.target.value === "queue") {
      to = { queue: form.queue.value === "professional" ? "professional" : "youth" };
      to.skill = form.skill.value || null;
      confirm = mode === "cold" && form.confirm.checked;
    } else if (this.target.value.startsWith("staff:")) {
      const colleague = this.colleagues.get(this.target.value.slice("staff:".length));
      if (!colleague) {
        this.status.textContent = "Choose a colleague or a queue.";
        return;
      }
      to = { staff: colleague.staff_id };
      const text = form.note.value.trim();
      if (mode === "warm" && text) {
        try {
          note = await this.sealFor(colleague, text);
        } catch (error) {
          this.status.textContent =
            `The note was not sent and nothing was transferred: ${error.message}.`;
          return;
        }
      }
    } else {
      this.status.textContent = "Choose a colleague or a queue.";
      return;
    }
    if (!(await this.send({ type: "transfer", conv: this.conv, mode, to, note, confirm }))) {
      this.status.textContent = "Not connected: the transfer was not sent.";
      return;
    }
    this.pending = true;
    this.openButton.disabled = true;
    this.hide();
    this.status.textContent = "Transfer requested…";
  }

  /** The note sealed to the colleague's verified device, base64url (crypto/note.js). */
  async sealFor(colleague, text) {
    let device;
    try {
      const now = Math.floor(Date.now() / 1000);
      device = await verifiedColleagueDevice(pinnedServiceKey(), colleague, now);
    } catch {
      throw new Error(`the device of ${colleague.alias} could not be verified`);
    }
    const sealed = b64urlEncode(
      await sealNote(device.hpkePub, text, this.convBytes, device.idBytes),
    );
    if (sealed.length > NOTE_MAX_CHARS) throw new Error("the note is too long");
    return sealed;
  }

  /** `{"type":"transfer","state":"offered"|"returned",…}` from the server. */
  update(frame) {
    if (frame.state === "offered") {
      this.pending = true;
      this.openButton.disabled = true;
      this.status.textContent = `Offered to ${frame.to}. Waiting for their answer…`;
    } else if (frame.state === "returned") {
      this.done(`Not transferred: ${reasonText(frame.reason)}. The chat stays with you.`);
    }
  }

  /** A `transfer_refused` error about this conversation. */
  refused(frame) {
    this.done(`Not transferred: ${reasonText(frame.reason)}. The chat stays with you.`);
    if (frame.reason === "nobody_can_serve") this.show(this.status.textContent);
  }

  done(text) {
    this.pending = false;
    this.openButton.disabled = false;
    this.status.textContent = text;
  }

  /** The socket came back: an answer to a pending request may have been lost with it. */
  reconnected() {
    if (!this.pending) return;
    this.done(
      "The connection was lost. A transfer you asked for may still be waiting for an answer; " +
        "asking again says so.",
    );
  }

  /** The chat ended: no transfer any more. */
  disable() {
    this.hide();
    this.pending = false;
    this.openButton.disabled = true;
  }
}

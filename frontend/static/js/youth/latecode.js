// A return code asked for just after the chat ended (issue 12 §3, "the return code offered"):
// the chat's socket is gone, so the segment keys the page still holds are wrapped under a new
// code here and filed with the chat's ticket by POST /api/youth/return-code. The keys stay in
// memory only (SAFETY S-9) and only while the offer is open: they are zero-filled when the code
// is made, when the young person moves on (a new chat, "clear this screen", the exit) and a
// little before the server's window (VH_LATE_RETURN_CODE_SECONDS, 15 minutes) closes.

import { _ } from "../i18n.js";
import { newCode } from "../crypto/returncode.js";
import { returnCodeFrame } from "./keys.js";
import { session } from "./session.js";

/** How long the offer stays open: a minute under the server's default window. */
const KEEP_MS = 14 * 60 * 1000;

/** POST the wraps; resolves to "stored" | "too_late" | "failed". */
async function fileCode(ticket, conv, segments) {
  let response;
  try {
    response = await fetch("/api/youth/return-code", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ticket, conv, segments }),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    return "failed";
  }
  if (response.ok) return "stored";
  if (response.status === 409 || response.status === 404) {
    const body = await response.json().catch(() => null);
    if (body?.error?.code === "too_late" || body?.error?.code === "ticket_unknown") {
      return "too_late";
    }
  }
  return "failed";
}

export class LateCode {
  /**
   * `element` is [data-after-late-code] (a text, a button and a status line); `show(code)`
   * shows the made code once (the chat's return-code box); `taken()` tells the after-chat
   * screen that a code now exists.
   */
  constructor(element, { show, taken }) {
    this.element = element;
    this.button = element.querySelector("[data-late-code-get]");
    this.status = element.querySelector("[data-late-code-status]");
    this.show = show;
    this.taken = taken;
    this.keys = null;
    this.ticket = null;
    this.conv = null;
    this.timer = null;
    this.button.addEventListener("click", () => this.make());
  }

  /** True while the offer is open (keys held). */
  get open() {
    return this.keys !== null;
  }

  /** Hold `keys` (seg -> K, now owned here) for the ended chat `conv` of `ticket`. */
  offer({ ticket, conv, keys }) {
    this.drop();
    this.ticket = ticket;
    this.conv = conv;
    this.keys = keys;
    this.button.disabled = false;
    this.status.textContent = "";
    this.element.hidden = false;
    this.timer = setTimeout(() => this.close(), KEEP_MS);
  }

  async make() {
    if (!this.keys || this.button.disabled) return;
    const { ticket, conv, keys } = this;
    this.button.disabled = true;
    this.status.textContent = _("Saving your return code…");
    const code = newCode();
    let outcome;
    try {
      const segments = [];
      for (const [seg, key] of keys) {
        const { frame } = await returnCodeFrame(code, key, conv, seg);
        const { locator, salt, nonce, wrap } = frame;
        segments.push({ seg, locator, salt, nonce, wrap });
      }
      outcome = await fileCode(ticket, conv, segments);
    } catch {
      outcome = "failed";
    }
    if (session.exiting || this.keys !== keys) return; // moved on meanwhile
    if (outcome === "stored") {
      this.close();
      this.taken();
      this.show(code);
    } else if (outcome === "too_late") {
      this.drop();
      this.button.disabled = true;
      this.status.textContent = _("It is too late to make a return code for this chat.");
    } else {
      this.button.disabled = false;
      this.status.textContent = _("The return code could not be saved. You can try again.");
    }
  }

  /** The offer ends: keys zero-filled, the block hidden. */
  close() {
    this.drop();
    this.status.textContent = "";
    this.element.hidden = true;
  }

  /** Overwrite and forget the held keys. */
  drop() {
    clearTimeout(this.timer);
    this.timer = null;
    for (const key of this.keys?.values() ?? []) key.fill(0);
    this.keys = null;
    this.ticket = null;
    this.conv = null;
  }
}

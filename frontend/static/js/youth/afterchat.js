// After the chat (issue 12 §3): whether a return code was taken (and, if not, that one can
// only be made during a chat), ONE optional anonymous question "Did this chat help you?"
// (yes / partly / no, or skip) sent as POST /api/youth/feedback {ticket, answer} — the ticket
// the page holds in memory, nothing else: no text, no time, no alias — then "Start a new chat"
// and "Clear this screen". The server keeps the answers as aggregates only.

import { _ } from "../i18n.js";
import { LateCode } from "./latecode.js";

const ANSWERS = ["yes", "partly", "no"];

/** POST the answer; resolves to "sent" | "already" | "gone" | "bad" | "failed". */
export async function sendFeedback(ticket, answer) {
  let response;
  try {
    response = await fetch("/api/youth/feedback", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ticket, answer }),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    return "failed";
  }
  if (response.ok) return "sent";
  if (response.status === 409) return "already";
  if (response.status === 404) return "gone";
  if (response.status === 422) return "bad";
  return "failed";
}

const OUTCOME_TEXT = {
  sent: () => _("Thank you. Your answer was sent."),
  already: () => _("Thank you. An answer for this chat was already sent."),
  gone: () => _("Your answer could not be counted any more for this chat. Thank you anyway."),
  bad: () => _("Please choose yes, partly or no, or skip the question."),
  failed: () => _("Your answer could not be sent just now. You can try again, or skip it."),
};

export class AfterChat {
  /**
   * `element` is [data-after-chat]. `ticket()` gives the ended chat's ticket (or null);
   * `newChat()` and `clear()` are the two ways on; `showCode(code)` shows a code made after
   * the end (youth/latecode.js) once.
   */
  constructor(element, { ticket, newChat, clear, showCode }) {
    this.element = element;
    this.ticket = ticket;
    this.codeTaken = element.querySelector("[data-after-code-taken]");
    this.codeMissing = element.querySelector("[data-after-code-missing]");
    this.lateCode = new LateCode(element.querySelector("[data-after-late-code]"), {
      show: showCode,
      taken: () => {
        this.codeTaken.hidden = false;
        this.codeMissing.hidden = true;
      },
    });
    this.form = element.querySelector("[data-feedback]");
    this.status = element.querySelector("[data-feedback-status]");
    this.sendButton = element.querySelector("[data-feedback-send]");
    this.busy = false;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    element.querySelector("[data-feedback-skip]").addEventListener("click", () => this.skip());
    element.querySelector("[data-after-new]").addEventListener("click", () => newChat());
    element.querySelector("[data-after-clear]").addEventListener("click", () => clear());
  }

  /** The chat ended: show what is left to do; `codeTaken` says whether a code was made;
   * `feedback` false leaves the question out (a chat that never really started); `late`
   * ({ticket, conv, keys}, the keys now owned here) offers a code after the end instead. */
  show(codeTaken, { feedback = true, late = null } = {}) {
    this.codeTaken.hidden = !codeTaken;
    this.codeMissing.hidden = codeTaken || late !== null;
    if (late) this.lateCode.offer(late);
    else this.lateCode.close();
    if (!feedback) this.form.hidden = true;
    this.element.hidden = false;
  }

  focus() {
    this.element.focus();
  }

  async submit() {
    const answer = this.form.elements.answer.value;
    if (this.busy) return;
    if (!ANSWERS.includes(answer)) {
      this.status.textContent = OUTCOME_TEXT.bad();
      this.form.querySelector("input[name=answer]")?.focus();
      return;
    }
    const ticket = this.ticket();
    if (!ticket) {
      this.done(OUTCOME_TEXT.gone());
      return;
    }
    this.busy = true;
    this.sendButton.disabled = true;
    this.status.textContent = _("Sending your answer…");
    const outcome = await sendFeedback(ticket, answer);
    this.busy = false;
    this.sendButton.disabled = false;
    if (this.element.hidden) return; // a new chat or the exit meanwhile
    if (outcome === "failed" || outcome === "bad") this.status.textContent = OUTCOME_TEXT[outcome]();
    else this.done(OUTCOME_TEXT[outcome]());
  }

  skip() {
    this.done(_("You skipped the question. That is fine."));
  }

  /** The question is answered or skipped: it goes, the status says so. */
  done(text) {
    this.form.hidden = true;
    this.status.textContent = text;
  }

  /** Back to a fresh question (a new chat), and out of sight; held keys are dropped. */
  reset() {
    this.lateCode.close();
    this.form.reset();
    this.form.hidden = false;
    this.busy = false;
    this.sendButton.disabled = false;
    this.status.textContent = "";
    this.element.hidden = true;
  }
}

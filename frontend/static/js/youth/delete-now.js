// "Delete this conversation now" (SAFETY S-18): the button, its confirmation in the page and
// the request to the server, shared by the chat (youth/chat.js) and the return view
// (youth/returning.js). The confirmation is part of the page, never window.confirm: a dialog
// box of the browser cannot be blanked by the quick exit and names nothing. Nothing is kept:
// the ticket or locator sent is the caller's, held in memory only (SAFETY S-9).

import { _ } from "../i18n.js";

/** Words shown after a deletion, in one place for both views. */
const DELETED_TEXT = _("The conversation is deleted. Nobody can read it on our service any more.");
const ALREADY_GONE_TEXT = _(
  "There was nothing left to delete: the conversation had already been deleted, or its time " +
    "had run out. Nobody can read it any more.",
);
const NOTHING_DELETED = _("Nothing was deleted.");

/**
 * One delete control: [data-delete-ask] opens the question [data-delete-confirm], whose
 * [data-delete-yes] calls `onConfirm()` and [data-delete-no] closes it again.
 * [data-delete-status] (role=status) says what happened.
 */
export class DeleteControl {
  constructor(root, onConfirm) {
    this.root = root;
    this.onConfirm = onConfirm;
    this.ask = root.querySelector("[data-delete-ask]");
    this.question = root.querySelector("[data-delete-confirm]");
    this.yes = root.querySelector("[data-delete-yes]");
    this.no = root.querySelector("[data-delete-no]");
    this.status = root.querySelector("[data-delete-status]");
    this.busy = false;
    this.ask.addEventListener("click", () => this.open());
    this.no.addEventListener("click", () => this.cancel());
    this.yes.addEventListener("click", () => this.confirm());
  }

  /** Ask "are you sure?"; the safe answer (Cancel) has the focus. */
  open() {
    if (this.busy) return;
    this.status.textContent = "";
    this.question.hidden = false;
    this.ask.setAttribute("aria-expanded", "true");
    this.no.focus();
  }

  cancel() {
    this.close();
    this.status.textContent = NOTHING_DELETED;
    this.ask.focus();
  }

  close() {
    this.question.hidden = true;
    this.ask.setAttribute("aria-expanded", "false");
  }

  confirm() {
    if (this.busy) return;
    this.close();
    this.busy = true;
    this.ask.disabled = true;
    this.status.textContent = _("Deleting…");
    this.onConfirm();
  }

  /** The deletion did not happen (or may not have): say so, and let them try again. */
  failed(text) {
    this.busy = false;
    this.ask.disabled = false;
    this.status.textContent = text;
  }

  /** Back to the plain button (a new chat, or the view is gone). */
  reset() {
    this.close();
    this.busy = false;
    this.ask.disabled = false;
    this.status.textContent = "";
  }

  /** Show or hide the whole control. */
  setShown(on) {
    if (!on) this.reset();
    this.root.hidden = !on;
  }
}

/**
 * POST /api/youth/delete with `body` ({ticket} or {locator[, conv]}). Answers
 * {outcome: "deleted" | "gone" | "limited" | "failed", text} where `text` is what to tell
 * the young person when it did not work.
 */
export async function requestDelete(body) {
  let response;
  try {
    response = await fetch("/api/youth/delete", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch {
    return {
      outcome: "failed",
      text:
        _(
          "The server could not be reached, so it may not have been deleted. " +
            "Check your connection and press the button again.",
        ),
    };
  }
  if (response.ok) return { outcome: "deleted", text: DELETED_TEXT };
  if (response.status === 404) return { outcome: "gone", text: ALREADY_GONE_TEXT };
  if (response.status === 429) {
    return { outcome: "limited", text: `${_("Too many tries.")} ${NOTHING_DELETED} ${waitText(response)}` };
  }
  return {
    outcome: "failed",
    text: `${_("Something went wrong on our side.")} ${NOTHING_DELETED} ${_("Wait a moment and try again.")}`,
  };
}

function waitText(response) {
  const seconds = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
  if (!Number.isFinite(seconds) || seconds <= 60) return _("Wait a minute and try again.");
  return _("Wait about {minutes} minutes and try again.", { minutes: Math.ceil(seconds / 60) });
}

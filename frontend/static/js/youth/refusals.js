// Refusals at the door (PROTOCOL.md §5: closed, nobody on duty, queue full, too many
// attempts): never a dead end (issue 12 §3). Each is a full, calm screen of its own — a region
// with a heading that takes the focus — with 112 as a phone link, the other helplines, when
// the chat opens again or when trying again makes sense, and a retry button that joins again
// in place (no reload: the page's memory holds nothing to lose, but a reload is a new page in
// the history). Every sentence is in the page's language, chosen by the frame's stable code;
// the server's English `message` is for logs and the API.

import { _, weekdayTime } from "../i18n.js";
import { renderHelplines } from "./unserved.js";

/** The codes that refuse a join. */
export const REFUSALS = ["queue_full", "too_many_joins", "closed", "no_one_on_duty"];

const TITLES = {
  queue_full: () => _("The queue is full right now"),
  too_many_joins: () => _("Too many attempts from here"),
  closed: () => _("The chat is closed right now"),
  no_one_on_duty: () => _("No counsellor is on duty right now"),
};

const TEXTS = {
  queue_full: () =>
    _("Many people are waiting right now, so nobody more can join the queue for a moment."),
  too_many_joins: () =>
    _("This device has tried to start a chat many times in a short while. Wait a little first."),
  closed: () => _("Counsellors answer here only during the opening hours."),
  no_one_on_duty: () => _("The chat is open, but no counsellor can answer just now."),
};

/** When trying again makes sense: the next opening when closed, else the retry time. */
export function whenText(frame) {
  if (frame.code === "closed" && typeof frame.next_opening === "number") {
    return _("The chat opens again {when}.", { when: weekdayTime(frame.next_opening) });
  }
  if (typeof frame.retry_after !== "number") return _("You can try again later.");
  if (frame.retry_after < 90) return _("You can try again in about a minute.");
  return _("You can try again in about {minutes} minutes.", {
    minutes: Math.ceil(frame.retry_after / 60),
  });
}

export class RefusalScreen {
  /** `element` is the page's [data-refusal]; `retry()` joins again, `back()` shows triage. */
  constructor(element, { retry, back }) {
    this.element = element;
    this.title = element.querySelector("[data-refusal-title]");
    this.text = element.querySelector("[data-refusal-text]");
    this.emergency = element.querySelector("[data-refusal-emergency]");
    this.when = element.querySelector("[data-refusal-when]");
    this.list = element.querySelector("[data-refusal-helplines]");
    this.listBox = element.querySelector("[data-refusal-helplines-box]");
    this.status = element.querySelector("[data-refusal-status]");
    this.retryButton = element.querySelector("[data-refusal-retry]");
    this.backButton = element.querySelector("[data-refusal-back]");
    this.retrying = false;
    this.retryButton.addEventListener("click", () => {
      this.retrying = true;
      this.retryButton.disabled = true;
      this.status.textContent = _("Trying again…");
      retry();
    });
    this.backButton.addEventListener("click", () => back());
  }

  /** Show the refusal `frame`: heading, text, 112, helplines, when; the focus moves here. */
  show(frame) {
    const code = REFUSALS.includes(frame.code) ? frame.code : "no_one_on_duty";
    const again = this.retrying;
    this.title.textContent = TITLES[code]();
    this.text.textContent = TEXTS[code]();
    const emergency = typeof frame.emergency === "string" ? frame.emergency : "112";
    if (/^[0-9]{2,6}$/.test(emergency)) {
      this.emergency.textContent = emergency;
      this.emergency.href = `tel:${emergency}`;
    }
    this.when.textContent = whenText(frame);
    this.listBox.hidden = renderHelplines(this.list, frame.helplines) === 0;
    this.retryButton.disabled = false;
    this.status.textContent = again ? _("We tried again just now, but the answer is the same.") : "";
    this.retrying = false;
    this.element.hidden = false;
    this.element.focus();
  }

  /** True while a retry from this screen waits for its answer. */
  get pending() {
    return this.retrying;
  }

  /** The retry could not reach the server: say so and let them press it again. */
  failed() {
    this.retrying = false;
    this.retryButton.disabled = false;
    this.status.textContent = _("We could not connect. Check your connection and try again.");
  }

  hide() {
    this.retrying = false;
    this.status.textContent = "";
    this.retryButton.disabled = false;
    this.element.hidden = true;
  }
}

// "Nobody on duty can answer this chat right now" (PROTOCOL.md §2.1 `unserved`, SAFETY S-23):
// shown while the young person waits, in the queue or after a requeue, with 112, the other
// helplines and when the chat next opens. The ticket keeps its place: the young person may
// keep waiting (the notice folds away, the queue goes on) or leave. `served` takes it away.
// Text only (textContent); phone numbers become tel: links only when they look like one.
// Every sentence is the page's language (i18n.js); the server's English text is not shown.

import { _, weekdayTime } from "../i18n.js";

/** Fill `list` (a <ul>) with the helplines of a frame; returns how many were shown. */
export function renderHelplines(list, helplines) {
  list.replaceChildren();
  for (const line of Array.isArray(helplines) ? helplines : []) {
    if (typeof line?.name !== "string") continue;
    const item = document.createElement("li");
    item.append(document.createTextNode(line.name));
    if (typeof line.phone === "string" && /^[+0-9 ()-]{2,32}$/.test(line.phone)) {
      const call = document.createElement("a");
      call.href = `tel:${line.phone.replace(/[^+0-9]/g, "")}`;
      call.textContent = line.phone;
      call.dir = "ltr";
      item.append(": ", call);
    }
    if (typeof line.hours === "string" && line.hours) item.append(` (${line.hours})`);
    list.append(item);
  }
  return list.childElementCount;
}

/** "The chat opens again Thursday 09:00." for a unix time, or "" without one. */
export function openingText(unix) {
  if (typeof unix !== "number") return "";
  return _("Counsellors are expected again when the chat next opens: {when}.", {
    when: weekdayTime(unix),
  });
}

export class UnservedNotice {
  /** `element` is the page's [data-unserved] block; `leave()` ends the wait. */
  constructor(element, leave) {
    this.element = element;
    this.text = element.querySelector("[data-unserved-text]");
    this.opening = element.querySelector("[data-unserved-opening]");
    this.list = element.querySelector("[data-unserved-helplines]");
    this.waiting = element.querySelector("[data-unserved-waiting]");
    this.keepButton = element.querySelector("[data-unserved-keep]");
    this.leaveButton = element.querySelector("[data-unserved-leave]");
    this.keepButton.addEventListener("click", () => this.keepWaiting());
    this.leaveButton.addEventListener("click", () => leave());
  }

  /** An `unserved` frame: say it plainly, with 112, the helplines and the next opening. */
  show(frame) {
    const emergency = typeof frame.emergency === "string" ? frame.emergency : "112";
    this.text.textContent =
      _("Right now no counsellor who can answer your chat is on duty.") +
      " " +
      _("If you are in danger, call {emergency}.", { emergency });
    this.opening.textContent = openingText(frame.next_opening);
    this.list.parentElement.hidden = renderHelplines(this.list, frame.helplines) === 0;
    this.waiting.textContent = "";
    this.keepButton.hidden = false;
    this.element.hidden = false;
  }

  /** Keep the place in the queue: the notice says so and offers only leaving. */
  keepWaiting() {
    this.keepButton.hidden = true;
    this.waiting.textContent = _(
      "You keep your place. We tell you as soon as a counsellor who can answer is on duty.",
    );
    this.leaveButton.focus();
  }

  hide() {
    this.element.hidden = true;
  }
}

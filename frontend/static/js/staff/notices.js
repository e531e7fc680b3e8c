// What the console writes into a chat's transcript besides the messages (issue 11 §1): a time
// (HH:MM) on every line, and notices that each look like what they are — the young person left
// suddenly, their connection was lost or came back, this console lost its own connection, the
// chat was transferred away, a message could not be decrypted, the chat ended — so that none of
// them is a status line that goes stale. Built with textContent only (STYLE 14).

import { clockTime } from "./labels.js";

/** Titles of the notice kinds; a kind not named here is a plain notice. */
const TITLES = {
  left: "Left suddenly",
  away: "Connection lost",
  back: "Back",
  offline: "You are offline",
  online: "Reconnected",
  transferred: "Transferred",
  decrypt: "Not readable",
  closed: "Chat ended",
};

/** Put the time `ms` (unix milliseconds) in front of a transcript line. */
export function stamp(item, ms) {
  const time = document.createElement("time");
  time.className = "message-time";
  time.dateTime = new Date(ms).toISOString();
  time.textContent = clockTime(ms);
  item.prepend(time, " ");
  return item;
}

/**
 * A notice of `kind` in `transcript` (chat/transcript.js): its title, then `text`, stamped
 * with the time now. Returns the element.
 */
export function addNotice(transcript, kind, text) {
  const item = transcript.addNotice("", kind === "decrypt" || kind === "error" ? "error" : "info");
  const title = TITLES[kind];
  if (title) {
    item.classList.add("notice-kind", `notice-${kind}`);
    item.dataset.notice = kind;
    const strong = document.createElement("strong");
    strong.className = "notice-title";
    strong.textContent = `${title}:`;
    item.append(strong, " ");
  }
  const body = document.createElement("span");
  body.className = "notice-text";
  body.textContent = text;
  item.append(body);
  return stamp(item, Date.now());
}

/** When a message was written: its own `sent_at` (unix ms) if sane, else now. */
export function sentAt(body, now = Date.now()) {
  const at = Number(body?.sent_at);
  if (!Number.isFinite(at) || at <= 0) return now;
  return Math.min(at, now); // a sender's clock ahead of ours does not put it in the future
}

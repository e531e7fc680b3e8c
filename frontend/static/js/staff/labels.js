// Pure rules of the console's chat list (issue 11 §1), free of the DOM and of the clock (the
// time is an argument): stable labels, the order of the list, and times for people.
// Tested in Chromium by tests/e2e/test_console_rules.py.

import { b64urlDecode } from "../crypto/bytes.js";

// No I, O, 0 or 1: a label read aloud to a colleague is not mistaken.
const LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ";
const DIGITS = "23456789";

/**
 * "K7": the short label of a conversation, from its id alone (never from anything the young
 * person typed), so it is the same after a reload and on a colleague's console. `long` adds a
 * third character ("K7M") for the rare chats whose short labels collide.
 */
export function labelOf(conv, long = false) {
  const bytes = b64urlDecode(conv);
  const short = LETTERS[bytes[0] % LETTERS.length] + DIGITS[bytes[1] % DIGITS.length];
  return long ? short + LETTERS[bytes[2] % LETTERS.length] : short;
}

/**
 * conv -> label for every chat in `convs`: the short label, or the long one where two chats
 * share a short label. The same set of chats always gets the same labels.
 */
export function labelsOf(convs) {
  const count = new Map();
  for (const conv of convs) {
    const short = labelOf(conv);
    count.set(short, (count.get(short) ?? 0) + 1);
  }
  return new Map(convs.map((conv) => [conv, labelOf(conv, count.get(labelOf(conv)) > 1)]));
}

/**
 * The chat list's order: open chats before ended ones; among them urgent (danger now) first,
 * then the oldest chat first (`since`, when it came to this console), then by label. Unread
 * messages do not move a chat (a list that jumps is misread); they are counted on it.
 * Items are {conv, label, open, urgent, since}.
 */
export function orderChats(items) {
  return [...items].sort(
    (a, b) =>
      Number(b.open) - Number(a.open) ||
      Number(b.urgent) - Number(a.urgent) ||
      a.since - b.since ||
      (a.label < b.label ? -1 : a.label > b.label ? 1 : 0),
  );
}

/** "14:05": hours and minutes of `ms` (unix milliseconds) in local time. */
export function clockTime(ms) {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

/** "just now", "1 min ago", "12 min ago", "1 h 05 min ago" for `seconds` elapsed. */
export function ago(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return "just now";
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min ago`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min ago`;
}

/** "45 s", "4:05", "1:02:09": a wait or countdown as a clock-like figure. */
export function span(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const pad = (n) => String(n).padStart(2, "0");
  if (s < 3600) return `${Math.floor(s / 60)}:${pad(s % 60)}`;
  return `${Math.floor(s / 3600)}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

/** "(3) title": the document title with the unread count in front (none: the title as is). */
export function badgeTitle(title, unread) {
  return unread > 0 ? `(${unread}) ${title}` : title;
}

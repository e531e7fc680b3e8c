// What the waiting young person is told (PROTOCOL.md §3): an honest wait, and how long this
// queue's conversations are kept (the page's retention data, as the server counts days).

import { _ } from "../i18n.js";

/** An honest wait: a range, never a promise, or a plain "we cannot say". */
export function waitText(estimate) {
  if (!estimate || typeof estimate.min_seconds !== "number") {
    return _("We cannot estimate the wait right now.");
  }
  const low = Math.max(1, Math.round(estimate.min_seconds / 60));
  const high = Math.max(low, Math.round(estimate.max_seconds / 60));
  return low === high
    ? _("Estimated wait: about {minutes} min.", { minutes: low })
    : _("Estimated wait: about {low}–{high} min.", { low, high });
}

/** The page's retention data: {"default": days, "<queue>": days, …}, or null. */
export function parseRetention(text) {
  try {
    const parsed = JSON.parse(text ?? "");
    return parsed && typeof parsed === "object" ? parsed : null;
  } catch {
    return null;
  }
}

/** Days for `queue` ("youth", "youth/police"): the queue's own, else its kind's, else the
 * default, as the server counts them (app/chat/retention.py `days_for`). */
export function retentionDays(retention, queue, kind) {
  if (!retention) return null;
  const kindOf = typeof queue === "string" ? queue.split("/")[0] : kind;
  for (const name of [queue, kindOf, "default"]) {
    const known = typeof name === "string" && Object.hasOwn(retention, name);
    const days = known ? retention[name] : null;
    if (Number.isInteger(days) && days > 0) return days;
  }
  return null;
}

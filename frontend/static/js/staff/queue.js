// The queue at a glance (issue 11 §1): the console asks with `watch_queue` and the server
// pushes a `queue` frame about once a second (PROTOCOL.md §2.2). No content: per queue and
// language, how many wait, how many are urgent, the longest wait, and whether this counsellor
// can serve them. Waits count on here between frames, from the frame's absolute times.

import { span } from "./labels.js";

const KINDS = { youth: "Young people", professional: "Professionals" };

/** "Young people", "Professionals (police)": a queue name for people. */
export function queueName(queue) {
  const [kind, skill] = String(queue).split("/");
  const name = KINDS[kind] ?? kind;
  return skill ? `${name} (${skill.replaceAll("_", " ")})` : name;
}

function cell(row, text, header = false) {
  const td = document.createElement(header ? "th" : "td");
  if (header) td.scope = "row";
  td.textContent = text;
  row.append(td);
  return td;
}

export class QueueGlance {
  /** `section` holds the summary line, the table and the empty text. */
  constructor(section) {
    this.section = section;
    this.summary = section.querySelector("[data-queue-summary]");
    this.table = section.querySelector("[data-queue-table]");
    this.body = this.table.querySelector("tbody");
    this.empty = section.querySelector("[data-queue-empty]");
    this.frame = null;
    this.offset = 0; // server seconds minus local seconds, from the latest frame
    this.waits = []; // [td, oldest_joined_at] counted on each second
    setInterval(() => this.tick(), 1000);
  }

  now() {
    return Date.now() / 1000 + this.offset;
  }

  show(frame) {
    this.frame = frame;
    this.offset = Number(frame.now) - Date.now() / 1000;
    const rows = Array.isArray(frame.rows) ? frame.rows : [];
    this.waits = [];
    this.body.replaceChildren(
      ...rows.map((r) => {
        const tr = document.createElement("tr");
        if (r.urgent > 0) tr.classList.add("queue-urgent");
        if (r.can_serve) tr.classList.add("queue-yours");
        cell(tr, queueName(r.queue), true);
        cell(tr, String(r.language));
        cell(tr, String(r.waiting));
        cell(tr, r.urgent > 0 ? `${r.urgent} urgent` : "–");
        this.waits.push([cell(tr, ""), Number(r.oldest_joined_at)]);
        let yours = "No";
        if (r.can_serve) yours = r.yours === r.waiting ? "Yes" : `${r.yours} of ${r.waiting}`;
        cell(tr, yours).classList.add(r.can_serve ? "serve-yes" : "serve-no");
        return tr;
      }),
    );
    this.table.hidden = rows.length === 0;
    this.empty.hidden = rows.length > 0;
    this.section.dataset.waiting = String(frame.total?.waiting ?? 0);
    this.tick();
  }

  tick() {
    if (!this.frame) return;
    const now = this.now();
    for (const [td, since] of this.waits) td.textContent = span(now - since);
    const t = this.frame.total ?? {};
    if (!t.waiting) {
      this.summary.textContent = this.frame.open === false ? "The house is closed now." : "";
      return;
    }
    const rows = this.frame.rows ?? [];
    const oldest = Math.min(...rows.map((r) => Number(r.oldest_joined_at)));
    const mine = rows.filter((r) => r.can_serve).map((r) => Number(r.oldest_joined_at));
    const parts = [`${t.waiting} waiting`];
    if (t.urgent) parts.push(`${t.urgent} urgent`);
    parts.push(`longest ${span(now - oldest)}`);
    parts.push(
      t.yours
        ? `${t.yours} you can serve (longest ${span(now - Math.min(...mine))})`
        : "none you can serve",
    );
    this.summary.textContent = parts.join(" · ");
  }

  clear() {
    this.frame = null;
    this.waits = [];
    this.body.replaceChildren();
    this.table.hidden = true;
    this.empty.hidden = false;
    this.summary.textContent = "";
  }
}

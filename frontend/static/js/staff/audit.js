// The audit-log view (issue 11): who did what and when, newest first, from GET /staff/api/audit
// with the filters of the form above it (who, what, from, to); "Show older entries" pages on.
// Everything from the server, the detail too (it may hold what staff typed), is shown with
// textContent. The page itself was only served to a supervisor or admin.

import { initComponents } from "../components.js";

const FILTERS = ["actor", "action", "from", "to"];

/** "2026-12-01 14:05:09" in the browser's time zone. */
export function when(at) {
  const d = new Date(at * 1000);
  const pad = (n) => String(n).padStart(2, "0");
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** The detail as "key: value" lines when it is a JSON object, else as stored. */
export function detailLines(detail) {
  try {
    const parsed = JSON.parse(detail);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
      return Object.entries(parsed).map(
        ([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`,
      );
    }
  } catch {
    // not JSON: shown as it is
  }
  return detail ? [detail] : [];
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.append(td);
  return td;
}

class AuditView {
  constructor(root) {
    this.form = root.querySelector("[data-audit-filters]");
    this.actions = root.querySelector("[data-audit-actions]");
    this.status = root.querySelector("[data-audit-status]");
    this.table = root.querySelector("[data-audit-table]");
    this.body = this.table.querySelector("tbody");
    this.more = root.querySelector("[data-audit-more]");
    this.next = null;
    this.shown = 0;
  }

  init() {
    if (!this.form) return; // refused page: nothing to enhance
    const params = new URLSearchParams(location.search);
    for (const name of FILTERS) {
      if (params.has(name)) this.form.elements[name].value = params.get(name);
    }
    this.wanted = params.get("action") || "";
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.wanted = this.form.elements.action.value;
      const query = this.query();
      history.replaceState(null, "", query.toString() ? `?${query}` : location.pathname);
      this.load(false);
    });
    this.more.addEventListener("click", () => this.load(true));
    this.load(false);
  }

  query() {
    const query = new URLSearchParams();
    for (const name of FILTERS) {
      const value = this.form.elements[name].value.trim();
      if (value) query.set(name, value);
    }
    return query;
  }

  async load(older) {
    const query = this.query();
    if (older && this.next !== null) query.set("before", String(this.next));
    this.status.textContent = "Loading…";
    let body;
    try {
      const response = await fetch(`/staff/api/audit?${query}`, { credentials: "same-origin" });
      body = await response.json();
      if (response.status === 401) return this.fail("Your session has ended: log in again.");
      if (response.status === 403) return this.fail("The audit log is for supervisors.");
      if (!response.ok) return this.fail(body?.error?.message ?? "The log cannot be read.");
    } catch {
      return this.fail("The server cannot be reached; try again.");
    }
    this.fillActions(body.actions);
    const rows = body.entries.map((entry) => this.row(entry));
    if (older) this.body.append(...rows);
    else this.body.replaceChildren(...rows);
    this.shown = older ? this.shown + rows.length : rows.length;
    this.next = body.next_before;
    this.more.hidden = this.next === null;
    this.table.hidden = this.shown === 0;
    this.status.textContent =
      this.shown === 0
        ? "No entries match."
        : `${this.shown} ${this.shown === 1 ? "entry" : "entries"} shown, newest first` +
          (this.next === null ? "." : "; older ones below the button.");
  }

  fail(text) {
    this.status.textContent = text;
  }

  fillActions(actions) {
    const options = [new Option("Any action", "")];
    for (const action of new Set([...actions, ...(this.wanted ? [this.wanted] : [])])) {
      options.push(new Option(action, action)); // Option() sets text, never markup
    }
    this.actions.replaceChildren(...options);
    this.actions.value = this.wanted;
  }

  row(entry) {
    const row = document.createElement("tr");
    const at = cell(row, "");
    const time = document.createElement("time");
    time.dateTime = new Date(entry.at * 1000).toISOString();
    time.textContent = when(entry.at);
    at.append(time);
    cell(row, entry.actor ? `${entry.actor.alias} (${entry.actor.username})` : "system");
    cell(row, entry.action);
    const detail = cell(row, "");
    for (const line of detailLines(entry.detail)) {
      const div = document.createElement("div");
      div.textContent = line;
      detail.append(div);
    }
    return row;
  }
}

initComponents("staff-audit", (root) => new AuditView(root).init());

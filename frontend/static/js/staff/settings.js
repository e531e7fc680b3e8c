// The centre's settings page (issue 11 §3), for admins: opening hours and exceptions,
// helplines, alert thresholds and the topic -> skill-queue routing, each stored with
// PUT /staff/api/admin/settings/{name} (in force at once, audited) or returned to its file
// with DELETE. The server checks every document and names the place of a mistake
// (`error.where`), shown beside that field. The session comes from logging in on /staff.

import { staffMember } from "./gate.js";
import { initComponents } from "../components.js";
import { clearErrors, el, showErrors } from "./settings-forms.js";
import { HoursEditor } from "./settings-hours.js";

const API = "/staff/api/admin/settings";
const DAY_NAMES = { mon: "Monday", tue: "Tuesday", wed: "Wednesday", thu: "Thursday", fri: "Friday", sat: "Saturday", sun: "Sunday" };
const KINDS = new Set(["youth", "professional"]);
const SKILL = /^[a-z0-9_]{1,32}$/;

const OVERRIDES = { hours: "the opening-hours file", alerts: "the VH_ALERT_* settings", routing: "the question set file's routing" };
const FALLBACK = {
  hours: { file: "From the opening-hours file (VH_OPENING_HOURS_FILE).", default: "No opening-hours file is set: the chat counts as always open." },
  alerts: { settings: "From the VH_ALERT_* settings." },
  routing: { file: "From the triage question set file." },
};

class AlertsEditor {
  constructor(form) {
    this.wait = form.querySelector("[name=max_wait_minutes]");
    this.queue = form.querySelector("[name=max_queue]");
    this.grace = form.querySelector("[name=urgent_grace_seconds]");
  }

  fill(document) {
    this.wait.value = String(Math.round((document.max_wait_seconds / 60) * 100) / 100);
    this.queue.value = String(document.max_queue);
    this.grace.value = String(document.urgent_grace_seconds);
  }

  read() {
    const number = (input) => (input.value.trim() === "" ? null : Number(input.value));
    const minutes = number(this.wait);
    const errors = [];
    if (minutes === null || !(minutes >= 1 && minutes <= 1440)) {
      errors.push({ where: "max_wait_seconds", message: "Longest wait: enter minutes from 1 to 1440." });
    }
    const document = {
      max_wait_seconds: minutes === null ? null : Math.round(minutes * 60),
      max_queue: number(this.queue),
      urgent_grace_seconds: number(this.grace),
    };
    return { document, errors };
  }
}

class RoutingEditor {
  constructor(form) {
    this.form = form;
    this.body = form.querySelector("[data-routes]");
    this.newSkill = form.querySelector("#routing-new-skill");
    this.selects = new Map();
    this.labels = new Map();
    form.querySelector("[data-add-skill]").addEventListener("click", () => this.addSkill());
  }

  fill(_document, view) {
    this.body.replaceChildren();
    this.selects.clear();
    for (const topic of view.topics) {
      const id = `route-${topic.id}`;
      const select = el("select", { id, "data-where": `topics.${topic.id}` });
      select.append(el("option", { value: "", text: "General queue" }));
      for (const skill of view.skills) select.append(el("option", { value: skill, text: `${skill} skill queue` }));
      const route = view.document.topics[topic.id] ?? "";
      if (route && !view.skills.includes(route)) select.append(el("option", { value: route, text: `${route} skill queue` }));
      select.value = route;
      const file = topic.file_skill ? `the file: ${topic.file_skill}` : "the file: general";
      this.labels.set(topic.id, topic.label);
      this.body.append(
        el("tr", {},
          el("td", {}, el("label", { for: id, text: topic.label }), el("span", { class: "hint", text: ` (${file})` })),
          el("td", {}, select, el("span", { class: "error", "data-error-for": `topics.${topic.id}` })),
        ),
      );
      this.selects.set(topic.id, select);
    }
    if (!view.topics.length) {
      this.body.append(el("tr", {}, el("td", { colspan: 2, text: "The question set asks no topic." })));
    }
  }

  addSkill() {
    const skill = this.newSkill.value.trim();
    if (!SKILL.test(skill) || KINDS.has(skill)) {
      showErrors(this.form, [{ where: "new-skill", message: "A skill queue is 1-32 of a-z, 0-9 and _ (not youth or professional)." }]);
      return;
    }
    clearErrors(this.form);
    for (const select of this.selects.values()) {
      if (![...select.options].some((o) => o.value === skill)) {
        select.append(el("option", { value: skill, text: `${skill} skill queue` }));
      }
    }
    this.newSkill.value = "";
    this.form.querySelector("[data-status]").textContent =
      `The ${skill} skill queue can now be chosen; give counsellors the ${skill} skill to serve it.`;
  }

  read() {
    const topics = {};
    for (const [id, select] of this.selects) topics[id] = select.value || null;
    return { document: { topics }, errors: [] };
  }
}

class SettingsPage {
  constructor(root) {
    this.root = root;
    this.gate = root.querySelector("[data-settings-gate]");
    this.panel = root.querySelector("[data-settings]");
    this.parts = {};
    for (const [name, Editor] of [["hours", HoursEditor], ["alerts", AlertsEditor], ["routing", RoutingEditor]]) {
      const section = root.querySelector(`[data-part="${name}"]`);
      const form = section.querySelector("form");
      const part = { name, section, form, editor: new Editor(form), view: null };
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        this.save(part);
      });
      form.querySelector("[data-reset]").addEventListener("click", () => this.reset(part));
      this.parts[name] = part;
    }
  }

  async init() {
    const found = await staffMember(
      new Set(["admin"]),
      "The centre's settings are for admins.",
      "The settings cannot be opened right now; try again.",
    );
    if (found.refused) return this.refuse(found.refused);
    const me = found.me;
    this.csrf = me.csrf_token;
    this.root.querySelector("[data-settings-who]").textContent = `Logged in as ${me.alias} (${me.role}).`;
    const loaded = await Promise.all(Object.values(this.parts).map((part) => this.load(part)));
    if (loaded.every(Boolean)) this.panel.hidden = false;
  }

  refuse(text) {
    this.gate.textContent = text;
    const link = el("a", { href: "/staff", text: "Go to the staff console" });
    this.gate.append(" ", link);
    this.gate.hidden = false;
    this.panel.hidden = true;
  }

  async load(part) {
    const response = await fetch(`${API}/${part.name}`, { credentials: "same-origin" });
    if (response.status === 401) return this.refuse("Your session has ended: log in again.");
    if (response.status === 403) return this.refuse("The centre's settings are for admins.");
    if (!response.ok) return this.refuse("The settings cannot be read right now; try again.");
    this.render(part, await response.json());
    return true;
  }

  render(part, view) {
    part.view = view;
    part.editor.fill(view.document, view);
    const source = part.section.querySelector("[data-source]");
    const stored = view.source === "database";
    source.classList.toggle("stored", stored);
    if (stored) {
      const when = new Date(view.updated_at * 1000).toLocaleString();
      const who = view.updated_by ? ` by ${view.updated_by}` : " from the command line";
      source.textContent = `Stored in the database (version ${view.version}), changed${who} on ${when}; it overrides ${OVERRIDES[part.name]}.`;
    } else {
      source.textContent = `${FALLBACK[part.name][view.source] ?? view.source} Nothing is stored.`;
    }
    part.form.querySelector("[data-reset]").disabled = !stored;
  }

  place(part, where) {
    if (!where) return "";
    const [head, tail] = where.split(/\.(.*)/s);
    if (head === "weekly" && tail) return DAY_NAMES[tail] ?? tail;
    if (head === "exceptions" && tail !== undefined) return tail ? `The date ${tail}` : "A date";
    const helpline = /^helplines\[(\d+)\]$/.exec(where);
    if (helpline) return `Helpline ${Number(helpline[1]) + 1}`;
    if (head === "topics" && tail) return part.editor.labels?.get(tail) ?? tail;
    return { timezone: "Timezone", weekly: "Each week", exceptions: "Dated exceptions", helplines: "Other helplines", max_queue: "Young people waiting", urgent_grace_seconds: "Wait in danger now", max_wait_seconds: "Longest wait" }[where] ?? where;
  }

  async send(part, method, body) {
    const status = part.form.querySelector("[data-status]");
    status.textContent = "Saving…";
    let response;
    try {
      response = await fetch(`${API}/${part.name}`, {
        method,
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": this.csrf, "If-Match": `"${part.view.version}"` },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      status.textContent = "The server cannot be reached: nothing was saved. Try again.";
      return;
    }
    const answer = await response.json().catch(() => ({}));
    if (response.ok) {
      clearErrors(part.form);
      this.render(part, answer);
      status.textContent = method === "DELETE"
        ? "Returned to the file: in force now."
        : `Saved: in force now (version ${answer.version}).`;
      return;
    }
    const error = answer.error ?? {};
    status.textContent = "Nothing was saved.";
    if (response.status === 401) return this.refuse("Your session has ended: log in again.");
    if (error.code === "invalid_settings") {
      const label = this.place(part, error.where);
      const text = label ? `${label}: ${error.detail}` : error.detail ?? error.message;
      showErrors(part.form, [{ where: error.where, message: text }]);
    } else if (error.code === "settings_changed") {
      showErrors(part.form, [{ where: "", message: "Someone else changed these settings meanwhile. Reload the page to see their version." }]);
    } else {
      showErrors(part.form, [{ where: "", message: error.message ?? "The settings could not be saved; try again." }]);
    }
  }

  save(part) {
    const { document, errors } = part.editor.read();
    if (errors.length) {
      part.form.querySelector("[data-status]").textContent = "Nothing was saved.";
      return showErrors(part.form, errors);
    }
    return this.send(part, "PUT", document);
  }

  reset(part) {
    return this.send(part, "DELETE");
  }
}

initComponents("staff-settings", (root) => new SettingsPage(root).init());

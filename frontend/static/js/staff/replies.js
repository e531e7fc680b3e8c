// The admins' canned replies page (/staff/admin/replies, issue 11): one list per language of
// the centre, a form to add or edit a reply, and delete with a confirmation in the page. The
// API checks every change again (admins only, CSRF, audited). Everything the server sends is
// shown with textContent. The session comes from logging in on /staff.

import { staffMember } from "./gate.js";
import { initComponents } from "../components.js";

const API = "/staff/api/canned-replies";
const ADMIN_API = "/staff/api/admin/canned-replies";

function element(tag, text, className) {
  const el = document.createElement(tag);
  if (text !== undefined) el.textContent = text;
  if (className) el.className = className;
  return el;
}

function when(seconds) {
  return new Date(seconds * 1000).toLocaleString();
}

async function errorText(response) {
  try {
    const body = await response.json();
    return { message: body.error?.message ?? "", field: body.error?.field ?? null };
  } catch {
    return { message: "", field: null };
  }
}

class RepliesPage {
  constructor(root) {
    this.root = root;
    this.gate = root.querySelector("[data-replies-gate]");
    this.panel = root.querySelector("[data-replies]");
    this.status = root.querySelector("[data-replies-status]");
    this.form = root.querySelector("[data-reply-form]");
    this.formTitle = root.querySelector("[data-reply-form-title]");
    this.save = root.querySelector("[data-reply-save]");
    this.cancel = root.querySelector("[data-reply-cancel]");
    this.error = root.querySelector("[data-reply-error]");
    this.lists = root.querySelector("[data-reply-lists]");
    this.csrf = null;
    this.editing = null; // the reply being edited, or null when adding
    this.languages = [];
  }

  async init() {
    const found = await staffMember(
      new Set(["admin"]),
      "Canned replies are managed by admins.",
      "This page cannot be opened right now; try again.",
    );
    if (found.refused) return this.refuse(found.refused);
    const me = found.me;
    this.csrf = me.csrf_token;
    this.root.querySelector("[data-replies-who]").textContent =
      `Logged in as ${me.alias} (${me.role}).`;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.cancel.addEventListener("click", () => this.stopEditing(true));
    this.panel.hidden = false;
    await this.load();
  }

  refuse(text) {
    this.gate.textContent = text;
    const link = element("a", "Go to the staff console");
    link.href = "/staff";
    this.gate.append(" ", link);
    this.gate.hidden = false;
    this.panel.hidden = true;
  }

  async load() {
    let body;
    try {
      const response = await fetch(API, { credentials: "same-origin" });
      if (response.status === 401) return this.refuse("Your session has ended.");
      if (!response.ok) {
        this.status.textContent = "The replies cannot be read right now; reload to try again.";
        return;
      }
      body = await response.json();
    } catch {
      this.status.textContent = "The server cannot be reached; reload to try again.";
      return;
    }
    this.languages = body.languages;
    this.fillLanguages();
    this.render(body.replies);
  }

  fillLanguages() {
    const select = this.form.elements.language;
    const chosen = select.value;
    select.replaceChildren(
      ...this.languages.map((lang) => {
        const option = element("option", `${lang.label} (${lang.id})`);
        option.value = lang.id;
        return option;
      }),
    );
    if (chosen) select.value = chosen;
  }

  render(replies) {
    const offered = this.languages.map((l) => l.id);
    // Replies in a language the centre no longer offers stay listed, to be moved or deleted.
    const others = [...new Set(replies.map((r) => r.language))].filter((l) => !offered.includes(l));
    const sections = [...this.languages, ...others.map((id) => ({ id, label: null }))].map(
      (lang) => this.section(lang, replies.filter((r) => r.language === lang.id)),
    );
    this.lists.replaceChildren(...sections);
  }

  section(lang, replies) {
    const section = element("section", undefined, "reply-language");
    const headingId = `replies-${lang.id}`;
    section.setAttribute("aria-labelledby", headingId);
    const name = lang.label ? `${lang.label} (${lang.id})` : `${lang.id} (no longer offered)`;
    const heading = element("h3");
    const label = element("bdi", name); // a right-to-left name keeps its place
    const count = replies.length === 1 ? "1 reply" : `${replies.length} replies`;
    heading.append(label, `: ${count}`);
    heading.id = headingId;
    section.append(heading);
    if (replies.length === 0) {
      section.append(element("p", "No replies in this language yet."));
      return section;
    }
    const table = element("table", undefined, "reply-table");
    const head = element("tr");
    for (const label of ["Title", "Text", "Last changed", "Actions"]) {
      const th = element("th", label);
      th.scope = "col";
      head.append(th);
    }
    table.append(element("thead"), element("tbody"));
    table.tHead.append(head);
    for (const reply of replies) table.tBodies[0].append(this.row(reply));
    section.append(table);
    return section;
  }

  row(reply) {
    const row = element("tr");
    row.dataset.replyId = reply.id;
    const title = element("th", `/${reply.title}`);
    title.scope = "row";
    title.dir = "auto";
    const body = element("td", reply.body, "reply-body");
    body.dir = "auto";
    const by = reply.updated_by ? ` by ${reply.updated_by}` : " (command line)";
    const changed = element("td", `${when(reply.updated_at)}${by}`);
    const actions = element("td", undefined, "reply-actions");
    const edit = element("button", "Edit");
    edit.type = "button";
    edit.setAttribute("aria-label", `Edit /${reply.title}`);
    edit.addEventListener("click", () => this.startEditing(reply));
    const remove = element("button", "Delete");
    remove.type = "button";
    remove.setAttribute("aria-label", `Delete /${reply.title}`);
    remove.addEventListener("click", () => this.confirmDelete(reply, actions));
    actions.append(edit, " ", remove);
    row.append(title, body, changed, actions);
    return row;
  }

  confirmDelete(reply, actions) {
    const keep = [...actions.childNodes];
    const question = element("p", `Delete /${reply.title}? Counsellors can no longer insert it.`);
    question.setAttribute("role", "alert");
    const yes = element("button", "Yes, delete it");
    yes.type = "button";
    const no = element("button", "Keep it");
    no.type = "button";
    no.addEventListener("click", () => {
      actions.replaceChildren(...keep);
      keep.find((n) => n.textContent === "Delete")?.focus();
    });
    yes.addEventListener("click", () => this.remove(reply, yes));
    actions.replaceChildren(question, yes, " ", no);
    no.focus();
  }

  async remove(reply, button) {
    button.disabled = true;
    try {
      const response = await fetch(`${ADMIN_API}/${reply.id}`, {
        method: "DELETE",
        credentials: "same-origin",
        headers: { "X-CSRF-Token": this.csrf },
      });
      if (response.ok || response.status === 404) {
        this.status.textContent = `Deleted /${reply.title}.`;
        if (this.editing?.id === reply.id) this.stopEditing(false);
      } else {
        const { message } = await errorText(response);
        this.status.textContent = `Not deleted: ${message || "try again."}`;
      }
    } catch {
      this.status.textContent = "The server cannot be reached; try again.";
    }
    await this.load();
  }

  startEditing(reply) {
    this.editing = reply;
    const { elements } = this.form;
    if (![...elements.language.options].some((o) => o.value === reply.language)) {
      this.status.textContent = `${reply.language} is no longer offered: choose another language.`;
    } else {
      elements.language.value = reply.language;
    }
    elements.title.value = reply.title;
    elements.body.value = reply.body;
    this.formTitle.textContent = `Edit /${reply.title}`;
    this.save.textContent = "Save changes";
    this.cancel.hidden = false;
    this.showError(null);
    elements.title.focus();
  }

  stopEditing(focus) {
    this.editing = null;
    this.form.elements.title.value = "";
    this.form.elements.body.value = "";
    this.formTitle.textContent = "Add a reply";
    this.save.textContent = "Add the reply";
    this.cancel.hidden = true;
    this.showError(null);
    if (focus) this.form.elements.title.focus();
  }

  showError(text, field = null) {
    this.error.textContent = text ?? "";
    for (const name of ["language", "title", "body"]) {
      const input = this.form.elements[name];
      if (name === field) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
    if (field && this.form.elements[field]) this.form.elements[field].focus();
  }

  async submit() {
    const { elements } = this.form;
    const reply = {
      language: elements.language.value,
      title: elements.title.value,
      body: elements.body.value,
    };
    if (!reply.title.trim()) return this.showError("Give the reply a title.", "title");
    if (!reply.body.trim()) return this.showError("Write the reply's text.", "body");
    const editing = this.editing;
    this.status.textContent = "";
    this.save.disabled = true;
    try {
      const response = await fetch(editing ? `${ADMIN_API}/${editing.id}` : ADMIN_API, {
        method: editing ? "PUT" : "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": this.csrf },
        body: JSON.stringify(reply),
      });
      if (response.ok) {
        const saved = await response.json();
        this.stopEditing(false);
        this.status.textContent = editing ? `Saved /${saved.title}.` : `Added /${saved.title}.`;
        elements.title.focus();
        await this.load();
      } else if (response.status === 409) {
        this.showError("That language already has a reply with this title.", "title");
      } else if (response.status === 404) {
        this.editing = null;
        this.formTitle.textContent = "Add a reply";
        this.save.textContent = "Add the reply";
        this.cancel.hidden = true;
        this.showError("This reply was deleted meanwhile; it is added anew if you save again.");
        await this.load();
      } else {
        const { message, field } = await errorText(response);
        this.showError(`Not saved: ${message || "try again."}`, field);
      }
    } catch {
      this.showError("The server cannot be reached; try again.");
    } finally {
      this.save.disabled = false;
    }
  }
}

initComponents("staff-replies", (root) => new RepliesPage(root).init());

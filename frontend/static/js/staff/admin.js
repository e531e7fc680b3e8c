// Staff accounts for admins (issue 11 §3): list, add, edit, disable, enable, reset password and
// reset TOTP, over /staff/api/admin/staff (the same service functions as `vhouse staff`). The
// session comes from logging in on /staff. Every server string is shown with textContent;
// secrets (a generated password, a TOTP secret) are shown once and dropped when dismissed.

import { Devices } from "./admin-devices.js";
import { staffMember } from "./gate.js";
import { initComponents } from "../components.js";

const API = "/staff/api/admin/staff";

const ACTIONS = {
  disable: {
    label: "Disable",
    title: (a) => `Disable ${a.username}?`,
    text: (a) =>
      `${a.alias} (${a.username}) will no longer be able to log in. Every session and console of the ` +
      "account ends at once and its open chats go back to the front of the queue.",
    done: (a, body) =>
      `Disabled ${a.username}.` + (body.requeued ? ` ${body.requeued} chat(s) went back to the queue.` : ""),
  },
  enable: {
    label: "Enable",
    title: (a) => `Enable ${a.username}?`,
    text: (a) => `${a.alias} (${a.username}) can log in again with their password and code.`,
    done: (a) => `Enabled ${a.username}.`,
  },
  "reset-password": {
    label: "Reset password",
    title: (a) => `Reset the password of ${a.username}?`,
    text: (a) =>
      `${a.alias} (${a.username}) will be logged out everywhere at once, their devices revoked and ` +
      "their open chats sent back to the queue. They log in with the new password.",
    done: (a) => `The password of ${a.username} was reset; their sessions ended.`,
  },
  "reset-totp": {
    label: "Reset TOTP",
    title: (a) => `Reset the authenticator code of ${a.username}?`,
    text: (a) =>
      `${a.alias} (${a.username}) will be logged out everywhere at once, their devices revoked and ` +
      "their open chats sent back to the queue. Their old authenticator entry stops working.",
    done: (a) => `The authenticator secret of ${a.username} was reset; their sessions ended.`,
  },
};

function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}

function errorText(body, fallback) {
  const error = body?.error;
  if (!error) return fallback;
  if (error.unknown && error.valid) {
    return `${error.field}: ${error.unknown.join(", ")} cannot be used here; choose among ${error.valid.join(", ")}.`;
  }
  return error.message || fallback;
}

class Admin {
  constructor(root) {
    this.root = root;
    this.gate = root.querySelector("[data-admin-gate]");
    this.panel = root.querySelector("[data-admin]");
    this.status = root.querySelector("[data-admin-status]");
    this.secret = root.querySelector("[data-secret]");
    this.confirmBox = root.querySelector("[data-confirm]");
    this.editForm = root.querySelector("[data-edit-form]");
    this.addForm = root.querySelector("[data-add-form]");
    this.csrf = null;
    this.me = null;
    this.options = null;
    this.accounts = [];
    this.editing = null;
    this.pending = null;
  }

  async init() {
    const found = await staffMember(
      new Set(["admin"]),
      "Staff accounts are managed by admins.",
      "This page cannot be opened right now; try again.",
    );
    if (found.refused) return this.refuse(found.refused);
    const me = found.me;
    this.me = me;
    this.csrf = me.csrf_token;
    this.root.querySelector("[data-admin-who]").textContent =
      `Logged in as ${me.alias} (${me.role}).`;
    const options = await this.call("GET", `${API}/options`);
    if (!options.ok) return this.refuse(errorText(options.body, "The account options cannot be read."));
    this.options = options.body;
    for (const form of [this.editForm, this.addForm]) this.fillChoices(form);
    this.devices = new Devices(this, this.root, el);
    this.wire();
    this.panel.hidden = false;
    await this.reload();
  }

  refuse(text) {
    this.gate.textContent = text;
    const link = el("a", "Go to the staff console", { href: "/staff" });
    this.gate.append(" ", link);
    this.gate.hidden = false;
    this.panel.hidden = true;
  }

  async call(method, path, body) {
    const init = { method, credentials: "same-origin", headers: {} };
    if (method !== "GET") {
      init.headers["X-CSRF-Token"] = this.csrf;
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body ?? {});
    }
    try {
      const response = await fetch(path, init);
      const data = await response.json().catch(() => ({}));
      if (response.status === 401) this.refuse("Your session has ended. Log in again.");
      return { ok: response.ok, status: response.status, body: data };
    } catch {
      return { ok: false, status: 0, body: { error: { message: "The server cannot be reached; try again." } } };
    }
  }

  fillChoices(form) {
    const o = this.options;
    for (const select of form.querySelectorAll("[data-roles]")) {
      select.replaceChildren(...o.roles.map((r) => el("option", r, { value: r })));
    }
    for (const select of form.querySelectorAll("[data-organisations]")) {
      select.replaceChildren(...o.organisations.map((r) => el("option", r, { value: r })));
    }
    const capacity = form.querySelector("[data-capacity]");
    capacity.min = String(o.capacity.min);
    capacity.max = String(o.capacity.max);
    const prefix = form === this.addForm ? "add" : "edit";
    for (const [name, items] of [["languages", o.languages], ["skills", o.skills]]) {
      const fieldset = form.querySelector(`[data-${name}]`);
      const legend = fieldset.querySelector("legend");
      const boxes = items.map((item) => {
        const id = `${prefix}-${name}-${item.id}`;
        const label = el("label", undefined, { for: id, class: "choice" });
        const box = el("input", undefined, { type: "checkbox", id, name, value: item.id });
        label.append(box, ` ${item.label} (${item.id})`);
        return label;
      });
      fieldset.replaceChildren(legend, ...boxes);
    }
    if (form === this.addForm) {
      form.querySelector(`#add-languages-${o.languages[0]?.id}`)?.setAttribute("checked", "");
      form.querySelector("#add-skills-youth")?.setAttribute("checked", "");
    }
  }

  wire() {
    this.root.querySelector("[data-secret-done]").addEventListener("click", () => {
      this.root.querySelector("[data-secret-values]").replaceChildren();
      this.secret.hidden = true;
      this.status.textContent = "The secret is no longer shown.";
    });
    this.root.querySelector("[data-confirm-no]").addEventListener("click", () => this.closeConfirm());
    this.root.querySelector("[data-confirm-yes]").addEventListener("click", () => this.confirmed());
    this.root.querySelector("[data-edit-cancel]").addEventListener("click", () => {
      this.editForm.hidden = true;
      this.editing = null;
    });
    this.editForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.saveEdit();
    });
    this.addForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.add();
    });
  }

  async reload() {
    const listed = await this.call("GET", API);
    if (!listed.ok) {
      this.status.textContent = errorText(listed.body, "The accounts cannot be read; try again.");
      return;
    }
    this.accounts = listed.body.staff;
    this.render();
  }

  render() {
    const body = this.root.querySelector("[data-accounts] tbody");
    body.replaceChildren(...this.accounts.map((a) => this.row(a)));
  }

  row(a) {
    const row = el("tr");
    row.dataset.username = a.username;
    const cells = [
      a.alias,
      a.username,
      a.role,
      a.organisation,
      a.languages.join(", "),
      a.skills.join(", "),
      String(a.capacity),
      a.on_duty ? "yes" : "no",
      a.disabled ? "yes" : "no",
    ];
    row.append(el("th", cells[0], { scope: "row" }), ...cells.slice(1).map((c) => el("td", c)));
    const actions = el("td", undefined, { class: "actions" });
    const button = (text, onClick) => {
      const b = el("button", text, { type: "button", "aria-label": `${text}: ${a.username}` });
      b.addEventListener("click", onClick);
      actions.append(b);
    };
    button("Edit", () => this.openEdit(a));
    button("Devices", () => this.devices.open(a));
    const toggle = a.disabled ? "enable" : "disable";
    for (const action of [toggle, "reset-password", "reset-totp"]) {
      button(ACTIONS[action].label, () => this.openConfirm(action, a));
    }
    row.append(actions);
    return row;
  }

  // ------------------------------------------------------------ confirmations

  openConfirm(action, account) {
    const spec = ACTIONS[action];
    this.pending = { action, account };
    this.root.querySelector("[data-confirm-title]").textContent = spec.title(account);
    this.root.querySelector("[data-confirm-text]").textContent = spec.text(account);
    this.root.querySelector("[data-confirm-error]").textContent = "";
    const password = this.root.querySelector("[data-confirm-password]");
    password.hidden = action !== "reset-password";
    password.querySelector("input").value = "";
    const verb = spec.label.charAt(0).toLowerCase() + spec.label.slice(1);
    this.root.querySelector("[data-confirm-yes]").textContent = `Yes, ${verb}`;
    this.confirmBox.hidden = false;
    this.confirmBox.focus();
  }

  closeConfirm() {
    this.confirmBox.hidden = true;
    this.pending = null;
  }

  async confirmed() {
    if (!this.pending) return;
    const { action, account } = this.pending;
    let body;
    if (action === "reset-password") {
      const typed = this.root.querySelector("#confirm-password").value;
      body = typed ? { password: typed } : {};
    }
    const done = await this.call("POST", `${API}/${encodeURIComponent(account.username)}/${action}`, body);
    if (!done.ok) {
      this.root.querySelector("[data-confirm-error]").textContent = errorText(done.body, "That did not work; try again.");
      return;
    }
    this.closeConfirm();
    this.status.textContent = ACTIONS[action].done(account, done.body);
    if (action === "reset-password" && done.body.password) {
      this.showSecret(`the new password of ${account.username}`, [["Password", done.body.password]]);
    } else if (action === "reset-totp") {
      this.showSecret(`the new authenticator secret of ${account.username}`, [
        ["TOTP secret", done.body.totp_secret],
        ["Provisioning URI (for the authenticator app)", done.body.provisioning_uri],
      ]);
    }
    await this.reload();
  }

  showSecret(title, pairs) {
    this.root.querySelector("#secret-title").textContent = `Shown once: ${title}`;
    const list = this.root.querySelector("[data-secret-values]");
    list.replaceChildren(
      ...pairs.flatMap(([name, value]) => {
        const dd = el("dd");
        dd.append(el("code", value));
        return [el("dt", name), dd];
      }),
    );
    this.secret.hidden = false;
    this.secret.focus();
  }

  // ------------------------------------------------------------ forms

  values(form) {
    const checked = (name) =>
      [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((box) => box.value);
    return {
      alias: form.elements.alias.value,
      role: form.elements.role.value,
      organisation: form.elements.organisation.value,
      languages: checked("languages"),
      skills: checked("skills"),
      capacity: Number(form.elements.capacity.value),
    };
  }

  openEdit(a) {
    this.editing = a;
    const form = this.editForm;
    this.root.querySelector("[data-edit-title]").textContent = `Edit ${a.alias} (${a.username})`;
    form.elements.alias.value = a.alias;
    form.elements.role.value = a.role;
    form.elements.organisation.value = a.organisation;
    form.elements.capacity.value = String(a.capacity);
    for (const box of form.querySelectorAll('input[type="checkbox"]')) {
      box.checked = (box.name === "languages" ? a.languages : a.skills).includes(box.value);
    }
    form.querySelector("[data-form-error]").textContent = "";
    form.hidden = false;
    form.focus();
  }

  async saveEdit() {
    const a = this.editing;
    if (!a) return;
    const form = this.editForm;
    const values = this.values(form);
    if (!values.languages.length) {
      form.querySelector("[data-form-error]").textContent = "Choose at least one language.";
      return;
    }
    const done = await this.call("PATCH", `${API}/${encodeURIComponent(a.username)}`, values);
    if (!done.ok) {
      form.querySelector("[data-form-error]").textContent = errorText(done.body, "The changes were not saved.");
      return;
    }
    const changed = Object.keys(done.body.changed);
    this.status.textContent = changed.length
      ? `Saved ${a.username}: ${changed.join(", ")} changed. Routing uses it from the next chat.`
      : `Nothing changed for ${a.username}.`;
    form.hidden = true;
    this.editing = null;
    await this.reload();
  }

  async add() {
    const form = this.addForm;
    const values = this.values(form);
    const error = form.querySelector("[data-form-error]");
    if (!values.languages.length) {
      error.textContent = "Choose at least one language.";
      return;
    }
    const password = form.elements.password.value;
    const body = { username: form.elements.username.value, ...values };
    if (password) body.password = password;
    const done = await this.call("POST", API, body);
    if (!done.ok) {
      error.textContent = errorText(done.body, "The account was not added.");
      return;
    }
    error.textContent = "";
    form.reset();
    this.fillChoices(form);
    const made = done.body;
    this.status.textContent = `Added ${made.account.username}.`;
    const pairs = [
      ["TOTP secret", made.totp_secret],
      ["Provisioning URI (for the authenticator app)", made.provisioning_uri],
    ];
    if (made.password) pairs.unshift(["Password", made.password]);
    this.showSecret(`the login of ${made.account.username}`, pairs);
    await this.reload();
  }
}

initComponents("staff-admin", (root) => new Admin(root).init());

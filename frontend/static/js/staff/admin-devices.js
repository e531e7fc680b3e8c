// A counsellor's devices on the admin page (issue 13 (1)): listed, revoked one at a time, and an
// enrolment code for a new device made here — over /staff/api/admin/staff/{username}/…, the
// same services as `vhouse staff devices`, `revoke-device` and `enrol`. A code needs this
// admin's own fresh login: the proof a login or re-authentication answered, kept in memory only.
// This page is opened after logging in on /staff, so it has none at first: it then asks for the
// password and a new code (POST /staff/api/reauth) before it makes the code. Never for the
// admin's own account (a second person must be involved).

const API = "/staff/api/admin/staff";

function when(seconds) {
  if (seconds === null || seconds === undefined) return "";
  return new Date(seconds * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

export class Devices {
  /** `admin` is the page's Admin: its call(), el(), showSecret() and status line. */
  constructor(admin, root, el) {
    this.admin = admin;
    this.el = el;
    this.box = root.querySelector("[data-devices]");
    this.list = root.querySelector("[data-device-list] tbody");
    this.error = root.querySelector("[data-devices-error]");
    this.enrol = root.querySelector("[data-enrol]");
    this.own = root.querySelector("[data-enrol-own]");
    this.slot = root.querySelector("[data-fresh-slot]");
    this.template = root.querySelector("[data-fresh-template]");
    this.freshLogin = null; // this admin's proof of a fresh login, in memory only
    this.account = null;
    this.form = null;
    this.enrol.addEventListener("click", () => this.createCode());
    root.querySelector("[data-devices-close]").addEventListener("click", () => this.close());
  }

  async open(account) {
    this.account = account;
    this.dropForm();
    this.error.textContent = "";
    this.box.querySelector("[data-devices-title]").textContent =
      `Devices of ${account.alias} (${account.username})`;
    const mine = account.alias === this.admin.me.alias; // aliases are unique; the server checks too
    this.enrol.hidden = mine;
    this.own.hidden = !mine;
    this.box.hidden = false;
    await this.reload();
    this.box.focus();
  }

  close() {
    this.dropForm();
    this.box.hidden = true;
    this.account = null;
  }

  path(suffix) {
    return `${API}/${encodeURIComponent(this.account.username)}/${suffix}`;
  }

  async reload() {
    const listed = await this.admin.call("GET", this.path("devices"));
    if (!listed.ok) {
      this.error.textContent = listed.body?.error?.message ?? "The devices cannot be read.";
      return;
    }
    const devices = listed.body.devices;
    this.box.querySelector("[data-devices-empty]").hidden = devices.length > 0;
    this.list.replaceChildren(...devices.map((d) => this.row(d)));
  }

  row(d) {
    const el = this.el;
    const row = el("tr");
    row.dataset.device = d.device_id;
    row.append(el("th", d.device_id, { scope: "row" }));
    for (const text of [when(d.created_at), when(d.not_after), when(d.revoked_at), d.duty_device ? "yes" : "no"]) {
      row.append(el("td", text));
    }
    const actions = el("td", undefined, { class: "actions" });
    if (d.revoked_at === null) {
      const revoke = el("button", "Revoke", { type: "button", "aria-label": `Revoke device ${d.device_id}` });
      revoke.addEventListener("click", () => this.confirmRevoke(actions, d));
      actions.append(revoke);
    }
    row.append(actions);
    return row;
  }

  confirmRevoke(cell, d) {
    const el = this.el;
    const yes = el("button", "Yes, revoke", { type: "button", "aria-label": `Yes, revoke device ${d.device_id}` });
    const no = el("button", "Cancel", { type: "button" });
    yes.addEventListener("click", () => this.revoke(d));
    no.addEventListener("click", () => this.reload());
    cell.replaceChildren(el("span", "Revoke this device? Its console closes at once. "), yes, " ", no);
    yes.focus();
  }

  async revoke(d) {
    const done = await this.admin.call("POST", this.path(`devices/${encodeURIComponent(d.device_id)}/revoke`));
    if (!done.ok) {
      this.error.textContent = done.body?.error?.message ?? "The device was not revoked.";
      return;
    }
    const requeued = done.body.requeued ? ` ${done.body.requeued} chat(s) went back to the queue.` : "";
    this.admin.status.textContent = `Revoked device ${d.device_id} of ${this.account.username}.${requeued}`;
    await this.reload();
  }

  // ------------------------------------------------------------ enrolment codes

  async createCode() {
    this.error.textContent = "";
    if (!this.freshLogin) {
      this.askFreshLogin();
      return;
    }
    const account = this.account;
    const made = await this.admin.call("POST", this.path("enrol-code"), { fresh_login: this.freshLogin });
    if (made.status === 403 && made.body?.error?.code === "login_not_fresh") {
      this.freshLogin = null; // too old, or of another session
      this.askFreshLogin();
      return;
    }
    if (!made.ok) {
      this.error.textContent = made.body?.error?.message ?? "No code was made.";
      return;
    }
    this.dropForm();
    const until = when(made.body.expires_at);
    this.admin.status.textContent = `Made an enrolment code for ${account.username}, valid until ${until}.`;
    this.admin.showSecret(`the enrolment code of ${account.username} (one new device, until ${until})`, [
      ["Enrolment code", made.body.code],
    ]);
  }

  askFreshLogin() {
    if (!this.form) {
      this.form = this.template.content.firstElementChild.cloneNode(true);
      this.form.addEventListener("submit", (event) => {
        event.preventDefault();
        this.reauth();
      });
      this.slot.append(this.form);
    }
    this.form.querySelector("input").focus();
  }

  dropForm() {
    this.form?.remove();
    this.form = null;
  }

  async reauth() {
    const fields = this.form.elements;
    const error = this.form.querySelector("[data-fresh-error]");
    error.textContent = "";
    // Not through admin.call: a refused password answers 401, which is not the session's end.
    let answer;
    try {
      const response = await fetch("/staff/api/reauth", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": this.admin.csrf ?? "" },
        body: JSON.stringify({ password: fields.password.value, totp: fields.totp.value.trim() }),
      });
      answer = { ok: response.ok, body: await response.json().catch(() => ({})) };
    } catch {
      answer = { ok: false, body: { error: { message: "The server cannot be reached; try again." } } };
    }
    if (!answer.ok || !answer.body.fresh_login) {
      error.textContent = answer.body?.error?.message ?? "That did not work; try again.";
      return;
    }
    this.freshLogin = answer.body.fresh_login;
    fields.password.value = "";
    await this.createCode();
  }
}

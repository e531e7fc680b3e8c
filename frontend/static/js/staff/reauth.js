// Staying logged in past the session's absolute limit (PROTOCOL.md §1, §2.2): when the server
// says `session_expiring`, the console shows a password + TOTP form; `POST /staff/api/reauth`
// (CSRF-checked, audited) starts a new absolute period for this same session, so the open
// socket, the duty and the chats carry on. The form is cloned from a <template> only while it
// is needed, so the login form stays the page's only password field otherwise.

export class Reauth {
  /**
   * `slot` is where the form goes; `template` holds it; `csrf()` gives the session's CSRF token;
   * `say(text)` writes to the console's status line.
   */
  constructor(slot, template, csrf, say) {
    this.slot = slot;
    this.template = template;
    this.csrf = csrf;
    this.say = say;
    this.form = null;
    this.expiresAt = null;
    this.timer = null;
  }

  /** The session ends at `expiresAt` (unix seconds): ask for the password and code again. */
  expiring(expiresAt) {
    this.expiresAt = expiresAt;
    if (!this.form) {
      this.form = this.template.content.firstElementChild.cloneNode(true);
      this.form.addEventListener("submit", (event) => {
        event.preventDefault();
        this.submit();
      });
      this.slot.append(this.form);
    }
    this.tick();
    clearInterval(this.timer);
    this.timer = setInterval(() => this.tick(), 15_000);
  }

  tick() {
    if (!this.form) return;
    const minutes = Math.max(0, Math.ceil((this.expiresAt - Date.now() / 1000) / 60));
    this.form.querySelector("[data-reauth-text]").textContent =
      `Your session ends in about ${minutes} minute${minutes === 1 ? "" : "s"}. ` +
      "Enter your password and a new code to stay logged in: your chats stay open.";
  }

  async submit() {
    const fields = this.form.elements;
    const error = this.form.querySelector("[data-reauth-error]");
    error.textContent = "";
    let response;
    try {
      response = await fetch("/staff/api/reauth", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": this.csrf() ?? "" },
        body: JSON.stringify({ password: fields.password.value, totp: fields.totp.value.trim() }),
      });
    } catch {
      error.textContent = "The server cannot be reached. Try again.";
      return;
    }
    fields.password.value = "";
    fields.totp.value = "";
    if (response.status === 503) {
      error.textContent = "The service is busy. Try again in a moment.";
    } else if (response.status === 429) {
      error.textContent = "Too many attempts. Try again later.";
    } else if (!response.ok) {
      error.textContent = "Wrong password or code. Try again.";
    } else {
      this.clear();
      this.say("You stay logged in: your session was renewed.");
    }
  }

  /** Remove the form (renewed, or logged out). */
  clear() {
    clearInterval(this.timer);
    this.timer = null;
    this.form?.remove();
    this.form = null;
  }
}

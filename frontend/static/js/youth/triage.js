// The triage form (issue 12 §3): the answers a join carries (PROTOCOL.md §2). "Are you in
// danger right now?" has no pre-set answer: a young person must say it, so the form asks for
// it with an error tied to the question (aria-describedby, role=alert) and moves the focus
// there. "Yes" shows 112 as a phone link and what to do at once, and still lets them queue:
// the join then says `danger_now: true` and the ticket is urgent.

import { _ } from "../i18n.js";

export class TriageForm {
  /** `form` is the page's [data-triage]; `onSubmit(triage)` gets the answers once complete. */
  constructor(form, onSubmit) {
    this.form = form;
    this.onSubmit = onSubmit;
    this.emergency = form.querySelector("[data-emergency]");
    this.error = form.querySelector("[data-danger-error]");
    this.dangerInputs = [...form.querySelectorAll("input[name=danger]")];
    form.addEventListener("change", () => this.changed());
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
  }

  changed() {
    const danger = this.form.elements.danger.value;
    this.emergency.hidden = danger !== "yes";
    if (danger) this.setError("");
  }

  setError(text) {
    this.error.textContent = text;
    for (const input of this.dangerInputs) {
      if (text) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
  }

  /** The answers, or null (and the question marked) when "in danger?" was not answered. */
  answers() {
    const form = this.form.elements;
    const danger = form.danger.value;
    if (danger !== "yes" && danger !== "no") {
      this.setError(_("Please answer this question: are you in danger right now?"));
      this.dangerInputs[0]?.focus();
      return null;
    }
    // Optional answers are option ids of GET /api/triage/questions, or null when not given.
    const optional = (name) => (form[name] && form[name].value ? form[name].value : null);
    return {
      language: form.language.value,
      kind: form.kind.value === "professional" ? "professional" : "youth",
      danger_now: danger === "yes",
      topic: optional("topic"),
      age_band: optional("age_band"),
    };
  }

  submit() {
    const triage = this.answers();
    if (triage) this.onSubmit(triage);
  }

  /** Fresh questions for a new chat: the page's defaults again, nothing of the last answers. */
  clear() {
    this.form.reset();
    this.setError("");
    this.emergency.hidden = true;
  }

  show(on) {
    this.form.hidden = !on;
  }

  focus() {
    this.form.querySelector("#triage-title")?.focus();
  }
}

// A new device's second factor (issue 13 (1)): besides a fresh password + TOTP login, the
// server certifies a new device only with the account's enrolment code, a single-use code
// printed by `vhouse staff enrol` for whoever runs the service to hand over. The form is cloned
// from a <template> only while a code is asked for; the code goes to the server once and is
// kept nowhere.

/**
 * Ask for the enrolment code in `slot` (the form cloned from `template`); resolves to what was
 * typed. `wrong`: the last code was refused (mistyped, used, replaced by a newer one, or old).
 */
export function askEnrolCode(slot, template, wrong) {
  return new Promise((resolve) => {
    const form = template.content.firstElementChild.cloneNode(true);
    const error = form.querySelector("[data-enrol-error]");
    error.textContent = wrong
      ? "This code is wrong, used or expired. Ask for a new one and type it here."
      : "";
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const code = form.elements.code.value.trim();
      form.remove();
      resolve(code);
    });
    slot.replaceChildren(form);
    form.elements.code.focus();
  });
}

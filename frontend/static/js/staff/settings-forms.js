// Small DOM helpers of the centre's settings page (issue 11): elements built with textContent
// only (never innerHTML: every string from the server is shown as text), and errors shown
// beside the field they belong to plus a summary at the top of the form.

/** `el("p", {class: "x", text: "…"}, child…)`; attributes other than class/text set as such. */
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") element.textContent = value;
    else if (key === "class") element.className = value;
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  element.append(...children);
  return element;
}

/** `<label class="inline">text <input…></label>`; returns the label. */
export function inline(text, control) {
  return el("label", { class: "inline" }, `${text} `, control);
}

let counter = 0;
/** A fresh element id for links from the error summary. */
export function freshId(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** Clear the form's errors. */
export function clearErrors(form) {
  for (const slot of form.querySelectorAll("[data-error-for]")) slot.textContent = "";
  for (const marked of form.querySelectorAll(".invalid")) marked.classList.remove("invalid");
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  const summary = form.querySelector("[data-errors]");
  summary.replaceChildren();
  summary.hidden = true;
}

function slotFor(form, where) {
  // The exact place, else the nearest enclosing one ("exceptions.2026-12-24" -> "exceptions").
  let place = where;
  while (place) {
    const slot = form.querySelector(`[data-error-for="${CSS.escape(place)}"]`);
    if (slot) return { slot, place };
    const cut = Math.max(place.lastIndexOf("."), place.lastIndexOf("["));
    place = cut > 0 ? place.slice(0, cut) : "";
  }
  return { slot: null, place: "" };
}

/**
 * Show `errors` (`[{where, message}]`) beside their places (`data-error-for`), mark the place
 * (`data-where`) as invalid, and list them in the form's summary, which takes the focus.
 */
export function showErrors(form, errors) {
  clearErrors(form);
  const summary = form.querySelector("[data-errors]");
  const list = el("ul");
  for (const { where, message } of errors) {
    const { slot, place } = slotFor(form, where || "");
    if (slot) slot.textContent = message;
    const marked = place ? form.querySelector(`[data-where="${CSS.escape(place)}"]`) : null;
    let target = null;
    if (marked) {
      marked.classList.add("invalid");
      target = marked.matches("input, select") ? marked : marked.querySelector("input, select");
      if (marked.matches("input, select")) marked.setAttribute("aria-invalid", "true");
    }
    const item = el("li");
    if (target) {
      if (!target.id) target.id = freshId("field");
      item.append(el("a", { href: `#${target.id}`, text: message }));
    } else {
      item.textContent = message;
    }
    list.append(item);
  }
  summary.append(el("h3", { text: "There is a problem" }), list);
  summary.hidden = false;
  summary.focus();
}

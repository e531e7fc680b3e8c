// The opening-hours editor of the settings page: intervals per weekday, dated exceptions (closed
// all day or special hours) and other helplines, read back as the opening-hours file's JSON
// (app/triage/setup.py). The server checks it; this only catches a date entered twice.

import { el, inline } from "./settings-forms.js";

const DAYS = [
  ["mon", "Monday"],
  ["tue", "Tuesday"],
  ["wed", "Wednesday"],
  ["thu", "Thursday"],
  ["fri", "Friday"],
  ["sat", "Saturday"],
  ["sun", "Sunday"],
];

/** A closing time of 24:00 (midnight) shows as 00:00 in a time field, and back. */
const shown = (clock) => (clock === "24:00" ? "00:00" : clock);
const closing = (value) => (value === "00:00" ? "24:00" : value);

function intervalRow(list, [start, end], where) {
  const opens = el("input", { type: "time", value: shown(start), required: true });
  const closes = el("input", { type: "time", value: shown(end), required: true });
  const remove = el("button", { type: "button", text: "Remove", "aria-label": `Remove these hours (${where})` });
  const row = el("li", {}, inline("Opens", opens), inline("Closes", closes), remove);
  remove.addEventListener("click", () => row.remove());
  list.append(row);
  return row;
}

function readIntervals(list) {
  return [...list.children].map((row) => {
    const [opens, closes] = row.querySelectorAll("input[type=time]");
    return [opens.value, closing(closes.value)];
  });
}

export class HoursEditor {
  constructor(form) {
    this.form = form;
    this.timezone = form.querySelector("[name=timezone]");
    this.days = new Map();
    const weekly = form.querySelector("[data-weekly]");
    for (const [day, name] of DAYS) {
      const list = el("ul", { class: "intervals" });
      const add = el("button", { type: "button", text: `Add hours on ${name}` });
      add.addEventListener("click", () => intervalRow(list, ["09:00", "17:00"], name).querySelector("input").focus());
      const set = el(
        "fieldset",
        { class: "day", "data-where": `weekly.${day}` },
        el("legend", { text: name }),
        el("p", { class: "hint", "data-closed-note": true, text: "Closed." }),
        list,
        el("p", { class: "error", "data-error-for": `weekly.${day}` }),
        add,
      );
      new MutationObserver(() => this.note(set, list)).observe(list, { childList: true });
      weekly.append(set);
      this.days.set(day, { list, name, set });
    }
    this.exceptions = form.querySelector("[data-exceptions]");
    this.helplines = form.querySelector("[data-helplines]");
    form.querySelector("[data-add-exception]").addEventListener("click", () => {
      this.addException("", []).querySelector("input").focus();
    });
    form.querySelector("[data-add-helpline]").addEventListener("click", () => {
      this.addHelpline({}).querySelector("input").focus();
    });
  }

  note(set, list) {
    set.querySelector("[data-closed-note]").hidden = list.children.length > 0;
  }

  fill(document) {
    this.timezone.value = document.timezone;
    for (const [day, { list, name, set }] of this.days) {
      list.replaceChildren();
      for (const pair of document.weekly[day] ?? []) intervalRow(list, pair, name);
      this.note(set, list);
    }
    this.exceptions.replaceChildren();
    for (const [day, intervals] of Object.entries(document.exceptions ?? {})) {
      this.addException(day, intervals);
    }
    this.helplines.replaceChildren();
    for (const helpline of document.helplines ?? []) this.addHelpline(helpline);
  }

  addException(day, intervals) {
    const date = el("input", { type: "date", value: day, required: true });
    const kind = el("select", {},
      el("option", { value: "closed", text: "Closed all day" }),
      el("option", { value: "hours", text: "Special hours" }),
    );
    kind.value = intervals.length ? "hours" : "closed";
    const list = el("ul", { class: "intervals" });
    const add = el("button", { type: "button", text: "Add hours on this date" });
    const remove = el("button", { type: "button", text: "Remove this date" });
    const row = el(
      "li",
      { class: "exception", "data-where": "exceptions.new" },
      inline("Date", date),
      inline("On this date", kind),
      list,
      el("p", {}, add, " ", remove),
      el("p", { class: "error", "data-error-for": "exceptions.new" }),
    );
    for (const pair of intervals) intervalRow(list, pair, "this date");
    const sync = () => {
      const special = kind.value === "hours";
      list.hidden = !special;
      add.hidden = !special;
      if (special && !list.children.length) intervalRow(list, ["10:00", "14:00"], "this date");
    };
    kind.addEventListener("change", sync);
    add.addEventListener("click", () => intervalRow(list, ["10:00", "14:00"], "this date"));
    remove.addEventListener("click", () => row.remove());
    sync();
    this.exceptions.append(row);
    return row;
  }

  addHelpline(helpline) {
    const field = (label, key, attrs = {}) =>
      el("label", {}, `${label} `, el("input", { name: key, value: helpline[key] ?? "", maxlength: 200, autocomplete: "off", ...attrs }));
    const remove = el("button", { type: "button", text: "Remove this helpline" });
    const row = el(
      "li",
      { class: "helpline" },
      field("Name", "name"),
      field("Phone number", "phone", { inputmode: "tel" }),
      field("Hours, as shown (e.g. 24/7)", "hours"),
      field("Web address (optional)", "url", { type: "url" }),
      el("p", {}, remove),
      el("p", { class: "error" }),
    );
    remove.addEventListener("click", () => row.remove());
    this.helplines.append(row);
    return row;
  }

  /** `{document, errors}`: the file's JSON, and any date entered twice. */
  read() {
    const errors = [];
    const weekly = {};
    for (const [day, { list }] of this.days) {
      if (list.children.length) weekly[day] = readIntervals(list);
    }
    const exceptions = {};
    for (const row of this.exceptions.children) {
      const day = row.querySelector("input[type=date]").value;
      const where = `exceptions.${day}`;
      row.dataset.where = where;
      row.querySelector("[data-error-for]").dataset.errorFor = where;
      if (day in exceptions) errors.push({ where, message: `${day || "A date"} is entered twice.` });
      const special = row.querySelector("select").value === "hours";
      exceptions[day] = special ? readIntervals(row.querySelector(".intervals")) : [];
    }
    const helplines = [...this.helplines.children].map((row, index) => {
      row.dataset.where = `helplines[${index}]`;
      row.querySelector(".error").dataset.errorFor = `helplines[${index}]`;
      const value = (key) => row.querySelector(`[name=${key}]`).value.trim();
      return { name: value("name"), phone: value("phone"), hours: value("hours"), url: value("url") };
    });
    const document = { timezone: this.timezone.value.trim(), weekly, exceptions, helplines };
    return { document, errors };
  }
}

// The youth pages' strings in the page's language (SAFETY S-19). The server renders the page's
// catalog as <script type="application/json" id="vh-catalog"> (data, never executed: CSP-safe):
// {"lang", "timezone", "messages": {msgid: translation}, "openings": {unix: "tisdag 09:00"}}.
// `_(msgid, { name })` looks the msgid up and fills its {name} placeholders; a msgid missing
// from the catalog shows as written (English). `pybabel extract` finds the gettext calls here
// and in the youth modules (babel.cfg), so write msgids as plain string literals.
// `ngettext(singular, plural, n, { name })` picks the form by the catalog's own plural rule
// ("plural": the Plural-Forms expression; Arabic has six forms); a plural entry is
// {msgid: [form0, form1, …]} in "messages", keyed by its singular msgid. `{n}` is always filled.

import { pluralRule } from "./plural.js";

function readCatalog() {
  const element = typeof document === "undefined" ? null : document.getElementById("vh-catalog");
  try {
    const parsed = JSON.parse(element?.textContent ?? "{}");
    return parsed && typeof parsed === "object" ? parsed : {};
  } catch {
    return {};
  }
}

const catalog = readCatalog();
const messages = catalog.messages && typeof catalog.messages === "object" ? catalog.messages : {};

/** The page's language code ("sv", "ar", …), as in <html lang>. */
export const lang = typeof catalog.lang === "string" ? catalog.lang : "sv";

/** The centre's IANA timezone, in which opening hours are told. */
export const timezone = typeof catalog.timezone === "string" ? catalog.timezone : undefined;

function fill(text, values) {
  return text.replace(/\{(\w+)\}/g, (whole, name) =>
    Object.hasOwn(values, name) ? String(values[name]) : whole,
  );
}

/** The translation of `msgid`, with `{name}` placeholders filled from `values`. */
export function _(msgid, values = {}) {
  const found = Object.hasOwn(messages, msgid) ? messages[msgid] : msgid;
  const text = typeof found === "string" && found ? found : msgid;
  return fill(text, values);
}

const pluralIndex = pluralRule(typeof catalog.plural === "string" ? catalog.plural : "(n != 1)");

/**
 * The form of `singular`/`plural` for `n` in the page's language, with `{n}` and the other
 * `{name}` placeholders filled. Untranslated: English's rule on the two msgids.
 */
export function ngettext(singular, plural, n, values = {}) {
  const forms = Object.hasOwn(messages, singular) ? messages[singular] : null;
  let text = n === 1 ? singular : plural;
  if (Array.isArray(forms) && forms.length > 0) {
    const index = Math.min(pluralIndex(n), forms.length - 1);
    if (typeof forms[index] === "string" && forms[index]) text = forms[index];
  }
  return fill(text, { n, ...values });
}

/**
 * A unix time as weekday and time in the page's language and the centre's timezone: the text
 * Babel rendered into the page for the next openings, else the browser's Intl in `lang`.
 */
export function weekdayTime(unixSeconds) {
  const openings = catalog.openings && typeof catalog.openings === "object" ? catalog.openings : {};
  const known = openings[String(unixSeconds)];
  if (typeof known === "string") return known;
  const options = { weekday: "long", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  try {
    return new Date(unixSeconds * 1000).toLocaleString(lang, { ...options, timeZone: timezone });
  } catch {
    return new Date(unixSeconds * 1000).toLocaleString(lang, options);
  }
}

// Quick exit (SAFETY S-1 to S-8). The server renders <a data-quick-exit href=DEST>, which works
// without JavaScript; this module makes leaving leave nothing on screen and end the chat:
// in one event handler it removes every message, sets a neutral title, covers the page with an
// announced overlay, tells the server (keepalive request, not awaited) and leaves with
// location.replace (no history).
//
// Shortcuts (S-7): Shift pressed and released on its own three times within 5 s of the first
// press, or Escape twice within 1 s. A Shift held while another key or the pointer is pressed (a
// capital letter, Shift+Tab, Shift+click) never counts and never announces; any other key starts
// the count again. Three dots in the exit button (aria-hidden) show the presses, a polite status
// region says them, and a count that runs out says so.
//
// History (S-8): a link from one of our pages to another replaces the history entry instead of
// adding one, so while moving around the house we hold one entry, and the exit's replace takes
// it away: Back never reaches a page of ours that names the topic.

import { initComponents } from "./components.js";
import { _ } from "./i18n.js";
import { endNow, session } from "./youth/session.js";

const SHIFT_PRESSES = 3;
const SHIFT_WINDOW_MS = 5000;
const ESCAPE_WINDOW_MS = 1000;
const NEUTRAL_TITLE = _("Information");

let exited = false;

function blankPage() {
  for (const log of document.querySelectorAll("[data-transcript]")) log.replaceChildren();
  for (const message of document.querySelectorAll("[data-message]")) message.remove();
  for (const field of document.querySelectorAll("textarea, input:not([type=radio])")) {
    field.value = "";
  }
  document.querySelector("main")?.replaceChildren();
  for (const region of document.querySelectorAll("[data-quick-exit-status]")) {
    region.textContent = "";
  }
  document.title = NEUTRAL_TITLE;
  if (!document.querySelector(".exit-overlay")) {
    // Announced at once (role=alert), in words that say nothing about us to anyone overhearing.
    const overlay = document.createElement("div");
    overlay.className = "exit-overlay";
    overlay.setAttribute("role", "alert");
    const text = document.createElement("p");
    text.className = "exit-overlay-text";
    text.textContent = _("Loading…");
    overlay.append(text);
    document.body.append(overlay);
  }
}

function tellServer(ticket) {
  if (!ticket) return;
  try {
    fetch("/api/youth/leave", {
      method: "POST",
      keepalive: true,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ticket }),
    }).catch(() => {});
  } catch {
    // Never let a failed request keep the young person on the page.
  }
}

/** Leave now for `destination`. Synchronous up to location.replace (SAFETY S-5). */
export function quickExit(destination) {
  const ticket = session.ticket;
  exited = true;
  blankPage();
  tellServer(ticket);
  endNow();
  location.replace(destination);
}

/**
 * Go to another page of ours without adding a history entry (S-8). For scripts that navigate;
 * links are handled by `keepOneEntry` below.
 */
export function goInside(url) {
  location.replace(url);
}

/** A plain click on a link to one of our pages replaces the entry; the href still works alone. */
function keepOneEntry(event) {
  if (event.defaultPrevented || event.button !== 0) return;
  // Ctrl/Cmd/Shift/Alt-click open a tab, a window or a download: the browser's own business.
  if (event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
  const link = event.target instanceof Element ? event.target.closest("a[href]") : null;
  if (!link || link.hasAttribute("download")) return;
  if (link.hasAttribute("data-quick-exit") || link.hasAttribute("data-quick-exit-skip")) return;
  if (link.target && link.target !== "_self") return;
  let url;
  try {
    url = new URL(link.href, location.href);
  } catch {
    return;
  }
  if (url.origin !== location.origin) return;
  event.preventDefault();
  location.replace(url.href);
}

/** The Shift count's indicator and announcements. */
class ShiftIndicator {
  constructor(dots, status) {
    this.dots = dots;
    this.status = status;
  }

  show(count) {
    if (!this.dots) return;
    this.dots.classList.toggle("exit-dots-counting", count > 0);
    [...this.dots.children].forEach((dot, index) => {
      dot.classList.toggle("exit-dot-on", index < count);
    });
  }

  say(text) {
    if (this.status) this.status.textContent = text;
  }

  pressed(count) {
    this.show(count);
    this.say(
      count === 1
        ? _("Shift pressed 1 of 3 times. Press it 2 more times to leave.")
        : _("Shift pressed 2 of 3 times. Press it once more to leave."),
    );
  }

  expired() {
    this.show(0);
    this.say(_("Exit cancelled: Shift was not pressed 3 times within 5 seconds."));
  }

  reset() {
    this.show(0);
    this.say("");
  }
}

/**
 * Counts lone Shift presses. A press counts on its release, and only when nothing else was
 * pressed while Shift was down. `performance.now()` and `setTimeout`, not event time stamps,
 * so a test's fake clock drives them.
 */
class ShiftCount {
  constructor(indicator, onThird) {
    this.indicator = indicator;
    this.onThird = onThird;
    this.count = 0;
    this.firstAt = 0;
    this.timer = null;
    this.down = false;
    this.alone = false;
  }

  shiftDown(event) {
    if (event.repeat && this.down) return;
    this.down = true;
    this.alone = !(event.ctrlKey || event.altKey || event.metaKey);
  }

  shiftUp() {
    const alone = this.down && this.alone;
    this.down = false;
    this.alone = false;
    if (alone) this.press();
  }

  /** Another key, the pointer or a wheel while Shift is down: this Shift press is not alone. */
  spoilt() {
    this.alone = false;
  }

  /** Focus left the page: a Shift released elsewhere is never seen, so never counted. */
  forget() {
    this.down = false;
    this.alone = false;
  }

  press() {
    const now = performance.now();
    if (this.count > 0 && now - this.firstAt > SHIFT_WINDOW_MS) this.stop();
    if (this.count === 0) {
      this.firstAt = now;
      this.timer = setTimeout(() => this.expire(), SHIFT_WINDOW_MS);
    }
    this.count += 1;
    if (this.count >= SHIFT_PRESSES) {
      this.stop();
      this.onThird();
      return;
    }
    this.indicator.pressed(this.count);
  }

  expire() {
    this.stop();
    this.indicator.expired();
  }

  /** Any other key starts the count again, quietly (typing is not a wish to leave). */
  restart() {
    if (this.count === 0) return;
    this.stop();
    this.indicator.reset();
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
    this.count = 0;
  }
}

function init(link) {
  const destination = link.href;
  const leave = () => quickExit(destination);
  for (const anchor of [link, ...document.querySelectorAll("[data-quick-exit-skip]")]) {
    anchor.addEventListener("click", (event) => {
      event.preventDefault();
      leave();
    });
  }
  document.addEventListener("click", keepOneEntry);

  const indicator = new ShiftIndicator(
    link.querySelector("[data-quick-exit-dots]"),
    document.querySelector("[data-quick-exit-status]"),
  );
  const shift = new ShiftCount(indicator, leave);
  let escapeAt = -Infinity;
  document.addEventListener(
    "keydown",
    (event) => {
      if (event.key === "Shift") {
        shift.shiftDown(event);
        return;
      }
      if (event.shiftKey || shift.down) shift.spoilt();
      shift.restart();
      const now = performance.now();
      if (event.key === "Escape" && !document.querySelector("dialog[open]")) {
        if (now - escapeAt <= ESCAPE_WINDOW_MS) leave();
        escapeAt = now;
      } else {
        escapeAt = -Infinity;
      }
    },
    true,
  );
  document.addEventListener(
    "keyup",
    (event) => {
      if (event.key === "Shift") shift.shiftUp();
    },
    true,
  );
  for (const type of ["pointerdown", "wheel"]) {
    document.addEventListener(type, () => shift.spoilt(), { capture: true, passive: true });
  }
  window.addEventListener("blur", () => shift.forget());

  // S-8: a page restored from the back/forward cache after an exit shows nothing.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted && exited) blankPage();
  });
}

initComponents("quick-exit", init);

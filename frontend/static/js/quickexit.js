// Quick exit (SAFETY S-1 to S-8). The server renders <a data-quick-exit href=DEST>, which works
// without JavaScript; this module makes leaving leave nothing on screen and end the chat:
// in one event handler it removes every message, sets a neutral title, covers the page, tells
// the server (keepalive request, not awaited) and leaves with location.replace (no history).
// Shift pressed three times (each within 5 s) or Escape twice within 1 s does the same.

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
  document.title = NEUTRAL_TITLE;
  if (!document.querySelector(".exit-overlay")) {
    const overlay = document.createElement("div");
    overlay.className = "exit-overlay";
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

function announce(region, text) {
  if (region) region.textContent = text;
}

function init(link) {
  const destination = link.href;
  const status = document.querySelector("[data-quick-exit-status]");
  for (const anchor of [link, ...document.querySelectorAll("[data-quick-exit-skip]")]) {
    anchor.addEventListener("click", (event) => {
      event.preventDefault();
      quickExit(destination);
    });
  }

  let shiftCount = 0;
  let shiftAt = 0;
  let escapeAt = -Infinity;
  document.addEventListener(
    "keydown",
    (event) => {
      const now = event.timeStamp;
      if (event.key === "Shift") {
        if (event.repeat) return;
        shiftCount = now - shiftAt <= SHIFT_WINDOW_MS ? shiftCount + 1 : 1;
        shiftAt = now;
        const left = SHIFT_PRESSES - shiftCount;
        if (left <= 0) {
          quickExit(destination);
        } else {
          announce(
            status,
            left === 1
              ? _("Press Shift 1 more time to leave.")
              : _("Press Shift 2 more times to leave."),
          );
        }
        return;
      }
      shiftCount = 0;
      announce(status, "");
      if (event.key === "Escape" && !document.querySelector("dialog[open]")) {
        if (now - escapeAt <= ESCAPE_WINDOW_MS) quickExit(destination);
        escapeAt = now;
      } else {
        escapeAt = -Infinity;
      }
    },
    true,
  );

  // S-8: a page restored from the back/forward cache after an exit shows nothing.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted && exited) blankPage();
  });
}

initComponents("quick-exit", init);

// An earlier conversation that a returning young person let this counsellor read (CRYPTO.md §5,
// PROTOCOL.md §6.5). The server sends `history` only after the young person's page sealed the
// earlier segment keys to this device, and again when a console of the device connects or is
// assigned the chat. Each key is opened here with the device's HPKE key (the info names the
// EARLIER conversation), the envelopes are decrypted, and the text is shown above the chat's
// own messages, read only, built with textContent alone (STYLE 14). The keys are overwritten
// as soon as the text is shown: nothing here is kept, sent or answered.

import { b64urlDecode } from "../crypto/bytes.js";
import { openSegmentKeyAsDevice } from "../crypto/certs.js";
import { openEnvelope } from "../chat/envelopes.js";

const TITLE = "Earlier conversation (shared by the young person)";
/** After a transfer: this chat's own earlier part, with the counsellors before. */
const OWN_TITLE = "Earlier part of this chat (shared by the young person)";
const WHO = { Y: "Young person", C: "Counsellor" };

let sections = 0;

function paragraph(className, text) {
  const item = document.createElement("p");
  item.className = className;
  item.textContent = text;
  return item;
}

function message(role, text) {
  const item = document.createElement("p");
  item.className = `history-message history-message-${role === "Y" ? "youth" : "counsellor"}`;
  const who = document.createElement("span");
  who.className = "message-who";
  who.textContent = `${WHO[role] ?? "?"}: `;
  const body = document.createElement("span");
  body.className = "history-body";
  body.dir = "auto";
  body.textContent = text;
  item.append(who, body);
  return item;
}

/** seg -> K for every wrap of `frame` this device opens; unopened segments are left out. */
async function openKeys(frame, device) {
  const keys = new Map();
  const from = b64urlDecode(frame.from);
  for (const { seg, wrap } of frame.segments ?? []) {
    try {
      const sealed = b64urlDecode(wrap);
      keys.set(seg, await openSegmentKeyAsDevice(device.hpke, sealed, from, seg, device.idBytes));
    } catch {
      // That segment's messages are shown as not readable.
    }
  }
  return keys;
}

/** The lines to show, in stored order: text messages, and a notice for each unreadable one. */
async function lines(frame, keys) {
  const out = [];
  const seen = new Set();
  for (const envelope of frame.envelopes ?? []) {
    const id = `${envelope.seg}|${envelope.role}|${envelope.inst}|${envelope.seq}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const key = keys.get(envelope.seg);
    try {
      if (!key || envelope.conv !== frame.from) throw new Error("no key for this message");
      const body = await openEnvelope(key, envelope);
      if (body.type === "rekey" || body.type === "close") continue; // not messages
      if (body.type !== "text" || typeof body.body !== "string") throw new Error("not text");
      out.push(message(envelope.role, body.body));
    } catch {
      out.push(paragraph("notice notice-error", "A message could not be decrypted."));
    }
  }
  return out;
}

/**
 * Show the `history` frame above the messages of `chat` (a staff/conversation.js panel, or
 * undefined when this console does not hold the chat: then nothing happens). `device` is this
 * browser's staff/device.js Device. A repeat for the same earlier conversation (after a
 * reconnect) replaces what was shown, so nothing appears twice.
 */
export async function showSharedHistory(chat, frame, device) {
  if (!chat || !device || typeof frame.from !== "string") return;
  sections += 1;
  const section = document.createElement("section");
  section.className = "shared-history";
  section.dataset.sharedHistory = frame.from;
  const heading = document.createElement("h4");
  heading.id = `shared-history-${sections}`;
  heading.textContent = frame.from === frame.conv ? OWN_TITLE : TITLE;
  section.setAttribute("aria-labelledby", heading.id);
  const log = document.createElement("div");
  log.className = "shared-history-log";
  log.tabIndex = 0; // scrollable: reachable by keyboard
  section.append(heading, log);

  if (frame.device !== device.id) {
    log.append(
      paragraph(
        "notice notice-error",
        "It was shared with another of your devices: it cannot be read in this browser.",
      ),
    );
  } else {
    const keys = await openKeys(frame, device);
    try {
      const shown = await lines(frame, keys);
      log.append(
        paragraph("notice", "Read only. The young person chose to let you read this earlier chat."),
        ...(shown.length > 0 ? shown : [paragraph("notice", "It has no messages.")]),
      );
    } finally {
      for (const key of keys.values()) key.fill(0);
    }
  }

  const transcript = chat.element.querySelector("[data-transcript]");
  const before = chat.element.querySelector(`[data-shared-history="${CSS.escape(frame.from)}"]`);
  if (before) before.replaceWith(section);
  else transcript.before(section);
}

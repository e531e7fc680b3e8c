// "I have a return code" (CRYPTO.md §5, PROTOCOL.md §6.5): the typed code gives the locator,
// the only thing sent (POST /api/youth/return); the code itself never leaves the page. The
// page opens each segment key with the code, decrypts the envelopes here and shows them read
// only. Nothing is kept: no storage, no cookie, no URL change (SAFETY S-9, S-11); the quick
// exit empties the form and the history like any transcript.
// Each conversation shown has its own "Delete this conversation now" (SAFETY S-18,
// youth/delete-now.js): POST /api/youth/delete with the locator and that conversation. A
// deleted conversation leaves the page at once, its keys overwritten. The locator is held in
// memory while the history is shown.

import { initComponents } from "../components.js";
import { b64urlDecode, b64urlEncode } from "../crypto/bytes.js";
import {
  ReturnCodeError,
  kek,
  locator,
  normaliseCode,
  unwrapWithCode,
} from "../crypto/returncode.js";
import {
  checkSignedTime,
  parseDeviceCert,
  pinnedServiceKey,
  verifyAcceptance,
  verifyParsedDeviceCert,
} from "../crypto/certs.js";
import { openText } from "../chat/envelopes.js";
import { Transcript } from "../chat/transcript.js";
import { forgetEarlier, forgetEarlierConversation, rememberEarlier } from "./history-share.js";
import { DeleteControl, requestDelete } from "./delete-now.js";
import { onClear, onEnd, session } from "./session.js";
import { _, lang } from "../i18n.js";

const WHO = { Y: _("You"), C: _("Counsellor") };

class Returning {
  constructor(root) {
    this.root = root;
    this.form = root.querySelector("[data-return-form]");
    this.field = this.form.elements.code;
    this.error = root.querySelector("[data-return-error]");
    this.history = root.querySelector("[data-return-history]");
    this.status = root.querySelector("[data-return-status]");
    this.list = root.querySelector("[data-return-conversations]");
    this.template = root.querySelector("[data-return-conversation-template]");
    this.busy = false;
    this.locator = null; // base64url, of the code whose history is shown; memory only
    this.shown = new Map(); // conv -> {section, keys} of the conversations on the page
    this.numbered = 0;
  }

  init() {
    this.form.hidden = false;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!this.busy) this.open();
    });
    onEnd(() => this.clear());
    onClear(() => {
      this.clear();
      forgetEarlier();
      this.field.value = "";
      this.error.textContent = "";
      this.status.textContent = "";
      this.history.hidden = true;
    });
  }

  /** Take every shown conversation off the page and forget the locator. (Their keys are
   * youth/history-share.js's until it replaces or forgets them.) */
  clear() {
    this.shown.clear();
    this.list.replaceChildren();
    this.locator = null;
  }

  async open() {
    this.error.textContent = "";
    let code;
    try {
      code = normaliseCode(this.field.value);
    } catch (error) {
      if (!(error instanceof ReturnCodeError)) throw error;
      this.error.textContent = _("A return code has 20 letters and digits. Check it and try again.");
      return;
    }
    this.busy = true;
    this.status.textContent = _("Looking for your conversation…");
    this.history.hidden = false;
    this.clear();
    try {
      const found = await this.fetch(code);
      if (found && !session.exiting) await this.show(code, found);
    } finally {
      this.busy = false;
    }
  }

  async fetch(code) {
    let response;
    try {
      response = await fetch("/api/youth/return", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ locator: b64urlEncode(await locator(code)) }),
      });
    } catch {
      return this.failed(_("The server cannot be reached. Try again."));
    }
    if (response.status === 404) {
      return this.failed(_("No conversation was found for this code. It may have expired."));
    }
    if (response.status === 429) {
      return this.failed(_("Too many tries. Wait a while and try again."));
    }
    if (!response.ok) return this.failed(_("Something went wrong. Try again later."));
    return response.json();
  }

  failed(message) {
    this.history.hidden = true;
    this.status.textContent = "";
    this.error.textContent = message;
    return null;
  }

  async show(code, found) {
    const conversations = found.conversations ?? [];
    this.field.value = "";
    this.status.textContent = _("Opening your conversation on this device…");
    const locatorText = b64urlEncode(await locator(code));
    const keks = new Map(); // salt -> KEK: PBKDF2 is slow, a salt is shared by nothing else
    const opened = []; // {conv, keys}: held by youth/history-share.js, to share only on a yes
    for (const conversation of conversations) {
      this.unverified = false;
      this.untimed = false; // a segment accepted before acceptances were timed (§6.3)
      const keys = await this.segmentKeys(code, conversation, keks);
      opened.push({ conv: conversation.conv, keys });
      if (session.exiting) return;
      const transcript = this.addConversation(conversation, keys);
      for (const envelope of conversation.envelopes ?? []) {
        const key = keys.get(envelope.seg);
        let text = null;
        if (key) {
          try {
            text = await openText(key, envelope);
          } catch {
            text = null;
          }
        }
        if (session.exiting) return;
        if (text === null) {
          transcript.addNotice(_("A message could not be decrypted."), "error");
        } else {
          transcript.addMessage(WHO[envelope.role] ?? "?", text, {
            own: envelope.role === "Y",
          });
        }
      }
      if (this.unverified) {
        transcript.addNotice(
          _(
            "Part of this conversation could not be checked as accepted by a counsellor of the " +
              "centre. Anyone who had this chat's key, such as you or the counsellor, could " +
              "have written messages here under either name.",
          ),
          "error",
        );
      } else if (this.untimed) {
        transcript.addNotice(
          _(
            "This conversation is from before the counsellor's device signed the time it " +
              "accepted the chat, so when it took place could not be checked.",
          ),
        );
      }
    }
    for (const value of keks.values()) value.fill(0);
    if (session.exiting) return;
    this.locator = locatorText;
    rememberEarlier(locatorText, opened);
    this.status.textContent = _(
      "This is your earlier conversation, shown on this device only. It is not saved here: " +
        "if you reload or leave this page, it is forgotten and you need your code again. " +
        "If you start a new chat on this page, you will be asked whether the counsellor may " +
        "read it. Opening it with the code keeps it for the full time again, counted from " +
        "today, unless you delete it.",
    );
  }

  /** A section for one conversation: its heading, its messages (returned) and its delete. */
  addConversation(conversation, keys) {
    this.numbered += 1;
    const section = this.template.content.firstElementChild.cloneNode(true);
    const at = conversation.opened_at ? new Date(conversation.opened_at * 1000) : null;
    const title = section.querySelector("[data-return-title]");
    title.textContent = at
      ? _("Conversation of {when}", { when: at.toLocaleString(lang) })
      : _("Earlier conversation");
    title.id = `return-title-${this.numbered}`;
    section.setAttribute("aria-labelledby", title.id);
    const log = section.querySelector("[data-transcript]");
    log.setAttribute("aria-label", _("Messages: {title}", { title: title.textContent }));
    // The control's ids are the template's: each copy gets its own.
    const question = section.querySelector("[data-delete-confirm]");
    question.id = `return-delete-${this.numbered}-confirm`;
    question.querySelector("p").id = `return-delete-${this.numbered}-question`;
    question.setAttribute("aria-labelledby", `return-delete-${this.numbered}-question`);
    section.querySelector("[data-delete-ask]").setAttribute("aria-controls", question.id);
    const control = new DeleteControl(section.querySelector("[data-delete-now]"), () =>
      this.deleteOne(conversation.conv, control),
    );
    this.shown.set(conversation.conv, { section, keys });
    this.list.append(section);
    return new Transcript(log);
  }

  /** Delete one shown conversation (locator and conv), then take it off the page. */
  async deleteOne(conv, control) {
    const held = this.locator;
    if (!held) return;
    const answer = await requestDelete({ locator: held, conv });
    if (session.exiting || this.locator !== held) return;
    if (answer.outcome !== "deleted" && answer.outcome !== "gone") {
      control.failed(answer.text);
      return;
    }
    this.drop(conv);
    forgetEarlierConversation(conv);
    if (this.shown.size === 0) this.allGone(answer.text);
    else this.status.textContent = answer.text;
    this.status.focus();
  }

  /** Nothing of this code is left: clear the view and forget the locator. */
  allGone(text) {
    this.clear();
    this.status.textContent = `${text} The return code does not open anything any more.`;
  }

  drop(conv) {
    const shown = this.shown.get(conv);
    if (!shown) return;
    shown.section.remove();
    for (const key of shown.keys.values()) key.fill(0);
    this.shown.delete(conv);
  }

  async segmentKeys(code, conversation, keks) {
    const keys = new Map();
    const conv = b64urlDecode(conversation.conv);
    for (const segment of conversation.segments ?? []) {
      if (!segment.wrap) continue;
      try {
        if (!keks.has(segment.salt)) keks.set(segment.salt, await kek(code, b64urlDecode(segment.salt)));
        const key = await unwrapWithCode(
          keks.get(segment.salt),
          b64urlDecode(segment.nonce),
          b64urlDecode(segment.wrap),
          conv,
          segment.seg,
        );
        keys.set(segment.seg, key);
      } catch {
        // That segment's messages are shown as not decryptable.
        continue;
      }
      if (!(await this.accepted(conv, segment, keys.get(segment.seg)))) this.unverified = true;
    }
    return keys;
  }

  /**
   * Whether a certified counsellor device accepted this segment (CRYPTO.md §3). K itself is
   * authentic whatever the answer (only this code opens its wrap), so the messages are still
   * shown; a failure is said plainly. A timed acceptance (PROTOCOL.md §6.3) has the
   * certificate checked at the time the device signed, which must not lie ahead of this
   * clock; an untimed one (accepted before that) only at the server's `sealed_at`, and the
   * page says that time is unverified.
   */
  async accepted(conv, segment, key) {
    const device = segment.device;
    if (!device || !segment.accept_sig) return false;
    try {
      const cert = parseDeviceCert(device);
      const signature = b64urlDecode(segment.accept_sig);
      const signedAt = segment.accept_at ?? null;
      if (signedAt !== null && !Number.isSafeInteger(signedAt)) return false;
      await verifyAcceptance(cert.sigPub, conv, segment.seg, key, signature, signedAt);
      if (signedAt === null) {
        const sealedAt = Math.min(segment.sealed_at ?? cert.notAfter, cert.notAfter - 1);
        await verifyParsedDeviceCert(pinnedServiceKey(), cert, sealedAt);
        this.untimed = true;
      } else {
        const now = Math.floor(Date.now() / 1000);
        await checkSignedTime(pinnedServiceKey(), cert, signedAt, now);
      }
      return true;
    } catch {
      return false;
    }
  }
}

initComponents("youth-return", (root) => new Returning(root).init());

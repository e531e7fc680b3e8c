// Letting the counsellor read an earlier conversation (CRYPTO.md §5, PROTOCOL.md §6.5).
//
// A young person who opened an earlier chat with a return code (youth/returning.js) holds its
// segment keys on this page. When a new chat is connected (the counsellor device's acceptance
// verified), the page asks plainly whether that counsellor may read the earlier chat. Nothing
// is shared without a click on "Yes": the answer starts as no. On yes, each earlier key is
// sealed to the device the page verified in the latest `paired` (with the EARLIER conversation's
// id and seg in the HPKE info) and sent as one `share_history` frame per 64 segments.
//
// The earlier keys live in this module's memory only (SAFETY S-9): a reload, leaving the page or
// the quick exit forgets them, and the young person needs the code again.
//
// Transfers: a new counsellor (a `paired` with a higher seg) is asked about again, and nothing
// goes to them until the young person says yes to *them*. Consent is given to one person, named
// in the question; the young person did not choose who the chat was passed to, so a "yes" for
// the first counsellor is never carried over to the next one on its own.

import { b64urlDecode, b64urlEncode } from "../crypto/bytes.js";
import { sealSegmentKeyToDevice } from "../crypto/certs.js";
import { onEnd, session } from "./session.js";
import { _ } from "../i18n.js";

/** Most earlier segments one share_history frame may carry (PROTOCOL.md §6.5). */
const SEGMENTS_PER_FRAME = 64;

/** Errors the server answers a share_history with (the frame names no reference). */
const SHARE_ERRORS = new Set(["bad_keys", "wrong_state", "unavailable", "bad_frame"]);

// The earlier conversations opened on this page: {locator, conversations: [{conv, keys}]}, where
// keys maps seg -> K (32 bytes). Module memory only.
let earlier = null;
const listeners = new Set();

function zero(held) {
  for (const conversation of held?.conversations ?? []) {
    for (const key of conversation.keys.values()) key.fill(0);
  }
}

/**
 * Hold the keys of earlier conversations opened with a return code (`locator`, base64url), so
 * that they can be shared if the young person agrees. Replaces (and overwrites) any held before.
 */
export function rememberEarlier(locator, conversations) {
  zero(earlier);
  const usable = conversations.filter((c) => c.keys.size > 0);
  earlier = usable.length > 0 ? { locator, conversations: usable } : null;
  for (const listener of listeners) listener();
}

/** Overwrite and drop every earlier key held on this page. */
export function forgetEarlier() {
  zero(earlier);
  earlier = null;
  for (const listener of listeners) listener();
}

/** Overwrite and drop the keys of one earlier conversation (it was deleted). */
export function forgetEarlierConversation(conv) {
  if (!earlier) return;
  const gone = earlier.conversations.filter((c) => c.conv === conv);
  zero({ conversations: gone });
  const left = earlier.conversations.filter((c) => c.conv !== conv);
  earlier = left.length > 0 ? { ...earlier, conversations: left } : null;
  for (const listener of listeners) listener();
}

onEnd(forgetEarlier);

/** The consent question in the chat, and the share_history frames it leads to. */
export class HistoryShare {
  /** `region` is the [data-history-consent] element; `send(frame)` writes to the chat socket. */
  constructor(region, send) {
    this.region = region;
    this.sendFrame = send;
    this.question = region?.querySelector("[data-history-question]");
    this.yes = region?.querySelector("[data-history-yes]");
    this.no = region?.querySelector("[data-history-no]");
    this.status = region?.querySelector("[data-history-status]");
    this.chat = null; // the chat's latest {phase, conv, seg, accepted, peers, alias, keys}
    this.before = null; // the alias of the counsellor it was shared with before a transfer
    this.target = null; // "conv|seg": the segment (and so the device) the question is about
    this.answer = null; // null (not answered: no), "no", "sharing", "shared"
    this.pending = []; // share_history frames sent and not yet answered
    this.sharedWith = new Set(); // "device|conv|seg" the server confirmed
    if (!region) return;
    this.yes.addEventListener("click", () => this.share());
    this.no.addEventListener("click", () => this.decline());
    listeners.add(() => this.render());
    onEnd(() => this.clear());
  }

  /**
   * Call after the chat handled each frame, with the chat's state as it is now. Answers
   * `history_shared` and share errors, resends an unanswered share after a reconnect, and shows
   * or hides the question.
   */
  update(frame, chat) {
    if (!this.region || session.exiting) return;
    const previous = this.chat;
    this.chat = chat;
    const target = chat.conv === null ? null : `${chat.conv}|${chat.seg}`;
    if (target !== this.target) {
      // A new chat, or a new counsellor: their consent is asked for anew; a share sealed to
      // the previous device must never be sent again.
      const sharedBefore = this.answer === "shared" && previous?.conv === chat.conv;
      this.before = sharedBefore ? previous.alias : null;
      this.target = target;
      this.answer = null;
      this.pending = [];
      this.status.textContent = "";
    }
    if (frame.type === "history_shared" && frame.conv === chat.conv && this.pending.length > 0) {
      this.confirmed();
    } else if (frame.type === "error" && this.pending.length > 0 && SHARE_ERRORS.has(frame.code)) {
      this.failed();
    } else if (frame.type === "paired") {
      // The same segment again (a resume): send what was not answered before the drop.
      for (const pending of this.pending) this.sendFrame(pending.frame);
    }
    this.render();
  }

  /**
   * The earlier segments not yet shared with the current device, as [{conv, seg, key}]: those
   * of conversations opened with a return code, and (after a transfer) this chat's own earlier
   * segments, sealed to the counsellors before (CRYPTO.md §5: resealed only if the young
   * person agrees).
   */
  unshared() {
    const chat = this.chat;
    if (!chat?.peers) return [];
    const device = chat.peers.device.id;
    const out = [];
    for (const { conv, keys } of earlier?.conversations ?? []) {
      if (conv === chat.conv) continue; // the code of this very chat
      for (const [seg, key] of keys) {
        if (!this.sharedWith.has(`${device}|${conv}|${seg}`)) out.push({ conv, seg, key });
      }
    }
    for (const [seg, key] of chat.keys ?? []) {
      if (seg < chat.seg && !this.sharedWith.has(`${device}|${chat.conv}|${seg}`)) {
        out.push({ conv: chat.conv, seg, key });
      }
    }
    return out;
  }

  /** What the question is about, in words. */
  subject(segments) {
    const own = segments.some((s) => s.conv === this.chat.conv);
    const other = segments.some((s) => s.conv !== this.chat.conv);
    if (own && other) return _("your earlier conversation and the earlier part of this chat");
    return own ? _("the earlier part of this chat") : _("your earlier conversation");
  }

  render() {
    const chat = this.chat;
    // Another code opened after sharing: there is something new to ask about.
    if (this.answer === "shared" && this.unshared().length > 0) this.answer = null;
    const connected = chat?.phase === "chat" && chat.accepted && chat.peers !== null;
    const asking = connected && (this.answer === "shared" || this.unshared().length > 0);
    this.region.hidden = !asking;
    if (!asking) return;
    const alias = chat.alias;
    const pending = this.unshared();
    if (pending.length > 0) this.about = this.subject(pending);
    const about = this.about ?? _("your earlier conversation");
    if (this.answer === "shared") {
      this.question.textContent = _("{alias} can now read {about}.", { alias, about });
    } else {
      const before =
        this.before && this.before !== alias
          ? _("You let {before} read it; {alias} cannot, unless you say yes.", {
              before: this.before,
              alias,
            }) + " "
          : "";
      this.question.textContent =
        _("Let the counsellor, {alias}, read {about}?", { alias, about }) +
        " " +
        before +
        _("If you say yes, {alias} can read all of it, and you cannot take that back.", {
          alias,
        }) +
        " " +
        _("If you say no, nothing is shared.");
    }
    this.yes.textContent = _("Yes, let {alias} read it", { alias });
    this.yes.hidden = this.answer === "shared";
    this.yes.disabled = this.answer === "sharing";
    this.no.hidden = this.answer !== null;
  }

  decline() {
    if (this.answer !== null) return;
    this.answer = "no";
    const about = this.about ?? _("it");
    this.status.textContent =
      _("Not shared: {alias} cannot read {about}.", { alias: this.chat.alias, about }) +
      " " +
      _("You can still change your mind during this chat.");
    this.render();
  }

  /** The young person said yes: seal each earlier K to the verified device and send it. */
  async share() {
    const chat = this.chat;
    const target = this.target;
    const held = earlier;
    if (!chat?.accepted || !chat.peers || target === null) return;
    if (this.answer === "sharing" || this.answer === "shared") return;
    const segments = this.unshared();
    if (segments.length === 0) return;
    this.answer = "sharing";
    this.status.textContent = _("Sharing…");
    this.render();
    const { device } = chat.peers; // verified against the pinned service key (youth/keys.js)
    const frames = [];
    try {
      for (let at = 0; at < segments.length; at += SEGMENTS_PER_FRAME) {
        const items = [];
        for (const { conv, seg, key } of segments.slice(at, at + SEGMENTS_PER_FRAME)) {
          // The EARLIER conversation's id and seg go into the HPKE info (CRYPTO.md §3).
          const convBytes = b64urlDecode(conv);
          const wrap = await sealSegmentKeyToDevice(
            device.hpkePub,
            key,
            convBytes,
            seg,
            device.idBytes,
          );
          items.push({ conv, seg, wrap: b64urlEncode(wrap) });
        }
        // No locator when only this chat's own earlier segments are shared.
        const locator = held?.locator ?? null;
        // `seg` names the segment (and so the device) the wraps are sealed for: the server
        // refuses them if the chat has moved on to another counsellor meanwhile.
        const frame = {
          type: "share_history",
          conv: chat.conv,
          seg: chat.seg,
          locator,
          segments: items,
        };
        frames.push({ frame, shared: items.map(({ conv, seg }) => `${device.id}|${conv}|${seg}`) });
      }
    } catch {
      this.failed();
      return;
    }
    // Sealing is asynchronous: if the chat moved to another counsellor meanwhile (or ended),
    // send nothing: those wraps are for a device that no longer holds this chat.
    if (session.exiting || this.target !== target || !this.chat?.accepted || earlier !== held) {
      if (this.answer === "sharing") this.failed();
      return;
    }
    this.pending = frames;
    for (const { frame } of frames) this.sendFrame(frame);
  }

  /** One share_history frame was filed (history_shared). */
  confirmed() {
    const done = this.pending.shift();
    for (const item of done.shared) this.sharedWith.add(item);
    if (this.pending.length > 0) return;
    this.answer = "shared";
    const about = this.about ?? _("it");
    this.status.textContent =
      _("Shared. {alias} can now read {about}.", { alias: this.chat.alias, about }) +
      " " +
      _("It was sent encrypted to their device only.");
  }

  failed() {
    this.pending = [];
    this.answer = null;
    this.status.textContent = _("It could not be shared. You can try again.");
    this.render();
  }

  clear() {
    this.pending = [];
    this.answer = null;
    this.target = null;
    this.chat = null;
    if (this.region) this.region.hidden = true;
  }
}

// The young person's page signs what it sends (issue 13 (5), docs/PROTOCOL.md §6.7). One
// ECDSA P-256 key pair per conversation, made at `join` and never stored (no storage, no
// cookie: SAFETY S-9); its public point goes in the `join` frame, and the server keeps it with
// the ticket before any counsellor is paired. Every envelope the page sends carries `sig`. A
// resume of this page keeps the key; a new chat makes a new one.
//
// The page also knows which envelopes it sent itself (its own instances): a message under the
// young person's role from any other instance was written by someone else who holds the chat's
// key, and is shown as such with a calm notice, never as the young person's own words.

import { _ } from "../i18n.js";
import { makeYouthKey, signed } from "../crypto/youthsig.js";

export class PageSignature {
  constructor() {
    this.key = null; // {privateKey (not extractable), publicKey, pub}: memory only
  }

  /** A fresh key for a new conversation; its public point (base64url) for `join`. */
  async renew() {
    this.key = await makeYouthKey();
    return this.key.pub;
  }

  /** The public point of the current key, or null before a join. */
  get pub() {
    return this.key?.pub ?? null;
  }

  /** `envelope` with its `sig` (unchanged when no key was made: nothing to sign with). */
  async sign(envelope) {
    return this.key ? signed(this.key.privateKey, envelope) : envelope;
  }

  forget() {
    this.key = null;
  }
}

/** Who a young person's message that this page did not send is shown as. */
export function notYouLabel() {
  return _("Not written by you");
}

/** The notice shown (once per chat) when such a message appears. */
export function notYouNotice() {
  return _(
    "A message in your name appeared that was not written on this page. Someone else who " +
      "can read this chat may have written it. If something here seems wrong, you can end " +
      "the chat. If you are in danger now, call 112.",
  );
}

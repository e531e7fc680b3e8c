// The return code during a chat (CRYPTO.md §3): made on request with crypto.getRandomValues,
// shown once, wrapped under the current segment key K and sent on the chat's socket; the wrap
// is sent again after a reconnect until the server says it is stored, and a later segment is
// wrapped under the same code (CRYPTO.md §5). Memory only (SAFETY S-9): forgotten with the chat.

import { _ } from "../i18n.js";
import { formatCode, newCode } from "../crypto/returncode.js";
import { returnCodeFrame } from "./keys.js";
import { session } from "./session.js";

export class ReturnCodeOffer {
  /**
   * `root` holds [data-get-return-code] and the [data-return-code] box. `run(fn)` queues `fn`
   * on the chat's frame chain (order matters: K may change with a handover); `send(frame)`
   * writes to the socket; `notice(text)` tells the young person something went wrong.
   */
  constructor(root, { run, send, notice }) {
    this.button = root.querySelector("[data-get-return-code]");
    this.box = root.querySelector("[data-return-code]");
    this.value = root.querySelector("[data-return-code-value]");
    this.doneButton = root.querySelector("[data-return-code-done]");
    this.run = run;
    this.send = send;
    this.notice = notice;
    this.code = null; // kept in memory to wrap later segments
    this.frame = null; // the wrapped K, sent again after a reconnect until stored
    this.doneButton.addEventListener("click", () => this.hide());
  }

  /** True once a code was made for this chat. */
  get taken() {
    return this.code !== null;
  }

  /** Make the code, show it once, wrap the segment `current()` names ({key, conv, seg}). */
  make(current) {
    if (this.code) return;
    this.button.disabled = true;
    this.code = newCode();
    this.value.textContent = formatCode(this.code);
    this.box.hidden = false;
    this.doneButton.focus();
    this.wrap(current);
  }

  /** Show a code made after the chat ended (youth/latecode.js) once, like one made during it. */
  showCode(code) {
    this.button.disabled = true;
    this.value.textContent = formatCode(code);
    this.box.hidden = false;
    this.doneButton.focus();
  }

  /** Wrap the current K under the code and send it (a new segment calls this again). */
  wrap(current) {
    const code = this.code;
    if (!code) return;
    this.run(async () => {
      try {
        const { key, conv, seg } = current();
        if (!key || this.code !== code) return;
        const { frame } = await returnCodeFrame(code, key, conv, seg);
        if (session.exiting || this.code !== code) return; // left meanwhile
        this.frame = frame;
        this.send(frame);
      } catch {
        this.notice(_("The return code could not be saved."));
      }
    });
  }

  /** `return_code_stored`: nothing to send again. */
  stored() {
    this.frame = null;
  }

  /** After a reconnect: the wrap again, until stored. */
  resend() {
    if (this.frame) this.send(this.frame);
  }

  /** The chat ended: no later segment needs the code; it stays shown until "written down". */
  release() {
    this.code = null;
    this.frame = null;
  }

  /** Forget the code and take it off the screen. */
  forget() {
    this.release();
    this.hide();
  }

  /** Take the shown code off the screen (it is shown once). */
  hide() {
    this.value.textContent = "";
    this.box.hidden = true;
  }
}

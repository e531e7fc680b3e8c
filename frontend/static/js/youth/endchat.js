// "End chat" asks first (issue 12 §3), in the page like the delete control — never
// window.confirm, which the quick exit cannot blank. The safe answer ("Keep chatting") has the
// focus. Without a return code yet, the question offers one first: a code can only be made
// while the chat is open (the wrap travels on the chat's socket, CRYPTO.md §3).

export class EndChatControl {
  /**
   * `button` is [data-end-chat]; `box` the [data-end-confirm] group. `hasCode()` says whether
   * a return code was taken; `getCode()` makes one; `end()` ends the chat.
   */
  constructor(button, box, { hasCode, getCode, end }) {
    this.button = button;
    this.box = box;
    this.hasCode = hasCode;
    this.offer = box.querySelector("[data-end-code-offer]");
    this.codeButton = box.querySelector("[data-end-code]");
    this.yes = box.querySelector("[data-end-yes]");
    this.no = box.querySelector("[data-end-no]");
    button.addEventListener("click", () => this.open());
    this.no.addEventListener("click", () => {
      this.close();
      this.button.focus();
    });
    this.yes.addEventListener("click", () => {
      this.close();
      end();
    });
    this.codeButton.addEventListener("click", () => {
      this.close();
      getCode();
    });
  }

  open() {
    const offer = !this.hasCode();
    this.offer.hidden = !offer;
    this.codeButton.hidden = !offer;
    this.box.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    this.no.focus();
  }

  close() {
    this.box.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
  }
}

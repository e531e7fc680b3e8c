// The message box shared by the youth chat and each console panel: Enter sends (Shift+Enter
// breaks the line), and typing is signalled while keys arrive and stops after 3 s of quiet or
// when the message goes. Text is handed over trimmed; the box never renders anything.

const TYPING_IDLE_MS = 3000;

export class Compose {
  /**
   * `form` holds the textarea and the buttons. While `active()` is true, `onText(text)` gets
   * each non-empty message and `onTyping(on)` each change of the typing state.
   */
  constructor(form, { active, onText, onTyping }) {
    this.form = form;
    this.box = form.querySelector("textarea");
    this.active = active;
    this.onText = onText;
    this.onTyping = onTyping;
    this.typing = false;
    this.timer = undefined;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.box.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    });
    this.box.addEventListener("input", () => this.setTyping(true));
  }

  submit() {
    const text = this.box.value.trim();
    if (!text || !this.active()) return;
    this.box.value = "";
    this.setTyping(false);
    this.onText(text);
  }

  setTyping(on) {
    clearTimeout(this.timer);
    if (!this.active()) return;
    if (on) this.timer = setTimeout(() => this.setTyping(false), TYPING_IDLE_MS);
    if (on !== this.typing) {
      this.typing = on;
      this.onTyping(on);
    }
  }

  /** Forget the typing state (the chat ended or starts afresh). */
  stop() {
    clearTimeout(this.timer);
    this.typing = false;
  }

  /** Allow or block writing (the box and its Send button) while the other buttons stay. */
  setEnabled(on) {
    if (!on) this.stop();
    this.box.disabled = !on;
    const submit = this.form.querySelector("button[type=submit]");
    if (submit) submit.disabled = !on;
  }

  disable() {
    this.stop();
    this.box.disabled = true;
    for (const button of this.form.querySelectorAll("button")) button.disabled = true;
  }
}

// Closing a chat from the console (issue 11): "Close chat" asks first, in the panel, and offers
// the close categories (topic, outcome, referrals). The tags go with the `close` frame and are
// counted anonymously by the server (never stored with the chat); none are required.

let vocabulary = null; // {topics, outcomes, referrals}: fetched once per console

async function loadVocabulary() {
  if (vocabulary) return vocabulary;
  const response = await fetch("/staff/api/close-tags", { credentials: "same-origin" });
  if (!response.ok) throw new Error(`close tags: HTTP ${response.status}`);
  vocabulary = await response.json();
  return vocabulary;
}

function fillSelect(select, items) {
  select.replaceChildren(new Option("Not tagged", ""), ...items.map((i) => new Option(i.label, i.id)));
}

export class CloseControl {
  /**
   * `panel`: the chat's element (holding `[data-close-chat]` and `[data-close-form]`); `send`
   * sends a frame; `number` makes the controls' ids unique on the page.
   */
  constructor(panel, conv, number, send) {
    this.conv = conv;
    this.send = send;
    this.button = panel.querySelector("[data-close-chat]");
    this.form = panel.querySelector("[data-close-form]");
    this.referrals = this.form.querySelector("[data-referrals]");
    this.error = this.form.querySelector("[data-close-error]");
    this.number = number;
    for (const label of this.form.querySelectorAll("label[data-for]")) {
      const control = this.form.elements[label.dataset.for];
      control.id = `chat-${number}-close-${label.dataset.for}`;
      label.htmlFor = control.id;
    }
    this.form.setAttribute("aria-label", `Close chat ${number}`);
    this.button.setAttribute("aria-expanded", "false");
    this.button.addEventListener("click", () => this.ask());
    this.form.querySelector("[data-close-cancel]").addEventListener("click", () => this.cancel());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.confirm();
    });
  }

  async ask() {
    this.form.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    this.error.textContent = "";
    try {
      const words = await loadVocabulary();
      if (this.form.elements.topic.options.length <= 1) {
        fillSelect(this.form.elements.topic, words.topics);
        fillSelect(this.form.elements.outcome, words.outcomes);
        this.referrals.replaceChildren(
          ...words.referrals.map((r) => {
            const label = document.createElement("label");
            const box = document.createElement("input");
            box.type = "checkbox";
            box.name = "referral";
            box.value = r.id;
            label.append(box, ` ${r.label}`);
            // "None" goes alone: choosing it clears the others, and choosing another clears it.
            box.addEventListener("change", () => {
              if (!box.checked) return;
              for (const other of this.referrals.querySelectorAll("input[name=referral]")) {
                if (other !== box && (r.id === "none" || other.value === "none")) {
                  other.checked = false;
                }
              }
            });
            return label;
          }),
        );
      }
    } catch {
      this.error.textContent = "The categories could not be loaded: you can still close without.";
    }
    this.form.elements.topic.focus();
  }

  cancel() {
    this.form.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
    this.button.focus();
  }

  /** The tags chosen; null when none is. */
  tags() {
    const topic = this.form.elements.topic.value || null;
    const outcome = this.form.elements.outcome.value || null;
    const referrals = [...this.form.querySelectorAll("input[name=referral]:checked")].map(
      (box) => box.value,
    );
    if (!topic && !outcome && referrals.length === 0) return null;
    return { topic, outcome, referrals };
  }

  confirm() {
    const frame = { type: "close", conv: this.conv };
    const tags = this.tags();
    if (tags) frame.tags = tags;
    this.send(frame);
    this.form.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
  }

  /** The chat ended (either side): nothing left to close. */
  ended() {
    this.form.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
  }
}

// Canned replies in a chat's message box (issue 11): typing "/" and letters at the start of a
// word opens a list of the replies in the chat's language whose title (then text) has a word
// starting so; arrow keys and Enter, or a click, put the reply's text in place of the "/word"
// for the counsellor to edit. Nothing is ever sent from here: sending stays the box's own Send.
// Escape closes the list. The replies are fetched once per language and again on focus at
// most once a minute. Titles and texts are shown with textContent only.

const API = "/staff/api/canned-replies";
const REFRESH_MS = 60_000;
const MAX_SHOWN = 8;
const PREVIEW_CHARS = 70;
/** "/" then letters, digits, "_" or "-" at the start of a word, ending at the caret. */
const TRIGGER = /(^|\s)\/([\p{L}\p{N}_-]*)$/u;

const lists = new Map(); // language -> {replies, at, loading}
let instances = 0;

function load(language) {
  let entry = lists.get(language);
  if (entry && (entry.loading || Date.now() - entry.at < REFRESH_MS)) return entry.loading;
  entry = entry ?? { replies: [], at: 0, loading: null };
  lists.set(language, entry);
  const query = new URLSearchParams({ language });
  entry.loading = fetch(`${API}?${query}`, { credentials: "same-origin" })
    .then((response) => (response.ok ? response.json() : { replies: entry.replies }))
    .then((body) => {
      entry.replies = body.replies;
    })
    .catch(() => {}) // a help, not a must: the box works without replies
    .finally(() => {
      entry.at = Date.now();
      entry.loading = null;
    });
  return entry.loading;
}

function words(text) {
  return text.toLocaleLowerCase().split(/[^\p{L}\p{N}_-]+/u).filter(Boolean);
}

/**
 * The replies `/query` finds, best first: titles starting with it, then titles with a word
 * starting with it, then texts with such a word; alphabetical within each.
 */
export function matching(replies, query) {
  const q = query.toLocaleLowerCase();
  const rank = (reply) => {
    const title = reply.title.toLocaleLowerCase();
    if (title.startsWith(q)) return 0;
    if (words(title).some((w) => w.startsWith(q))) return 1;
    if (words(reply.body).some((w) => w.startsWith(q))) return 2;
    return -1;
  };
  return replies
    .map((reply) => ({ reply, rank: rank(reply) }))
    .filter((r) => r.rank >= 0)
    .sort((a, b) => a.rank - b.rank || a.reply.title.localeCompare(b.reply.title))
    .map((r) => r.reply);
}

function preview(body) {
  const line = body.split(/\s+/).join(" ");
  return line.length <= PREVIEW_CHARS ? line : `${line.slice(0, PREVIEW_CHARS - 1)}…`;
}

class CannedPicker {
  constructor(box, language) {
    this.box = box;
    this.language = language;
    this.id = `canned-${++instances}`;
    this.shown = [];
    this.active = -1;
    this.start = -1; // where the "/word" begins in the box
    this.list = document.createElement("ul");
    this.list.id = `${this.id}-list`;
    this.list.className = "canned-list";
    this.list.setAttribute("role", "listbox");
    this.list.setAttribute("aria-label", "Canned replies");
    this.list.hidden = true;
    this.announce = document.createElement("p");
    this.announce.className = "visually-hidden";
    this.announce.setAttribute("role", "status");
    this.hint = document.createElement("p");
    this.hint.className = "canned-hint";
    this.hint.id = `${this.id}-hint`;
    this.hint.hidden = true;
    (box.closest("label") ?? box).after(this.list, this.announce, this.hint);
    box.setAttribute("aria-autocomplete", "list");
    box.setAttribute("aria-controls", this.list.id);
    const described = box.getAttribute("aria-describedby");
    box.setAttribute("aria-describedby", described ? `${described} ${this.hint.id}` : this.hint.id);
    // Capture: the list's keys are handled before the box's own (Enter would send).
    box.addEventListener("keydown", (event) => this.key(event), { capture: true });
    box.addEventListener("input", () => this.update());
    box.addEventListener("click", () => this.update());
    box.addEventListener("focus", () => this.refresh());
    box.addEventListener("blur", () => this.close());
    // Keep the focus in the box while an option is clicked.
    this.list.addEventListener("mousedown", (event) => event.preventDefault());
    this.refresh();
  }

  replies() {
    return lists.get(this.language)?.replies ?? [];
  }

  async refresh() {
    await load(this.language);
    const count = this.replies().length;
    this.hint.hidden = count === 0;
    this.hint.textContent = count ? "Type / and a word for a canned reply." : "";
    if (!this.list.hidden) this.update();
  }

  update() {
    const before = this.box.value.slice(0, this.box.selectionStart);
    const found = this.box.selectionStart === this.box.selectionEnd && TRIGGER.exec(before);
    if (!found) return this.close();
    const query = found[2];
    this.start = before.length - query.length - 1;
    const shown = matching(this.replies(), query).slice(0, MAX_SHOWN);
    if (shown.length === 0) {
      if (!this.list.hidden) this.announce.textContent = "No canned reply matches.";
      return this.close(false);
    }
    const keep = this.shown[this.active]?.id;
    this.shown = shown;
    this.active = Math.max(0, shown.findIndex((r) => r.id === keep));
    this.render();
    if (this.list.hidden) {
      this.announce.textContent =
        `${shown.length === 1 ? "1 canned reply" : `${shown.length} canned replies`}: ` +
        "up and down arrows to choose, Enter to insert, Escape to close.";
    }
    this.list.hidden = false;
  }

  render() {
    this.list.replaceChildren(
      ...this.shown.map((reply, index) => {
        const option = document.createElement("li");
        option.id = `${this.id}-${index}`;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", String(index === this.active));
        option.className = index === this.active ? "canned-option active" : "canned-option";
        const title = document.createElement("span");
        title.className = "canned-title";
        title.textContent = `/${reply.title}`;
        title.dir = "auto";
        const text = document.createElement("span");
        text.className = "canned-preview";
        text.textContent = preview(reply.body);
        text.dir = "auto";
        option.append(title, " ", text);
        option.addEventListener("click", () => this.insert(reply));
        return option;
      }),
    );
    this.box.setAttribute("aria-activedescendant", `${this.id}-${this.active}`);
    this.list.children[this.active]?.scrollIntoView({ block: "nearest" });
  }

  close(clear = true) {
    this.list.hidden = true;
    this.shown = [];
    this.active = -1;
    this.box.removeAttribute("aria-activedescendant");
    if (clear) this.announce.textContent = "";
  }

  key(event) {
    if (this.list.hidden || event.isComposing) return;
    const moves = { ArrowDown: 1, ArrowUp: -1 };
    if (event.key in moves) {
      this.active = (this.active + moves[event.key] + this.shown.length) % this.shown.length;
      this.render();
    } else if (event.key === "Enter" || event.key === "Tab") {
      if (event.shiftKey) return;
      this.insert(this.shown[this.active]);
    } else if (event.key === "Escape") {
      this.close();
    } else {
      return;
    }
    event.preventDefault();
    event.stopImmediatePropagation();
  }

  /** The reply's text in place of the "/word", the caret after it: for editing, not sent. */
  insert(reply) {
    const caret = this.box.selectionStart;
    const value = this.box.value;
    this.box.value = value.slice(0, this.start) + reply.body + value.slice(caret);
    const end = this.start + reply.body.length;
    this.close();
    this.box.focus();
    this.box.setSelectionRange(end, end);
    this.box.dispatchEvent(new Event("input", { bubbles: true })); // typing, as by hand
    this.announce.textContent = `Inserted /${reply.title}: edit it, then send.`;
  }
}

/** Attach the canned replies of `language` to a chat's message `box` (a textarea). */
export function attachCanned(box, language) {
  return new CannedPicker(box, language);
}

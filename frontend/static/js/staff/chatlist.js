// The console's chat list (issue 11 §1): one button per chat, urgent chats first, each with its
// stable label (labels.js), kind and language, its unread count and how long ago the young
// person last wrote; choosing one shows its panel as the single active pane. The total of
// unread messages and unseen new chats goes to the document title (attention.js).

import { ago, labelsOf, orderChats } from "./labels.js";

const KIND_NAMES = { youth: "young person", professional: "professional" };

export class ChatList {
  /**
   * `list` is the <ul>; `empty` the "no chats" text; `onTotal(n)` gets the unread total
   * whenever it may have changed.
   */
  constructor(list, empty, onTotal) {
    this.list = list;
    this.empty = empty;
    this.onTotal = onTotal;
    this.chats = new Map(); // conv -> Conversation
    this.items = new Map(); // conv -> {li, button, parts}
    this.active = null; // conv shown in the pane
    setInterval(() => this.refresh(), 1000);
    document.addEventListener("visibilitychange", () => this.seen());
    window.addEventListener("focus", () => this.seen());
  }

  /** Whether the counsellor can see the active chat now (the page is in front). */
  looking() {
    return document.visibilityState === "visible";
  }

  add(chat) {
    this.chats.set(chat.conv, chat);
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "chat-item";
    button.dataset.chatItem = chat.conv;
    const name = document.createElement("span");
    name.className = "chat-item-name";
    const urgent = document.createElement("span");
    urgent.className = "chat-item-urgent";
    urgent.textContent = "URGENT";
    const unread = document.createElement("span");
    unread.className = "chat-item-unread";
    const meta = document.createElement("span");
    meta.className = "chat-item-meta";
    const since = document.createElement("span");
    since.className = "chat-item-meta";
    const unreadWord = document.createElement("span");
    unreadWord.className = "visually-hidden";
    unreadWord.textContent = " unread";
    button.append(name, urgent, unread, meta, since);
    button.addEventListener("click", () => this.select(chat.conv, { focus: true }));
    li.append(button);
    this.items.set(chat.conv, { li, button, name, urgent, unread, unreadWord, meta, since });
    this.relabel();
    // A new chat is shown at once when nothing open is: never taken from under a counsellor
    // who is writing in another chat (it waits in the list, counted in the title).
    const current = this.chats.get(this.active);
    if (!current || !current.open) this.select(chat.conv);
    else chat.element.hidden = true;
    this.refresh();
  }

  remove(chat) {
    this.chats.delete(chat.conv);
    this.items.get(chat.conv)?.li.remove();
    this.items.delete(chat.conv);
    if (this.active === chat.conv) {
      this.active = null;
      const next = this.ordered()[0];
      if (next) this.select(next.conv);
    }
    this.refresh();
  }

  clear() {
    for (const chat of [...this.chats.values()]) this.remove(chat);
  }

  /** Labels are worked out over the whole set, so that a rare collision lengthens both. */
  relabel() {
    const labels = labelsOf([...this.chats.keys()]);
    for (const [conv, chat] of this.chats) {
      // Once lengthened, a label stays long while the chat is listed (it does not flip back).
      const label = labels.get(conv);
      if (!chat.label || label.length > chat.label.length) chat.setLabel(label);
    }
  }

  select(conv, { focus = false } = {}) {
    const chat = this.chats.get(conv);
    if (!chat) return;
    this.active = conv;
    for (const [other, c] of this.chats) c.element.hidden = other !== conv;
    this.seen();
    if (focus && !chat.composer.box.disabled) chat.composer.box.focus();
    else if (focus) this.items.get(conv)?.button.focus();
  }

  /** The active chat is in view: its messages are read. */
  seen() {
    const chat = this.chats.get(this.active);
    if (chat && this.looking()) chat.markRead();
    this.refresh();
  }

  ordered() {
    return orderChats(
      [...this.chats.values()].map((c) => ({
        conv: c.conv,
        label: c.label,
        open: c.open,
        urgent: c.urgent,
        since: c.since,
      })),
    );
  }

  /** Redraw every item (order, counts, ages) and the title's total. */
  refresh() {
    const now = Date.now();
    let total = 0;
    const order = [];
    for (const entry of this.ordered()) {
      const chat = this.chats.get(entry.conv);
      const item = this.items.get(entry.conv);
      const unread = chat.unreadCount();
      total += unread;
      item.name.textContent = `Chat ${chat.label}`;
      item.urgent.hidden = !chat.urgent;
      item.unread.hidden = unread === 0;
      item.unread.replaceChildren(String(unread), item.unreadWord);
      const kind = KIND_NAMES[chat.info.kind] ?? chat.info.kind;
      item.meta.textContent = `${kind}, ${chat.info.language}${chat.open ? "" : ` — ${chat.endedText}`}`;
      if (chat.lastFromThem !== null) {
        item.since.textContent = `Last message from them ${ago((now - chat.lastFromThem) / 1000)}`;
      } else {
        item.since.textContent = chat.open ? "No message from them yet" : "";
      }
      item.button.classList.toggle("urgent", chat.urgent);
      item.button.classList.toggle("ended", !chat.open);
      const current = entry.conv === this.active;
      item.button.setAttribute("aria-current", String(current));
      order.push(item.li);
      chat.tick(now);
    }
    // Moved only when the order changed: moving a focused button would lose its focus.
    if (order.some((li, i) => this.list.children[i] !== li)) {
      const focused = this.list.contains(document.activeElement) ? document.activeElement : null;
      this.list.append(...order);
      focused?.focus();
    }
    this.empty.hidden = this.chats.size > 0;
    this.onTotal(total);
  }
}

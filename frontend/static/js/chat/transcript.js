// A chat transcript (role=log). Messages are built with createElement/textContent only, never
// innerHTML (SECURITY R-14), and carry dir="auto" so Arabic and Swedish lines each read right.
// The name ("You", the counsellor's alias) is isolated (<bdi>) so an alias in another script
// does not reorder the line; the ": " after it follows the page's direction.

export class Transcript {
  /** `element` is the role=log container; it is emptied by the quick exit. */
  constructor(element) {
    this.element = element;
  }

  /** Append one message; returns its element (so its delivery state can be updated). */
  addMessage(who, text, { own = false } = {}) {
    const item = document.createElement("p");
    item.className = own ? "message message-own" : "message message-other";
    item.dataset.message = "";
    const name = document.createElement("span");
    name.className = "message-who";
    const label = document.createElement("bdi");
    label.textContent = who;
    name.append(label, ": ");
    const body = document.createElement("span");
    body.className = "message-body";
    body.dir = "auto";
    body.textContent = text;
    item.append(name, body);
    this.element.append(item);
    this.scroll();
    return item;
  }

  /** A line from the page itself (joined, ended, an error). */
  addNotice(text, kind = "info") {
    const item = document.createElement("p");
    item.className = `notice notice-${kind}`;
    item.dataset.message = "";
    item.textContent = text;
    this.element.append(item);
    this.scroll();
    return item;
  }

  clear() {
    this.element.replaceChildren();
  }

  scroll() {
    this.element.scrollTop = this.element.scrollHeight;
  }
}

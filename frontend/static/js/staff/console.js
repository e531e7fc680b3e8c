// The staff console: log in (password + TOTP), then one /ws/staff socket carrying duty, the
// assigned chats (several at once, one staff/conversation.js panel each) and their envelopes.
// The session cookie is HttpOnly; the CSRF token is kept in memory for logout.
// Before the socket opens, staff/device.js makes sure this browser holds a registered device
// (its non-extractable keys in IndexedDB): chats are sealed to it and the socket names it.
// Transfers (PROTOCOL.md §7): each panel has a Transfer control (staff/transfer.js); warm
// offers from colleagues are listed above the chats (staff/offers.js); a chat handed on is
// emptied of everything but a notice (`transferred`). A chat deleted (`closed` with reason
// "deleted", also one that had ended and is still listed) keeps only a notice too.
// A busy evening (issue 11 §1): the queue at a glance (staff/queue.js, `watch_queue`), a chat
// list beside one active pane (staff/chatlist.js), unread counts in the list and the title,
// an opt-in tone and desktop notification (staff/attention.js).

import { initComponents } from "../components.js";
import { reconnectDelay, sendFrame, socketUrl } from "../chat/envelopes.js";
import { Attention } from "./attention.js";
import { ChatList } from "./chatlist.js";
import { Conversation } from "./conversation.js";
import { LoginNotFresh, ensureDevice } from "./device.js";
import { askEnrolCode } from "./enrol.js";
import { showSharedHistory } from "./history.js";
import { Offers } from "./offers.js";
import { addNotice } from "./notices.js";
import { QueueGlance } from "./queue.js";
import { showDevices } from "./mydevices.js";
import { Reauth } from "./reauth.js";

class StaffConsole {
  constructor(root) {
    this.root = root;
    this.loginForm = root.querySelector("[data-login]");
    this.loginError = root.querySelector("[data-login-error]");
    this.panel = root.querySelector("[data-console]");
    this.whoami = root.querySelector("[data-whoami]");
    this.dutyButton = root.querySelector("[data-duty]");
    this.logoutButton = root.querySelector("[data-logout]");
    this.status = root.querySelector("[data-console-status]");
    this.noChats = root.querySelector("[data-no-chats]");
    this.chatList = root.querySelector("[data-chats]");
    this.template = root.querySelector("[data-chat-template]");
    this.openChats = root.querySelector("[data-open-chats]");
    this.forceLogout = root.querySelector("[data-open-chats-force]");
    this.reauth = new Reauth(
      root.querySelector("[data-reauth-slot]"),
      root.querySelector("[data-reauth-template]"),
      () => this.csrf,
      (text) => {
        this.status.textContent = text;
      },
    );
    this.offers = new Offers(
      root.querySelector("[data-offers]"),
      root.querySelector("[data-offer-template]"),
      (frame) => this.send(frame),
      () => this.device,
      (text) => {
        this.status.textContent = text;
      },
    );
    const say = (text) => {
      this.status.textContent = text;
    };
    this.attention = new Attention(
      root.querySelector("[data-sound]"),
      root.querySelector("[data-notify]"),
      say,
    );
    this.list = new ChatList(root.querySelector("[data-chat-list]"), this.noChats, (n) =>
      this.attention.setUnread(n),
    );
    this.glance = new QueueGlance(root.querySelector("[data-queue]"));
    this.socket = null;
    this.csrf = null;
    this.device = null; // staff/device.js Device, once registered
    this.onDuty = false;
    this.attempt = 0;
    this.numbered = 0;
    this.chats = new Map(); // conv -> Conversation
    this.chain = Promise.resolve();
  }

  async init() {
    this.loginForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.login();
    });
    this.dutyButton.addEventListener("click", () => {
      this.send({ type: "duty", on: !this.onDuty });
    });
    this.logoutButton.addEventListener("click", () => this.logout());
    this.forceLogout.addEventListener("click", () => this.logout(undefined, { force: true }));
    this.openChats.querySelector("[data-open-chats-dismiss]").addEventListener("click", () => {
      this.openChats.hidden = true;
    });
    // An existing session (same tab, reload) goes straight to the console.
    try {
      const response = await fetch("/staff/api/me", { credentials: "same-origin" });
      if (response.ok) {
        await this.started(await response.json());
        return;
      }
    } catch {
      // Offline: the login form says so when used.
    }
    this.showLogin();
  }

  showLogin() {
    this.panel.hidden = true;
    this.loginForm.hidden = false;
    this.loginForm.elements.username.focus();
  }

  async login() {
    const form = this.loginForm.elements;
    this.loginError.textContent = "";
    let response;
    try {
      response = await fetch("/staff/api/login", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          username: form.username.value,
          password: form.password.value,
          totp: form.totp.value.trim(),
        }),
      });
    } catch {
      this.loginError.textContent = "The server cannot be reached. Try again.";
      return;
    }
    form.password.value = "";
    form.totp.value = "";
    if (response.status === 503) {
      this.loginError.textContent = "The service is busy. Try again in a moment.";
    } else if (response.status === 429) {
      this.loginError.textContent = "Too many attempts. Try again later.";
    } else if (!response.ok) {
      this.loginError.textContent = "Wrong username, password or code.";
    } else {
      await this.started(await response.json());
    }
  }

  async started(info) {
    this.csrf = info.csrf_token;
    this.whoami.textContent = `Logged in as ${info.alias} (${info.role}).`;
    this.loginForm.hidden = true;
    this.panel.hidden = false;
    this.status.textContent = "Preparing this device's keys…";
    try {
      // `fresh_login`: only a login answers it (not /me after a reload), in memory only.
      this.device = await ensureDevice(info.staff_id, this.csrf, info.fresh_login, (wrong) => {
        this.status.textContent = "This new device needs its enrolment code.";
        return askEnrolCode(
          this.root.querySelector("[data-enrol-slot]"),
          this.root.querySelector("[data-enrol-template]"),
          wrong,
        );
      });
    } catch (error) {
      if (error instanceof LoginNotFresh) {
        // A new device is certified only right after a password+TOTP login (§6.2).
        await this.logout("Log in again to set up the keys of this device.", { force: true });
      } else {
        this.status.textContent = `This device's keys are not ready: ${error.message}. Reload to try again.`;
      }
      return;
    }
    showDevices(this.root, this.device.id).catch(() => {}); // the console works without it
    this.connect();
  }

  connect() {
    const path = `/ws/staff?device=${encodeURIComponent(this.device.id)}`;
    const socket = new WebSocket(socketUrl(path));
    this.socket = socket;
    this.status.textContent = "Connecting…";
    socket.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      this.chain = this.chain.then(() => this.handle(frame)).catch(() => {});
    });
    socket.addEventListener("close", () => this.closed(socket));
  }

  closed(socket) {
    if (socket !== this.socket) return;
    this.socket = null;
    this.setDuty(false);
    if (this.csrf) for (const chat of this.chats.values()) chat.connection(false);
    if (!this.csrf) return; // logged out
    const delay = reconnectDelay(this.attempt);
    this.attempt += 1;
    this.status.textContent = "Disconnected. Reconnecting…";
    setTimeout(async () => {
      if (!this.csrf || this.socket) return;
      const response = await fetch("/staff/api/me", { credentials: "same-origin" }).catch(
        () => null,
      );
      if (response?.status === 401) {
        this.loggedOut("Your session has ended. Log in again.");
      } else if (this.csrf && !this.socket) {
        this.connect();
      }
    }, delay);
  }

  send(frame) {
    return sendFrame(this.socket, frame);
  }

  setDuty(on) {
    this.onDuty = on;
    this.dutyButton.textContent = on ? "Go off duty" : "Go on duty";
    this.dutyButton.setAttribute("aria-pressed", String(on));
  }

  async handle(frame) {
    switch (frame.type) {
      case "hello":
        this.attempt = 0;
        this.status.textContent = frame.on_duty ? "Connected. On duty." : "Connected. Off duty.";
        this.setDuty(frame.on_duty);
        if (frame.device === null) {
          this.status.textContent =
            "The server does not know this device any more. Reload the page to register it again.";
        }
        // The queue at a glance, pushed about once a second from now on (PROTOCOL.md §2.2).
        this.send({ type: "watch_queue" });
        for (const chat of [...this.chats.values()]) {
          chat.connection(true);
          chat.transfer.reconnected();
          // Handed over or ended while this console was away: its keys go now.
          if (chat.open && !frame.conversations.some((info) => info.conv === chat.conv)) {
            chat.gone();
          }
        }
        for (const info of frame.conversations) {
          const chat = this.chats.get(info.conv) ?? (await this.add(info));
          if (info.present !== undefined) chat.presence(info.present);
          await chat.sealedKey(info);
          // These links hold live envelopes until we say what we have (sync).
          chat.sync();
        }
        break;
      case "device_added":
        // A device was certified for this account just now (this one, or another: then the
        // list warns at once, not only at the next login).
        showDevices(this.root, this.device?.id).catch(() => {});
        break;
      case "duty":
        this.setDuty(frame.on);
        if (frame.on) this.openChats.hidden = true;
        this.status.textContent = frame.on ? "On duty: new chats can be assigned to you." : "Off duty.";
        break;
      case "assigned": {
        // A chat that comes back (transferred to us again) gets a fresh panel.
        const stale = this.chats.get(frame.conv);
        if (stale && !stale.open) this.remove(stale);
        if (this.offers.has(frame.conv)) {
          this.offers.remove(frame.conv);
          this.status.textContent = "You accepted the offered chat.";
        }
        if (!this.chats.has(frame.conv)) {
          const handoff = this.offers.takeNote(frame.conv);
          const chat = await this.add(frame, { fresh: true });
          addNotice(
            chat.transcript,
            "info",
            (frame.seg ?? 0) > 0 ? "Chat passed to you." : "New chat assigned to you.",
          );
          if (handoff?.text) chat.showHandoff(handoff.from, handoff.text);
          this.incoming(chat, "chat");
          await chat.sealedKey(frame);
          if (this.list.active === chat.conv && !this.panel.contains(document.activeElement)) {
            chat.composer.box.focus();
          }
        }
        break;
      }
      case "queue":
        this.glance.show(frame);
        break;
      case "history": {
        // An earlier chat the young person let this device read (PROTOCOL.md §6.5).
        const chat = this.chats.get(frame.conv);
        if (!chat?.erased) await showSharedHistory(chat, frame, this.device);
        break;
      }
      case "keys":
        await this.chats.get(frame.conv)?.sealedKey(frame);
        break;
      case "accept_stored":
        this.chats.get(frame.conv)?.acceptanceStored(frame.seg);
        break;
      case "undecryptable":
        this.chats.get(frame.conv)?.undecryptable(frame);
        break;
      case "synced":
        this.chats.get(frame.conv)?.synced();
        break;
      case "envelope":
        await this.chats.get(frame.envelope.conv)?.received(frame.envelope);
        break;
      case "ack":
        this.chats.get(frame.conv)?.acknowledged(frame);
        break;
      case "typing":
        this.chats.get(frame.conv)?.showTyping(frame.typing);
        break;
      case "presence":
        this.chats.get(frame.conv)?.presence(frame.present);
        break;
      case "session_expiring":
        this.reauth.expiring(frame.expires_at);
        break;
      case "closed": {
        const chat = this.chats.get(frame.conv);
        if (!chat) break;
        // Ended by the young person (or by us): the device signs what it holds, last.
        if (frame.reason !== "deleted") await chat.signTranscript();
        const wasErased = chat.erased;
        chat.closed(frame);
        if (chat.erased && !wasErased) {
          // Said once where the console's news is read (role=status), by chat number only.
          const who = frame.by === "youth" ? "the young person" : "a supervisor";
          this.status.textContent = `Chat ${chat.label} was deleted by ${who}.`;
        }
        break;
      }
      case "offer":
        await this.offers.add(frame);
        break;
      case "offer_withdrawn":
        this.offers.withdrawn(frame);
        break;
      case "transfer":
        this.chats.get(frame.conv)?.transfer.update(frame);
        break;
      case "transferred":
        // It left this console: the device signs what it held before the keys go.
        await this.chats.get(frame.conv)?.signTranscript();
        this.transferred(frame);
        break;
      case "open_chats":
        this.askAboutOpenChats(frame.conversations ?? []);
        break;
      case "error":
        if (frame.code === "transfer_refused") {
          if (this.chats.has(frame.conv)) this.chats.get(frame.conv).transfer.refused(frame);
          else if (this.offers.has(frame.conv)) this.offers.refused(frame);
          else this.status.textContent = frame.message || "The transfer was refused.";
        } else if (frame.code === "logged_out") {
          this.loggedOut("Your session has ended. Log in again.");
        } else if (frame.code === "device_required") {
          this.status.textContent =
            "This device is not registered: reload the page to register it, then go on duty.";
        } else if (this.chatOf(frame.ref)) {
          this.chatOf(frame.ref).error(frame);
        } else if (frame.code === "unavailable" && this.retrySync()) {
          this.status.textContent = "The service is busy: trying again in a moment…";
        } else {
          this.status.textContent = frame.message || "Something went wrong.";
        }
        break;
      default:
        break;
    }
  }

  /** Something new in a chat (`kind`: "chat", "message", "ended"): counted, and announced
   * by tone and notification unless the counsellor is looking at that very chat. */
  incoming(chat, kind) {
    const inView = this.list.active === chat.conv && this.list.looking();
    if (inView) chat.markRead();
    if (!inView || !document.hasFocus() || kind === "chat") {
      this.attention.alert(kind === "chat" ? "chat" : "message");
    }
    this.list.refresh();
  }

  /** The chat left this console (handed over, or back to the queue): its keys and messages
   * go; a notice in its pane says where it went, until the counsellor removes it. */
  transferred(frame) {
    const chat = this.chats.get(frame.conv);
    if (!chat) return;
    const name = `Chat ${chat.label}`;
    let text;
    if (frame.to) {
      text = `was handed over to ${frame.to}.`;
    } else if (frame.reason === "unanswered") {
      text = "went back to the queue: it had not been answered.";
    } else if (frame.reason === "unaccepted") {
      text = "went back to the queue: this device did not confirm it in time.";
    } else if (frame.reason === "shift_ended") {
      text = "went back to the front of the queue: your shift ended.";
    } else {
      text = "went back to the queue.";
    }
    chat.handedOver(`This chat ${text} Its messages are no longer shown here.`);
    this.list.refresh();
    this.status.textContent = `${name} ${text}`;
  }

  /** Off duty with chats still open: ask to transfer or finish each of them. */
  askAboutOpenChats(convs) {
    const open = convs.map((conv) => this.chats.get(conv)).filter((chat) => chat?.open);
    if (open.length === 0) return;
    const names = open.map((chat) => `chat ${chat.label}`).join(", ");
    const held = open.length === 1 ? "an open chat" : `${open.length} open chats`;
    this.openChats.querySelector("[data-open-chats-text]").textContent =
      `You are off duty but still hold ${held} (${names}). ` +
      'Transfer each one to a colleague or a queue, or finish it with "Close chat".';
    this.forceLogout.hidden = true;
    this.openChats.hidden = false;
    for (const chat of open) chat.transfer.show();
  }

  /** Log out refused with chats still open: transfer or close each, or log out anyway. */
  askBeforeLogout(convs) {
    const open = convs.map((conv) => this.chats.get(conv)).filter((chat) => chat?.open);
    const names = open.map((chat) => `chat ${chat.label}`).join(", ");
    const count = Math.max(open.length, convs.length);
    const held = count === 1 ? "an open chat" : `${count} open chats`;
    this.openChats.querySelector("[data-open-chats-text]").textContent =
      `You still hold ${held}${names ? ` (${names})` : ""}. Before you log out, transfer ` +
      'each one to a colleague or a queue, or finish it with "Close chat". If you log out ' +
      "anyway, each goes back to the front of its queue and the young person is told.";
    this.forceLogout.hidden = false;
    this.openChats.hidden = false;
    for (const chat of open) chat.transfer.show();
    this.forceLogout.focus();
  }

  /** The chat whose envelope an error frame's `ref` names ({seg, inst, seq}), if any. */
  chatOf(ref) {
    if (!ref) return undefined;
    return [...this.chats.values()].find((chat) => chat.owns(ref));
  }

  /** A sync the server could not serve (`unavailable`): ask again shortly. */
  retrySync() {
    const waiting = [...this.chats.values()].filter((chat) => chat.syncing);
    for (const chat of waiting) {
      chat.syncing = false;
      setTimeout(() => chat.open && chat.sync(), reconnectDelay(1));
    }
    return waiting.length > 0;
  }

  async add(info, { fresh = false } = {}) {
    this.numbered += 1;
    const send = (f) => this.send(f);
    const chat = new Conversation(this.template, info, this.numbered, send, this.device, {
      fresh,
    });
    this.chats.set(info.conv, chat);
    chat.onIncoming = (c, kind) => this.incoming(c, kind);
    chat.onChange = () => this.list.refresh();
    chat.init((done) => this.remove(done));
    this.chatList.append(chat.element);
    this.list.add(chat);
    return chat;
  }

  remove(chat) {
    chat.forget();
    chat.element.remove();
    this.chats.delete(chat.conv);
    this.list.remove(chat);
  }

  /** Log out; with chats still open the server asks first (409 `open_chats`) unless `force`. */
  async logout(message = "You are logged out.", { force = false } = {}) {
    const csrf = this.csrf;
    try {
      const response = await fetch("/staff/api/logout", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf ?? "" },
        body: JSON.stringify({ force }),
      });
      if (response.status === 409) {
        const body = await response.json().catch(() => ({}));
        if (body?.error?.code === "open_chats") {
          this.askBeforeLogout(body.error.conversations ?? []);
          return;
        }
      }
    } catch {
      // The local state is cleared whatever the server answered.
    }
    this.loggedOut(message);
  }

  loggedOut(message) {
    this.csrf = null;
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000);
    // The device stays in IndexedDB on purpose: it is this counsellor's device, and its keys
    // still open their chats when they log in again. Only the keys in memory are dropped.
    this.device = null;
    for (const chat of this.chats.values()) {
      chat.forget();
      chat.element.remove();
    }
    this.chats.clear();
    this.list.clear();
    this.glance.clear();
    this.offers.clear();
    this.openChats.hidden = true;
    this.forceLogout.hidden = true;
    this.reauth.clear();
    this.numbered = 0;
    this.setDuty(false);
    this.showLogin();
    this.loginError.textContent = message;
  }
}

initComponents("staff-console", (root) => new StaffConsole(root).init());

// The young person's chat: triage form -> queue -> conversation, over /ws/youth.
// Ticket, keys and messages live in memory only (SAFETY S-9, youth/session.js). Messages are
// encrypted with the message layer of CRYPTO.md §4 under the INTERIM segment key of
// crypto/testkey.js until sealed segment keys (CRYPTO.md §3) land.

import { b64urlDecode } from "../crypto/bytes.js";
import { interimSegmentKey } from "../crypto/testkey.js";
import { Compose } from "../chat/compose.js";
import { Sender, Streams, openText, reconnectDelay, socketUrl } from "../chat/envelopes.js";
import { Transcript } from "../chat/transcript.js";
import { onEnd, session } from "./session.js";

class YouthChat {
  constructor(root) {
    this.root = root;
    this.triageForm = root.querySelector("[data-triage]");
    this.emergency = root.querySelector("[data-emergency]");
    this.queue = root.querySelector("[data-queue]");
    this.queueStatus = root.querySelector("[data-queue-status]");
    this.leaveButton = root.querySelector("[data-leave-queue]");
    this.conversation = root.querySelector("[data-conversation]");
    this.chatWith = root.querySelector("[data-chat-with]");
    this.transcript = new Transcript(root.querySelector("[data-transcript]"));
    this.chatStatus = root.querySelector("[data-chat-status]");
    this.composer = new Compose(root.querySelector("[data-compose]"), {
      active: () => this.phase === "chat" && this.key !== null,
      onText: (text) => this.sendText(text),
      onTyping: (on) => this.send({ type: "typing", conv: this.conv, typing: on }),
    });
    this.endButton = root.querySelector("[data-end-chat]");

    this.phase = "triage"; // triage | connecting | waiting | chat | ended
    this.socket = null;
    this.hidden = false;
    this.attempt = 0;
    this.reset();
    // Frames are handled one after another: decryption is async, order must hold.
    this.chain = Promise.resolve();
  }

  reset() {
    this.conv = null;
    this.alias = null;
    this.key = null;
    this.sender = null;
    this.streams = new Streams();
    this.pending = new Map(); // seq -> {envelope, item}: sent, not yet acknowledged
    this.acked = 0;
    this.needSync = false;
    this.composer.stop();
  }

  init() {
    this.triageForm.hidden = false;
    this.triageForm.addEventListener("change", () => {
      this.emergency.hidden = this.triageForm.elements.danger.value !== "yes";
    });
    this.triageForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.start();
    });
    this.leaveButton.addEventListener("click", () => this.send({ type: "leave" }));
    this.endButton.addEventListener("click", () => this.send({ type: "close" }));
    onEnd(() => this.forget());
    // S-14: no socket outlives the page; a restored page resumes with its in-memory ticket.
    window.addEventListener("pagehide", () => {
      this.hidden = true;
      this.socket?.close(1000);
    });
    window.addEventListener("pageshow", (event) => {
      this.hidden = false;
      if (event.persisted && this.live()) this.connect(true);
    });
  }

  live() {
    return session.ticket !== null && !session.exiting && ["waiting", "chat"].includes(this.phase);
  }

  show(part) {
    this.triageForm.hidden = part !== "triage";
    this.queue.hidden = part !== "queue";
    this.conversation.hidden = part !== "conversation";
  }

  start() {
    const form = this.triageForm.elements;
    // Optional answers are option ids of GET /api/triage/questions, or null when not given.
    const optional = (name) => (form[name] && form[name].value ? form[name].value : null);
    this.triage = {
      language: form.language.value,
      kind: form.kind.value === "professional" ? "professional" : "youth",
      danger_now: form.danger.value === "yes",
      topic: optional("topic"),
      age_band: optional("age_band"),
    };
    this.phase = "connecting";
    this.queueStatus.textContent = "Connecting…";
    this.show("queue");
    this.connect(false);
  }

  connect(resume) {
    if (session.exiting) return;
    const socket = new WebSocket(socketUrl("/ws/youth"));
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.attempt = 0;
      if (resume) {
        socket.send(JSON.stringify({ type: "resume", ticket: session.ticket }));
      } else {
        socket.send(JSON.stringify({ type: "join", triage: this.triage }));
      }
    });
    socket.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      this.chain = this.chain.then(() => this.handle(frame)).catch(() => {});
    });
    socket.addEventListener("close", (event) => this.closed(socket, event));
  }

  closed(socket, event) {
    if (socket !== this.socket) return;
    this.socket = null;
    if (this.hidden || !this.live() || event.code === 4001) return;
    // reconnect with jittered backoff and resume from what we have.
    const delay = reconnectDelay(this.attempt);
    this.attempt += 1;
    this.status("Connection lost. Reconnecting…");
    setTimeout(() => {
      if (this.live() && !this.socket && !this.hidden) this.connect(true);
    }, delay);
  }

  send(frame) {
    if (this.socket?.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  status(text) {
    if (this.phase === "chat") this.chatStatus.textContent = text;
    else this.queueStatus.textContent = text;
  }

  async handle(frame) {
    if (session.exiting) return;
    switch (frame.type) {
      case "ticket":
        session.ticket = frame.ticket;
        this.phase = "waiting";
        this.queueStatus.textContent = "You are in the queue. A counsellor will answer soon.";
        break;
      case "position":
        this.queueStatus.textContent =
          `You are number ${frame.position} in the queue (${frame.waiting} waiting).`;
        break;
      case "resumed":
        this.needSync = Boolean(frame.conv);
        if (!frame.conv) {
          this.phase = "waiting";
          this.queueStatus.textContent = "Back in the queue.";
        }
        break;
      case "paired":
        await this.paired(frame);
        break;
      case "synced":
        this.chatStatus.textContent = "";
        for (const { envelope } of this.pending.values()) this.send({ type: "envelope", envelope });
        break;
      case "ack":
        this.acknowledged(frame);
        break;
      case "envelope":
        await this.received(frame.envelope);
        break;
      case "typing":
        this.chatStatus.textContent = frame.typing ? `${this.alias} is typing…` : "";
        break;
      case "closed":
        this.ended(
          frame.by === "youth" ? "You ended the chat." : `${this.alias} ended the chat.`,
        );
        break;
      case "left":
        this.phase = "triage";
        session.ticket = null;
        this.reset();
        this.show("triage");
        break;
      case "ended":
        this.ended("This chat has ended.");
        break;
      case "error":
        this.error(frame);
        break;
      default:
        break;
    }
  }

  async paired(frame) {
    if (this.conv !== frame.conv) {
      this.reset();
      this.conv = frame.conv;
      this.alias = frame.counsellor?.alias ?? "Counsellor";
      this.key = await interimSegmentKey(b64urlDecode(this.conv));
      this.sender = new Sender(this.conv, "Y");
      this.chatWith.textContent = `You are talking with ${this.alias}.`;
      this.transcript.addNotice(`${this.alias} has joined the chat.`);
    }
    this.phase = "chat";
    this.show("conversation");
    if (this.needSync) {
      this.needSync = false;
      const have = this.streams.cursors(this.sender, this.acked);
      this.send({ type: "sync", conv: this.conv, have });
    }
    this.composer.box.focus();
  }

  async received(envelope) {
    if (!this.key || envelope.conv !== this.conv) return;
    if (envelope.role === "Y" && envelope.inst === this.sender.inst) return; // our own, shown
    if (!this.streams.accept(envelope)) return; // a replay
    const who = envelope.role === "Y" ? "You" : this.alias;
    try {
      const text = await openText(this.key, envelope);
      this.transcript.addMessage(who, text, { own: envelope.role === "Y" });
    } catch {
      this.transcript.addNotice("A message could not be decrypted and is not shown.", "error");
    }
  }

  acknowledged(frame) {
    if (frame.conv !== this.conv || frame.inst !== this.sender?.inst) return;
    this.acked = Math.max(this.acked, frame.seq);
    for (const [seq, { item }] of this.pending) {
      if (seq <= frame.seq) {
        item.classList.remove("message-pending");
        this.pending.delete(seq);
      }
    }
  }

  sendText(text) {
    const item = this.transcript.addMessage("You", text, { own: true });
    item.classList.add("message-pending");
    this.chain = this.chain
      .then(async () => {
        const envelope = await this.sender.textEnvelope(this.key, text);
        this.pending.set(envelope.seq, { envelope, item });
        this.send({ type: "envelope", envelope });
      })
      .catch(() => this.transcript.addNotice("The message could not be sent.", "error"));
  }

  ended(text) {
    this.phase = "ended";
    session.ticket = null;
    this.show("conversation");
    this.transcript.addNotice(text);
    this.chatStatus.textContent = "";
    this.composer.disable();
    this.key = null;
  }

  error(frame) {
    const message = frame.message || "Something went wrong.";
    if (["queue_full", "too_many_joins"].includes(frame.code)) {
      this.phase = "ended";
      session.ticket = null;
      this.queueStatus.textContent = message;
    } else if (frame.code === "replaced") {
      this.phase = "ended";
      this.status("This chat was opened somewhere else.");
    } else if (this.phase === "chat") {
      this.transcript.addNotice(message, "error");
    } else {
      this.queueStatus.textContent = message;
    }
  }

  /** The quick exit: drop the socket and every key and message from memory. */
  forget() {
    this.phase = "ended";
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000);
    this.reset();
    this.transcript.clear();
  }
}

for (const root of document.querySelectorAll('[data-module="youth-chat"]')) {
  new YouthChat(root).init();
}

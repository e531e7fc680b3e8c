// The young person's chat: triage form -> queue -> conversation, over /ws/youth.
// Ticket, keys and messages live in memory only (SAFETY S-9, youth/session.js). On `paired`
// the page checks the counsellor's certificates against the service key pinned in the page,
// makes the segment key K, seals it to the counsellor's device and the period key, and waits
// for the device's signed acceptance before it says "connected" (youth/keys.js, CRYPTO.md §3).
// Messages use the message layer of CRYPTO.md §4 under K.
// A transfer (PROTOCOL.md §7) brings a new `paired` for the same conversation with the next
// segment: the page says "rekey" under the old K (CRYPTO.md §5), then verifies, seals and waits
// for the new counsellor's acceptance exactly as for the first segment, sending with a new
// instance whose seq starts at 1. Earlier segments' keys stay in memory so the transcript
// stays readable. `requeued` means the chat went back to the queue: the transcript stays, the
// box closes, positions show until the next `paired`.
// "Delete this conversation now" (SAFETY S-18, youth/delete-now.js): during the chat it is the
// `delete` frame, answered `deleted` (then `closed`); after the chat it is POST
// /api/youth/delete with the chat's ticket, held in memory for that. Either way the page then
// forgets the conversation: its messages leave the DOM, its keys and return code the memory.

import { initComponents } from "../components.js";
import { _, weekdayTime } from "../i18n.js";
import { formatCode, newCode } from "../crypto/returncode.js";
import { Compose } from "../chat/compose.js";
import { Streams, Unacked, undeliveredText, wellFormed } from "../chat/delivery.js";
import { Sender, openEnvelope, reconnectDelay, sendFrame, socketUrl } from "../chat/envelopes.js";
import { Transcript } from "../chat/transcript.js";
import { pinnedServiceKey } from "../crypto/certs.js";
import { checkAcceptance, newSegmentKeys, returnCodeFrame, verifiedPeers } from "./keys.js";
import { HistoryShare } from "./history-share.js";
import { TranscriptCheck } from "./integrity.js";
import { DeleteControl, requestDelete } from "./delete-now.js";
import { onEnd, session } from "./session.js";
import { UnservedNotice, renderHelplines } from "./unserved.js";

class YouthChat {
  constructor(root) {
    this.root = root;
    this.triageForm = root.querySelector("[data-triage]");
    this.emergency = root.querySelector("[data-emergency]");
    this.queue = root.querySelector("[data-queue]");
    this.queueStatus = root.querySelector("[data-queue-status]");
    this.queueEstimate = root.querySelector("[data-queue-estimate]");
    this.helplines = root.querySelector("[data-helplines]");
    this.leaveButton = root.querySelector("[data-leave-queue]");
    this.conversation = root.querySelector("[data-conversation]");
    this.chatWith = root.querySelector("[data-chat-with]");
    this.transcript = new Transcript(root.querySelector("[data-transcript]"));
    this.chatStatus = root.querySelector("[data-chat-status]");
    this.composer = new Compose(root.querySelector("[data-compose]"), {
      active: () => this.phase === "chat" && this.accepted,
      onText: (text) => this.sendText(text),
      onTyping: (on) => this.send({ type: "typing", conv: this.conv, typing: on }),
    });
    this.endButton = root.querySelector("[data-end-chat]");
    this.codeButton = root.querySelector("[data-get-return-code]");
    this.codeBox = root.querySelector("[data-return-code]");
    this.codeValue = root.querySelector("[data-return-code-value]");
    this.codeDone = root.querySelector("[data-return-code-done]");
    // Asks whether the counsellor may read an earlier chat opened with a return code.
    const consent = root.querySelector("[data-history-consent]");
    this.historyShare = new HistoryShare(consent, (frame) => this.send(frame));
    // Nobody on duty can answer (`unserved`): keep waiting or leave (PROTOCOL.md §2.1).
    this.unserved = new UnservedNotice(root.querySelector("[data-unserved]"), () =>
      this.send({ type: this.phase === "requeued" ? "close" : "leave" }),
    );
    this.deleteControl = new DeleteControl(root.querySelector("[data-delete-now]"), () =>
      this.deleteNow(),
    );
    this.deletedScreen = root.querySelector("[data-deleted]");
    this.deletedText = root.querySelector("[data-deleted-text]");
    this.newChatButton = root.querySelector("[data-deleted-new]");
    // Days a conversation is kept, per queue, as the server counts them (rendered in the page).
    this.retention = parseRetention(root.dataset.retention);
    // The ticket of this page's conversation, kept after the chat ends (unlike
    // session.ticket) so that "delete now" still works then. Memory only.
    this.chatTicket = null;
    this.deleting = false; // a `delete` frame was sent and not answered yet

    this.phase = "triage"; // triage | connecting | waiting | chat | requeued | refused | ended
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
    this.seg = 0;
    this.peers = null; // the verified device and period keys of this segment
    // this.keys (seg -> K) and this.key (K of the current segment): made here, memory only.
    this.dropKeys();
    this.keysFrame = null; // the sealed K, sent again after a reconnect until stored
    this.accepted = false; // the counsellor device's acceptance of K was verified
    this.returnCode = null; // kept in memory to wrap later segments (CRYPTO.md §5)
    this.returnFrame = null; // the wrapped K, sent again after a reconnect until stored
    this.sender = null; // this page's sending instance in the current segment
    this.ownInsts = new Set(); // every instance this page sent with (one per segment)
    this.aliases = new Map(); // seg -> the counsellor's alias in that segment
    this.streams = new Streams(); // what was received (and decrypted) of each stream
    this.integrity = new TranscriptCheck((text) => this.transcript.addNotice(text)); // §6.6
    this.unreadable = new Set(); // envelopes already reported as undecryptable
    clearTimeout(this.gapTimer);
    this.gapTimer = undefined;
    this.syncing = false; // a sync was sent and its `synced` has not come yet
    if (this.leaveButton) this.leaveButton.hidden = false;
    if (this.helplines) this.helplines.hidden = true;
    if (this.queueEstimate) this.queueEstimate.textContent = "";
    // Sent, not yet acknowledged: shown as pending until each one's own ack.
    this.unacked?.clear();
    this.unacked = new Unacked(
      (envelope) => this.send({ type: "envelope", envelope }),
      () => {
        this.chatStatus.textContent = "";
      },
    );
    this.segOf = new Map(); // inst -> its segment, for the sync cursors
    this.needSync = false;
    this.composer.stop();
    this.hideCode();
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
    this.codeButton.addEventListener("click", () => this.makeReturnCode());
    this.codeDone.addEventListener("click", () => this.hideCode());
    this.newChatButton.addEventListener("click", () => this.newChat());
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
    return (
      session.ticket !== null &&
      !session.exiting &&
      ["waiting", "chat", "requeued"].includes(this.phase)
    );
  }

  show(part) {
    this.triageForm.hidden = part !== "triage";
    this.queue.hidden = part !== "queue";
    this.conversation.hidden = part !== "conversation";
    this.deletedScreen.hidden = part !== "deleted";
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
    this.chatTicket = null;
    this.deleteControl.reset();
    this.queueStatus.textContent = _("Connecting…");
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
    this.status(_("Connection lost. Reconnecting…"));
    setTimeout(() => {
      if (this.live() && !this.socket && !this.hidden) this.connect(true);
    }, delay);
  }

  send(frame) {
    return sendFrame(this.socket, frame);
  }

  status(text) {
    if (this.phase === "chat" || this.phase === "requeued") this.chatStatus.textContent = text;
    else this.queueStatus.textContent = text;
  }

  async handle(frame) {
    if (session.exiting) return;
    switch (frame.type) {
      case "ticket":
        session.ticket = frame.ticket;
        this.chatTicket = frame.ticket;
        this.showRetention(frame.queue);
        this.phase = "waiting";
        this.queueStatus.textContent = _("You are in the queue. A counsellor will answer soon.");
        break;
      case "position": {
        const place = _("You are number {position} in the queue ({waiting} waiting).", {
          position: frame.position,
          waiting: frame.waiting,
        });
        const wait = waitText(frame.estimate);
        if (this.phase === "requeued") {
          this.chatStatus.textContent = `${_("Your chat is being passed to another counsellor.")} ${place} ${wait}`;
        } else {
          this.queueStatus.textContent = place;
          this.queueEstimate.textContent = wait;
        }
        break;
      }
      case "unserved":
        if (this.phase === "waiting" || this.phase === "requeued") this.unserved.show(frame);
        break;
      case "served": // someone on duty can answer again: the positions say the rest
        this.unserved.hide();
        break;
      case "requeued":
        this.requeued(frame);
        break;
      case "resumed":
        // Waiting again after a requeue (`requeued: true`): nothing to sync until the next
        // `paired`, whose sync then brings whatever was missed.
        this.needSync = Boolean(frame.conv);
        if (frame.conv && frame.requeued && this.conv === frame.conv) {
          if (this.phase === "chat") this.requeued(frame);
          else this.chatStatus.textContent = _("Your chat is still waiting for the next counsellor…");
          if (this.deleting) this.send({ type: "delete", conv: this.conv });
        } else if (!frame.conv && this.phase === "requeued") {
          this.chatStatus.textContent = _("Your chat is still waiting for the next counsellor…");
        } else if (!frame.conv) {
          this.phase = "waiting";
          this.queueStatus.textContent = _("Back in the queue.");
        }
        break;
      case "paired":
        await this.paired(frame);
        // Back after a dropped connection with a delete unanswered: ask again.
        if (this.deleting && this.phase === "chat") this.send({ type: "delete", conv: this.conv });
        break;
      case "keys_stored":
        this.keysFrame = null;
        if (!this.accepted) {
          this.chatStatus.textContent = _("Waiting for {alias} to confirm…", { alias: this.alias });
        }
        break;
      case "accepted":
        await this.acceptance(frame);
        break;
      case "return_code_stored":
        this.returnFrame = null;
        this.transcript.addNotice(_("Your return code works for this conversation."));
        break;
      case "undecryptable":
        this.transcript.addNotice(
          _("A message did not arrive readable for the counsellor."),
          "error",
        );
        break;
      case "synced":
        this.synced();
        break;
      case "ack":
        this.acknowledged(frame);
        break;
      case "envelope":
        await this.received(frame.envelope);
        break;
      case "transcript_sig": // the counsellor device's signature (youth/integrity.js)
        if (frame.conv === this.conv) await this.integrity.signature(frame);
        break;
      case "typing":
        this.chatStatus.textContent = frame.typing ? _("{alias} is typing…", { alias: this.alias }) : "";
        break;
      case "deleted":
        if (frame.conv === this.conv) this.showDeleted(DELETED_SCREEN_TEXT);
        break;
      case "closed":
        if (this.phase === "deleted") break; // after `deleted`: nothing more to show
        if (frame.reason === "deleted") {
          // Deleted from elsewhere: with the return code, or by a supervisor.
          this.showDeleted(frame.by === "youth" ? DELETED_SCREEN_TEXT : DELETED_BY_SERVICE_TEXT);
          break;
        }
        if (this.phase === "refused") {
          session.ticket = null;
          break;
        }
        this.ended(
          frame.by === "youth"
            ? _("You ended the chat.")
            : _("{alias} ended the chat.", { alias: this.alias }),
        );
        // The chat ended before the delete frame reached it: delete it with the ticket.
        if (this.deleting) this.deleteByTicket();
        break;
      case "left":
        this.phase = "triage";
        session.ticket = null;
        this.chatTicket = null;
        this.reset();
        this.show("triage");
        break;
      case "ended":
        this.ended(_("This chat has ended."));
        break;
      case "error":
        this.error(frame);
        break;
      default:
        break;
    }
    if (["paired", "closed", "left", "ended", "error"].includes(frame.type)) {
      if (frame.type !== "error" || REFUSALS.includes(frame.code)) this.unserved.hide();
    }
    const { phase, conv, seg, accepted, peers, alias, keys } = this;
    this.historyShare.update(frame, { phase, conv, seg, accepted, peers, alias, keys });
  }

  async paired(frame) {
    const seg = frame.seg ?? 0;
    if (this.conv === frame.conv && seg < this.seg) return; // an older segment: stale
    if (this.conv !== frame.conv || this.seg !== seg) {
      const handover = this.conv === frame.conv;
      if (!handover) this.reset();
      const oldSeg = this.seg;
      const oldSender = this.sender;
      this.conv = frame.conv;
      this.alias = frame.counsellor?.alias ?? _("Counsellor");
      this.aliases.set(seg, this.alias);
      this.seg = seg;
      this.key = null;
      this.accepted = false;
      this.peers = null;
      this.phase = "chat";
      this.show("conversation");
      this.composer.setEnabled(false);
      this.codeButton.disabled = true;
      this.chatWith.textContent = _("Connecting securely to {alias}…", { alias: this.alias });
      try {
        // Never seal K to a key the pinned service key did not certify (CRYPTO.md §3).
        const now = Math.floor(Date.now() / 1000);
        this.peers = await verifiedPeers(pinnedServiceKey(), frame, now);
        this.integrity.peer(seg, this.peers.device.sigPub, this.alias);
      } catch {
        this.refuse(
          _(
            "The security keys of {alias} could not be verified, so this chat was stopped " +
              "before anything was sent. Your messages would not have been safe. " +
              "Please try again later. If you are in danger now, call 112.",
            { alias: this.alias },
          ),
        );
        return;
      }
      if (frame.keys_stored) {
        // Keys made by another page (this one has none): nothing here can read this chat.
        this.refuse(_("This chat was opened on another page. Start a new chat here."));
        return;
      }
      if (handover) {
        this.transcript.addNotice(_("Your chat is being passed to {alias}…", { alias: this.alias }));
        if (oldSender && this.keys.has(oldSeg)) await this.sendRekey(oldSender, oldSeg, seg);
      }
      const { key, frame: keysFrame } = await newSegmentKeys(this.peers, this.conv, seg);
      this.key = key;
      this.keys.set(seg, key);
      this.sender = new Sender(this.conv, "Y", seg);
      this.ownInsts.add(this.sender.inst);
      this.segOf.set(this.sender.inst, seg);
      this.keysFrame = keysFrame;
      this.chatStatus.textContent = _("Setting up a secure connection with {alias}…", {
        alias: this.alias,
      });
    }
    if (this.phase === "refused") return;
    this.phase = "chat";
    this.show("conversation");
    if (this.keysFrame && !frame.keys_stored) this.send(this.keysFrame);
    if (this.returnFrame) this.send(this.returnFrame);
    if (frame.accepted && !this.accepted) await this.acceptance({ ...frame, sig: frame.accepted });
    if (this.needSync) {
      this.needSync = false;
      this.sync();
    }
  }

  /** Ask for what is missing (a reconnect, or a gap in a stream): the reply ends in `synced`. */
  sync() {
    if (this.send({ type: "sync", conv: this.conv, have: this.cursors() })) this.syncing = true;
  }

  /** The replay of a sync is complete: report what could not be delivered, send again what
   * was never acknowledged (the server stores each once). */
  synced() {
    this.syncing = false;
    this.chatStatus.textContent = "";
    const notice = undeliveredText(this.streams.undelivered());
    if (notice) this.transcript.addNotice(notice, "error");
    this.unacked.resend();
  }

  /** A stream has a gap: if it is still there in a moment (not just out of order), sync. */
  checkGaps() {
    if (this.gapTimer !== undefined || !this.streams.hasGaps()) return;
    this.gapTimer = setTimeout(() => {
      this.gapTimer = undefined;
      if (this.phase === "chat" && !this.syncing && this.streams.hasGaps()) this.sync();
    }, GAP_WAIT_MS);
  }

  /** `have` for a sync: what was received, and each of this page's own streams as acked. */
  cursors() {
    const have = this.streams.cursors();
    for (const inst of this.ownInsts) {
      const seg = this.segOf.get(inst);
      have.push({ seg, role: "Y", inst, seq: this.unacked.ackedPrefix(seg, inst) });
    }
    return have;
  }

  /**
   * CRYPTO.md §5: before sealing segment `seg` for a new counsellor, say so in the old segment
   * under the old K ({"type":"rekey","body":{"seg":seg}}), as app/client/youth.py does.
   */
  async sendRekey(oldSender, oldSeg, seg) {
    try {
      const body = { type: "rekey", body: { seg }, sent_at: Date.now() };
      const envelope = await oldSender.messageEnvelope(this.keys.get(oldSeg), body);
      await this.integrity.record(envelope);
      this.unacked.add(envelope);
    } catch {
      // The rekey is a courtesy to the old segment's readers; the new segment does not need it.
    }
  }

  /** The chat went back to the queue: keep the transcript, close the box, show the place. */
  requeued(frame) {
    if (frame.conv !== this.conv || this.phase !== "chat") return;
    const unconfirmed = !this.accepted; // the counsellor's device never confirmed (§6.3)
    this.phase = "requeued";
    this.composer.setEnabled(false);
    this.codeButton.disabled = true;
    this.chatWith.textContent = _("Your chat is being passed to another counsellor…");
    // Say honestly why (PROTOCOL.md §7.3): a transfer, or a counsellor who had to stop.
    const alias = this.alias ?? _("Your counsellor");
    const why = {
      shift_ended: _("{alias} had to stop and cannot answer any more.", { alias }) + " ",
      unanswered: _("{alias} could not answer.", { alias }) + " ",
    };
    this.transcript.addNotice(
      unconfirmed
        ? _(
            "{alias} could not connect in time, so you are back at the front of the queue for " +
              "the next counsellor. Please wait here. If you are in danger now, call 112.",
            { alias },
          )
        : (why[frame.reason] ?? "") +
            _(
              "Your chat is being passed to another counsellor: you are first in the queue. " +
                "Please wait here: your messages stay on this page. If you are in danger now, " +
                "call 112.",
            ),
    );
    this.chatStatus.textContent = _("Waiting for the next counsellor…");
  }

  /** The counsellor device signed K: verified, the chat is connected and the box opens. */
  async acceptance(frame) {
    if (frame.conv !== this.conv || (frame.seg ?? 0) !== this.seg || !this.key || this.accepted) {
      return;
    }
    try {
      await checkAcceptance(this.peers, this.conv, this.seg, this.key, frame.sig);
    } catch {
      this.refuse(
        _(
          "{alias}'s confirmation could not be verified, so this chat was stopped. " +
            "Please try again later. If you are in danger now, call 112.",
          { alias: this.alias },
        ),
      );
      return;
    }
    this.accepted = true;
    this.chatWith.textContent = _("Connected. You are talking with {alias}.", { alias: this.alias });
    this.transcript.addNotice(
      this.seg > 0
        ? _("You are now talking with {alias}.", { alias: this.alias })
        : _("{alias} has joined the chat.", { alias: this.alias }),
    );
    this.chatStatus.textContent = "";
    this.composer.setEnabled(true);
    this.codeButton.disabled = this.returnCode !== null;
    // Not awaited: this runs inside the frame chain that sendReturnCode queues on.
    if (this.returnCode) this.sendReturnCode();
    this.composer.box.focus();
  }

  /** Stop before anything is sealed or sent: show why, end the conversation, drop K. */
  refuse(text) {
    this.phase = "refused";
    this.dropKeys();
    this.keysFrame = null;
    this.accepted = false;
    this.show("conversation");
    this.chatWith.textContent = "";
    this.transcript.addNotice(text, "error");
    this.chatStatus.textContent = "";
    this.composer.disable();
    this.send({ type: "close" });
  }

  /** Make a return code, wrap K under it, show it once (CRYPTO.md §3). */
  makeReturnCode() {
    if (!this.accepted || this.returnCode) return;
    this.codeButton.disabled = true;
    this.returnCode = newCode();
    this.codeValue.textContent = formatCode(this.returnCode);
    this.codeBox.hidden = false;
    this.codeDone.focus();
    this.sendReturnCode();
  }

  /** Wrap the current K under the return code and send it; sent again after a reconnect. */
  sendReturnCode() {
    const code = this.returnCode;
    this.chain = this.chain
      .then(async () => {
        if (!this.key || this.returnCode !== code) return;
        const { frame } = await returnCodeFrame(code, this.key, this.conv, this.seg);
        if (session.exiting || this.returnCode !== code) return; // left meanwhile
        this.returnFrame = frame;
        this.send(frame);
      })
      .catch(() => this.transcript.addNotice(_("The return code could not be saved."), "error"));
  }

  /** Take the shown code off the screen (it is shown once). */
  hideCode() {
    if (!this.codeBox) return;
    this.codeValue.textContent = "";
    this.codeBox.hidden = true;
  }

  async received(envelope) {
    if (this.keys.size === 0 || !wellFormed(envelope) || envelope.conv !== this.conv) return;
    if (envelope.role === "Y" && this.ownInsts.has(envelope.inst)) return; // our own, shown
    if (this.streams.has(envelope)) return; // a duplicate or a replay
    const who = envelope.role === "Y" ? _("You") : (this.aliases.get(envelope.seg) ?? this.alias);
    let body;
    try {
      const key = this.keys.get(envelope.seg);
      if (!key) throw new Error("no key for this segment");
      body = await openEnvelope(key, envelope);
    } catch {
      this.unreadableEnvelope(envelope);
      return;
    }
    // Only what decrypted moves the stream on: a forged seq cannot block the real one.
    this.streams.add(envelope);
    await this.integrity.record(envelope);
    if (body.type !== "rekey") {
      // (a rekey is a segment change, not a message)
      if (body.type === "text" && typeof body.body === "string") {
        this.transcript.addMessage(who, body.body, { own: envelope.role === "Y" });
      } else {
        this.transcript.addNotice(_("A message could not be shown."), "error");
      }
    }
    this.checkGaps();
  }

  /** Shown (once per envelope), never dropped silently, and the other side is told
   * (PROTOCOL.md §6.4); the stream's position does not move. */
  unreadableEnvelope(envelope) {
    const { seg, role, inst, seq } = envelope;
    const id = `${Streams.keyOf(envelope)}|${seq}`;
    if (this.unreadable.has(id) || this.unreadable.size >= 1000) return;
    this.unreadable.add(id);
    this.transcript.addNotice(_("A message could not be decrypted."), "error");
    this.send({ type: "undecryptable", conv: this.conv, seg, role, inst, seq });
  }

  acknowledged(frame) {
    if (frame.conv !== this.conv || !this.ownInsts.has(frame.inst)) return;
    this.unacked.acknowledged(frame);
  }

  sendText(text) {
    const item = this.transcript.addMessage(_("You"), text, { own: true });
    item.classList.add("message-pending");
    // The segment it was written in: a handover queued ahead of it must not move it into a
    // segment whose acceptance is not verified yet.
    const { sender, key } = this;
    this.chain = this.chain
      .then(async () => {
        const envelope = await sender.textEnvelope(key, text);
        await this.integrity.record(envelope);
        this.unacked.add(envelope, item);
      })
      .catch(() => this.transcript.addNotice(_("The message could not be sent."), "error"));
  }

  ended(text) {
    this.phase = "ended";
    session.ticket = null;
    this.show("conversation");
    this.transcript.addNotice(text);
    this.chatStatus.textContent = "";
    this.composer.disable();
    this.dropKeys();
    this.accepted = false;
  }

  /** Overwrite and forget every segment key (the chat ended or the page is left). */
  dropKeys() {
    for (const key of this.keys?.values() ?? []) key.fill(0);
    this.keys = new Map();
    this.key = null;
  }

  error(frame) {
    const message = _("Something went wrong. Please try again.");
    if (this.deleting && !frame.ref && DELETE_ERRORS.includes(frame.code)) {
      this.deleting = false;
      if (frame.code === "ticket_unknown") {
        // Resumed after the connection dropped: the deletion had gone through, ticket and all.
        this.showDeleted(DELETED_SCREEN_TEXT);
        this.socket?.close(1000);
      } else if (frame.code === "unavailable") {
        this.deleteControl.failed(
          _("It could not be deleted just now. Nothing was deleted. Wait a moment and try again."),
        );
      } else {
        // The chat changed state meanwhile (it ended): the ticket deletes it whatever its state.
        this.deleteByTicket();
      }
      return;
    }
    // Our keys or return wrap were stored before (a resend after a reconnect): all is well.
    if (frame.code === "keys_exist" && this.key) return;
    if (frame.code === "unavailable" && this.unacked.owns(frame.ref)) {
      // Not stored: kept, and sent again shortly (it still shows as not delivered).
      this.unacked.unavailable();
      this.status(_("The service is busy: your messages will be sent again in a moment…"));
      return;
    }
    if (frame.code === "unavailable" && this.syncing) {
      this.syncing = false;
      setTimeout(() => this.phase === "chat" && this.sync(), reconnectDelay(1));
      return;
    }
    if (this.unacked.owns(frame.ref)) this.unacked.refused(frame.ref);
    if (REFUSALS.includes(frame.code)) {
      this.phase = "ended";
      session.ticket = null;
      this.queueStatus.textContent = refusalText(frame);
      this.queueEstimate.textContent = "";
      this.leaveButton.hidden = true;
      this.showHelplines(frame.helplines);
    } else if (frame.code === "replaced") {
      this.phase = "ended";
      this.status(_("This chat was opened somewhere else."));
    } else if (this.phase === "chat" || this.phase === "requeued") {
      this.transcript.addNotice(message, "error");
    } else {
      this.queueStatus.textContent = message;
    }
  }

  /** The other helplines a refusal names (PROTOCOL.md §5): text only, phone numbers as links. */
  showHelplines(helplines) {
    const list = this.helplines.querySelector("[data-helpline-list]");
    this.helplines.hidden = renderHelplines(list, helplines) === 0;
  }

  /**
   * "Delete this conversation now", confirmed: in the chat (also while it waits for the next
   * counsellor) the socket's `delete` frame; after the chat, the ticket over HTTP.
   */
  deleteNow() {
    if ((this.phase === "chat" || this.phase === "requeued") && this.conv) {
      this.deleting = true;
      if (!this.send({ type: "delete", conv: this.conv })) {
        this.deleting = false;
        this.deleteControl.failed(
          _("Not connected right now, so nothing was deleted. Wait a moment and try again."),
        );
      }
      return;
    }
    this.deleteByTicket();
  }

  async deleteByTicket() {
    this.deleting = false;
    const ticket = this.chatTicket;
    if (!ticket) {
      this.deleteControl.failed(
        _(
          "This page no longer holds this conversation, so it cannot delete it from here. If " +
            "you have its return code, open the conversation with the code below and delete it " +
            "there.",
        ),
      );
      return;
    }
    const answer = await requestDelete({ ticket });
    if (session.exiting || this.chatTicket !== ticket) return; // left or moved on meanwhile
    if (answer.outcome === "deleted") this.showDeleted(DELETED_SCREEN_TEXT);
    else if (answer.outcome === "gone") this.showDeleted(answer.text);
    else this.deleteControl.failed(answer.text);
  }

  /**
   * The conversation is deleted: forget it all (keys, return code, ticket, every message in the
   * DOM) and show the calm end screen with a way on.
   */
  showDeleted(text) {
    this.deleting = false;
    this.phase = "deleted";
    session.ticket = null;
    this.chatTicket = null;
    this.reset(); // keys, return code, unsent envelopes, the shown code
    this.transcript.clear();
    this.composer.box.value = "";
    this.composer.disable();
    this.chatWith.textContent = "";
    this.chatStatus.textContent = "";
    this.unserved.hide();
    this.deleteControl.reset();
    this.show("deleted");
    this.deletedText.textContent = text;
    this.deletedScreen.focus();
  }

  /** From the deleted screen: the questions again, for a new chat. */
  newChat() {
    this.phase = "triage";
    this.deletedText.textContent = "";
    this.show("triage");
    this.triageForm.querySelector("select, input")?.focus();
  }

  /** Say how long this queue's conversations are kept (the ticket names the queue). */
  showRetention(queue) {
    const days = retentionDays(this.retention, queue, this.triage?.kind);
    if (days === null) return;
    for (const item of this.root.querySelectorAll("[data-retention-days]")) {
      item.textContent = String(days);
    }
  }

  /** The quick exit: drop the socket and every key and message from memory. */
  forget() {
    this.phase = "ended";
    this.chatTicket = null;
    this.deleting = false;
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000);
    this.reset();
    this.transcript.clear();
  }
}

/** How long a gap in a stream may wait to be filled live before a sync asks for it. */
const GAP_WAIT_MS = 2000;

/** Under the heading "The conversation is deleted" (chat.html). */
const DELETED_SCREEN_TEXT = _(
  "It is gone from this page and from our service, and the counsellor cannot open it any more.",
);

/** A supervisor deleted the conversation (the server says `by: "counsellor"`). */
const DELETED_BY_SERVICE_TEXT = _(
  "The service deleted this conversation. Nobody can read it here or with us any more.",
);

/** Errors (without `ref`) a `delete` frame may be answered with instead of `deleted`. */
const DELETE_ERRORS = ["unavailable", "wrong_state", "not_in_conversation", "ticket_unknown"];

/** The page's retention data: {"default": days, "<queue>": days, …}, or null. */
function parseRetention(text) {
  try {
    const parsed = JSON.parse(text ?? "");
    return parsed && typeof parsed === "object" ? parsed : null;
  } catch {
    return null;
  }
}

/** Days for `queue` ("youth", "youth/police"): the queue's own, else its kind's, else the
 * default, as the server counts them (app/chat/retention.py `days_for`). */
function retentionDays(retention, queue, kind) {
  if (!retention) return null;
  const kindOf = typeof queue === "string" ? queue.split("/")[0] : kind;
  for (const name of [queue, kindOf, "default"]) {
    const known = typeof name === "string" && Object.hasOwn(retention, name);
    const days = known ? retention[name] : null;
    if (Number.isInteger(days) && days > 0) return days;
  }
  return null;
}

/** Refusals at the door: the chat cannot take this young person now (PROTOCOL.md §5). */
const REFUSALS = ["queue_full", "too_many_joins", "closed", "no_one_on_duty"];

/** An honest wait: a range, never a promise, or a plain "we cannot say". */
function waitText(estimate) {
  if (!estimate || typeof estimate.min_seconds !== "number") {
    return _("We cannot estimate the wait right now.");
  }
  const low = Math.max(1, Math.round(estimate.min_seconds / 60));
  const high = Math.max(low, Math.round(estimate.max_seconds / 60));
  return low === high
    ? _("Estimated wait: about {minutes} min.", { minutes: low })
    : _("Estimated wait: about {low}–{high} min.", { low, high });
}

/** What each refusal says in the page's language, by its stable code (the server's English
 * `message` is for logs and the API, not shown). */
const REFUSAL_TEXT = {
  queue_full: () => _("The queue is full right now, so we cannot take your chat."),
  too_many_joins: () => _("There have been too many attempts from here."),
  closed: () => _("The chat is closed right now."),
  no_one_on_duty: () => _("No counsellor is on duty right now."),
};

function refusalText(frame) {
  const emergency = typeof frame.emergency === "string" ? frame.emergency : "112";
  const base =
    (REFUSAL_TEXT[frame.code] ?? (() => _("The chat cannot take you right now.")))() +
    " " +
    _("If you are in danger, call {emergency}.", { emergency });
  if (frame.code !== "closed" || typeof frame.next_opening !== "number") {
    // Every refusal says when trying again makes sense (PROTOCOL.md §5 `retry_after`).
    return typeof frame.retry_after === "number" ? `${base} ${retryText(frame.retry_after)}` : base;
  }
  const when = weekdayTime(frame.next_opening);
  return `${base} ${_("The chat opens again {when}.", { when })}`;
}

function retryText(seconds) {
  if (seconds < 90) return _("You can try again in about a minute.");
  return _("You can try again in about {minutes} minutes.", { minutes: Math.ceil(seconds / 60) });
}

initComponents("youth-chat", (root) => new YouthChat(root).init());

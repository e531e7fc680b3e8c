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
// No dead ends (issue 12 §3): the triage (youth/triage.js), every refusal at the door as a
// screen of its own with a retry in place (youth/refusals.js), "End chat" asked first
// (youth/endchat.js), and after the chat the feedback question, "Start a new chat" and
// "Clear this screen" (youth/afterchat.js).

import { initComponents } from "../components.js";
import { _ } from "../i18n.js";
import { Compose } from "../chat/compose.js";
import { Streams, Unacked, markSending, undeliveredText, wellFormed } from "../chat/delivery.js";
import { Sender, openEnvelope, reconnectDelay, sendFrame, socketUrl } from "../chat/envelopes.js";
import { Transcript } from "../chat/transcript.js";
import { pinnedServiceKey } from "../crypto/certs.js";
import { checkAcceptance, newSegmentKeys, verifiedPeers } from "./keys.js";
import { HistoryShare } from "./history-share.js";
import { TranscriptCheck } from "./integrity.js";
import { PageSignature, notYouLabel, notYouNotice } from "./sendersig.js";
import { DeleteControl, requestDelete } from "./delete-now.js";
import { clearNow, onEnd, session } from "./session.js";
import { UnservedNotice } from "./unserved.js";
import { TriageForm } from "./triage.js";
import { REFUSALS, RefusalScreen } from "./refusals.js";
import { EndChatControl } from "./endchat.js";
import { AfterChat } from "./afterchat.js";
import { ReturnCodeOffer } from "./returncode.js";
import { parseRetention, retentionDays, waitText } from "./waiting.js";

class YouthChat {
  constructor(root) {
    this.root = root;
    this.triageForm = new TriageForm(root.querySelector("[data-triage]"), (triage) =>
      this.start(triage),
    );
    this.queue = root.querySelector("[data-queue]");
    this.queueStatus = root.querySelector("[data-queue-status]");
    this.queueEstimate = root.querySelector("[data-queue-estimate]");
    this.leaveButton = root.querySelector("[data-leave-queue]");
    // A refusal at the door: its own screen, retried in place (no reload).
    this.refusal = new RefusalScreen(root.querySelector("[data-refusal]"), {
      retry: () => this.retry(),
      back: () => this.newChat(),
    });
    this.view = "triage";
    this.conversation = root.querySelector("[data-conversation]");
    this.chatWith = root.querySelector("[data-chat-with]");
    this.transcript = new Transcript(root.querySelector("[data-transcript]"));
    this.chatStatus = root.querySelector("[data-chat-status]");
    this.composeForm = root.querySelector("[data-compose]");
    this.composer = new Compose(root.querySelector("[data-compose]"), {
      active: () => this.phase === "chat" && this.accepted,
      onText: (text) => this.sendText(text),
      onTyping: (on) => this.send({ type: "typing", conv: this.conv, typing: on }),
    });
    this.codes = new ReturnCodeOffer(root, {
      run: (fn) => {
        this.chain = this.chain.then(fn);
      },
      send: (frame) => this.send(frame),
      notice: (text) => this.transcript.addNotice(text, "error"),
    });
    this.codeButton = this.codes.button;
    this.endControl = new EndChatControl(
      root.querySelector("[data-end-chat]"),
      root.querySelector("[data-end-confirm]"),
      {
        hasCode: () => this.codes.taken,
        getCode: () => this.makeReturnCode(),
        end: () => this.send({ type: "close" }),
      },
    );
    this.afterChat = new AfterChat(root.querySelector("[data-after-chat]"), {
      ticket: () => this.chatTicket,
      newChat: () => this.newChat(),
      clear: () => this.clearScreen(),
      showCode: (code) => this.codes.showCode(code),
    });
    this.clearedScreen = root.querySelector("[data-cleared]");
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
    this.newChatButtons = root.querySelectorAll("[data-deleted-new], [data-cleared-new]");
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
    this.busyTries = 0; // joins or resumes the busy database refused on this socket
    this.opening = null; // "join" | "resume" while the socket's first frame awaits its answer
    this.pageSig = new PageSignature(); // §6.7: made at join, kept across resumes
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
    this.codes.forget(); // the return code and its wrap (youth/returncode.js)
    this.sender = null; // this page's sending instance in the current segment
    this.ownInsts = new Set(); // every instance this page sent with (one per segment)
    this.aliases = new Map(); // seg -> the counsellor's alias in that segment
    this.streams = new Streams(); // what was received (and decrypted) of each stream
    this.integrity = new TranscriptCheck((text) => this.transcript.addNotice(text)); // §6.6
    this.unreadable = new Set(); // envelopes already reported as undecryptable
    this.notYouShown = false; // the notice of a message in the young person's name not from here
    clearTimeout(this.gapTimer);
    this.gapTimer = undefined;
    this.syncing = false; // a sync was sent and its `synced` has not come yet
    if (this.leaveButton) this.leaveButton.hidden = false;
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
  }

  init() {
    this.triageForm.show(true);
    this.leaveButton.addEventListener("click", () => this.send({ type: "leave" }));
    this.codeButton.addEventListener("click", () => this.makeReturnCode());
    for (const button of this.newChatButtons) {
      button.addEventListener("click", () => this.newChat());
    }
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

  /** One view at a time: triage, queue, refusal, conversation, deleted or cleared. */
  show(part) {
    this.view = part;
    this.triageForm.show(part === "triage");
    this.queue.hidden = part !== "queue";
    if (part !== "refusal") this.refusal.hide();
    this.conversation.hidden = part !== "conversation";
    this.deletedScreen.hidden = part !== "deleted";
    this.clearedScreen.hidden = part !== "cleared";
  }

  /** The triage answered (`triage`: the join's answers): join the queue. */
  start(triage) {
    this.triage = triage;
    this.phase = "connecting";
    this.chatTicket = null;
    this.deleteControl.reset();
    this.queueStatus.textContent = _("Connecting…");
    this.show("queue");
    this.queue.focus();
    this.connect(false);
  }

  /** "Try again" on a refusal screen: the same answers, a new join, the screen stays until
   * the answer (a ticket shows the queue; another refusal, the screen again). */
  retry() {
    if (!this.triage || session.exiting) return;
    this.phase = "connecting";
    this.chatTicket = null;
    this.connect(false);
  }

  connect(resume) {
    if (session.exiting) return;
    const socket = new WebSocket(socketUrl("/ws/youth"));
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.attempt = 0;
      this.busyTries = 0;
      this.hello(socket, resume);
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

  /** The socket's first frame: the resume of our ticket, or the join. Until it is answered
   * (`opening`), an `unavailable` means the database was busy and nothing was stored: it is
   * sent again on the same socket after a backoff (a restart's burst of reconnects). */
  async hello(socket, resume) {
    this.opening = resume ? "resume" : "join";
    if (resume) {
      socket.send(JSON.stringify({ type: "resume", ticket: session.ticket }));
      return;
    }
    // A new conversation: a new signing key (§6.7), its public point in the join.
    const sigKey = await this.pageSig.renew();
    if (this.socket === socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "join", triage: this.triage, sig_key: sigKey }));
    }
  }

  /** The busy database refused our join or resume: ask again shortly on the same socket. */
  helloAgain() {
    const socket = this.socket;
    const resume = this.opening === "resume";
    const delay = reconnectDelay(this.busyTries);
    this.busyTries += 1;
    this.status(_("Connecting…"));
    setTimeout(() => {
      if (this.socket === socket && socket.readyState === WebSocket.OPEN && !session.exiting) {
        this.hello(socket, resume);
      }
    }, delay);
  }

  closed(socket, event) {
    if (socket !== this.socket) return;
    this.socket = null;
    if (this.phase === "connecting" && this.refusal.pending) this.refusal.failed();
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
    if (frame.type !== "error") this.opening = null; // our join or resume was answered
    switch (frame.type) {
      case "ticket":
        session.ticket = frame.ticket;
        this.chatTicket = frame.ticket;
        this.showRetention(frame.queue);
        this.phase = "waiting";
        this.queueStatus.textContent = _("You are in the queue. A counsellor will answer soon.");
        if (this.view !== "queue") {
          this.show("queue"); // a retry from a refusal screen got in
          this.queue.focus();
        }
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
        this.codes.stored();
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
        this.showTyping(Boolean(frame.typing));
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
        this.newChat();
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
    this.codes.resend();
    if (frame.accepted && !this.accepted) {
      await this.acceptance({ ...frame, sig: frame.accepted, signed_at: frame.accepted_at });
    }
    if (this.needSync) {
      this.needSync = false;
      this.sync();
    }
  }

  /** The counsellor's typing signal (never stored), cleared when their message arrives. */
  showTyping(on) {
    this.typingShown = on;
    this.chatStatus.textContent = on ? _("{alias} is typing…", { alias: this.alias }) : "";
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
      const envelope = await this.pageSig.sign(
        await oldSender.messageEnvelope(this.keys.get(oldSeg), body),
      );
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
      await checkAcceptance(this.peers, this.conv, this.seg, this.key, frame.sig, frame.signed_at);
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
    this.codeButton.disabled = this.codes.taken;
    // Queued on the frame chain this runs in: wrapped once this frame is handled.
    this.codes.wrap(() => this.currentKey());
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
    // Not a dead end: the way on is a new chat (no feedback on a chat that never started).
    this.chatWith.textContent = _("The chat was stopped.");
    this.composeForm.hidden = true;
    this.afterChat.show(false, { feedback: false });
  }

  /** "Get a return code": once the counsellor's device confirmed K (CRYPTO.md §3). */
  makeReturnCode() {
    if (this.accepted) this.codes.make(() => this.currentKey());
  }

  currentKey() {
    return { key: this.key, conv: this.conv, seg: this.seg };
  }

  async received(envelope) {
    if (this.keys.size === 0 || !wellFormed(envelope) || envelope.conv !== this.conv) return;
    if (envelope.role === "Y" && this.ownInsts.has(envelope.inst)) return; // our own, shown
    if (this.streams.has(envelope)) return; // a duplicate or a replay
    // Under the young person's role but not from this page's own instances: someone else who
    // holds K wrote it (youth/sendersig.js). Shown, marked, never as the young person's words.
    const notYou = envelope.role === "Y";
    const who = notYou ? notYouLabel() : (this.aliases.get(envelope.seg) ?? this.alias);
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
        const item = this.transcript.addMessage(who, body.body, { own: false });
        if (notYou) {
          item.classList.add("message-not-you");
          if (!this.notYouShown) this.transcript.addNotice(notYouNotice());
          this.notYouShown = true;
        }
        if (envelope.role === "C" && this.typingShown) this.showTyping(false); // it came
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
    markSending(item); // "Sending…", then "Delivered" at its own ack (chat/delivery.js)
    // The segment it was written in: a handover queued ahead of it must not move it into a
    // segment whose acceptance is not verified yet.
    const { sender, key } = this;
    this.chain = this.chain
      .then(async () => {
        const envelope = await this.pageSig.sign(await sender.textEnvelope(key, text));
        await this.integrity.record(envelope);
        this.unacked.add(envelope, item);
      })
      .catch(() => this.transcript.addNotice(_("The message could not be sent."), "error"));
  }

  /** The chat is over: the header says so, the box goes, what is left to do shows. With
   * `feedback` false (the chat never really started), the question is not asked. */
  ended(text, { feedback = true } = {}) {
    this.phase = "ended";
    session.ticket = null;
    this.show("conversation");
    this.transcript.addNotice(text, feedback ? "info" : "error");
    this.chatWith.textContent = _("The chat has ended.");
    this.chatStatus.textContent = "";
    this.composer.disable();
    this.endControl.close();
    this.composeForm.hidden = true;
    const codeTaken = this.codes.taken;
    this.codes.release(); // no later segment needs it; shown until "written down"
    let late = null; // no code yet: the keys go to the after-chat offer of one (latecode.js)
    if (!codeTaken && feedback && this.keys.size > 0 && this.chatTicket && this.conv) {
      late = { ticket: this.chatTicket, conv: this.conv, keys: this.keys };
      this.keys = new Map();
    }
    this.dropKeys();
    this.accepted = false;
    this.unserved.hide();
    this.afterChat.show(codeTaken, { feedback, late });
    this.afterChat.focus();
  }

  /** Overwrite and forget every segment key (the chat ended or the page is left). */
  dropKeys() {
    for (const key of this.keys?.values() ?? []) key.fill(0);
    this.keys = new Map();
    this.key = null;
  }

  error(frame) {
    const message = _("Something went wrong. Please try again.");
    if (this.opening && !frame.ref) {
      if (frame.code === "unavailable") {
        this.helloAgain();
        return;
      }
      this.opening = null; // refused for good (a bad ticket, a bad triage): said below
    }
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
      this.phase = "turned_away";
      session.ticket = null;
      this.chatTicket = null;
      this.queueEstimate.textContent = "";
      this.show("refusal");
      this.refusal.show(frame);
    } else if (frame.code === "replaced") {
      if (this.phase === "chat" || this.phase === "requeued") {
        this.ended(_("This chat was opened somewhere else."), { feedback: false });
      } else {
        this.phase = "ended";
        this.status(_("This chat was opened somewhere else."));
      }
    } else if (this.phase === "chat" || this.phase === "requeued") {
      this.transcript.addNotice(message, "error");
    } else {
      this.queueStatus.textContent = message;
    }
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
    this.afterChat.reset();
    this.composeForm.hidden = false;
    this.show("deleted");
    this.deletedText.textContent = text;
    this.deletedScreen.focus();
  }

  /** Nothing of the last chat stays: socket, ticket, keys, code, messages, answers. */
  forgetChat() {
    this.chatTicket = null;
    this.pageSig.forget();
    this.deleting = false;
    session.ticket = null;
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000);
    this.reset(); // keys, return code, unsent envelopes, the shown code
    this.transcript.clear();
    this.historyShare.clear();
    this.composer.box.value = "";
    this.chatWith.textContent = "";
    this.chatStatus.textContent = "";
    this.deletedText.textContent = "";
    this.unserved.hide();
    this.deleteControl.reset();
    this.afterChat.reset();
    this.endControl.close();
    this.composeForm.hidden = false;
    // The box and every button of it come back; `paired` closes the box until accepted.
    this.composer.setEnabled(false);
    for (const button of this.composeForm.querySelectorAll("button")) button.disabled = false;
  }

  /** "Start a new chat" (after the chat, a deletion, a refusal, a cleared screen): the
   * questions again in place, fresh; the next join brings a new ticket and new keys. */
  newChat() {
    this.forgetChat();
    this.phase = "triage";
    this.triageForm.clear();
    this.show("triage");
    this.triageForm.focus();
  }

  /** "Clear this screen": every message and code leaves the DOM; a neutral line stays. */
  clearScreen() {
    this.forgetChat();
    clearNow(); // the earlier chats opened with a code, too (youth/returning.js)
    this.phase = "triage";
    this.triageForm.clear();
    this.show("cleared");
    this.clearedScreen.focus();
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
    this.pageSig.forget();
    this.deleting = false;
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000);
    this.reset();
    this.transcript.clear();
    this.afterChat.reset();
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

initComponents("youth-chat", (root) => new YouthChat(root).init());

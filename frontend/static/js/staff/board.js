// The supervisors' live board (issue 11): the staff socket pushes the board about once a second
// (`watch_board`, PROTOCOL.md §2.2); waits and durations count on here between pushes. No
// content, no conversation ids: queues, languages, aliases, times. Alerts are acknowledged with
// POST /staff/api/alerts/ack (audited). The session comes from logging in on /staff.

import { staffMember } from "./gate.js";
import { initComponents } from "../components.js";
import { reconnectDelay, sendFrame, socketUrl } from "../chat/envelopes.js";

const SUPERVISING = new Set(["supervisor", "admin"]);

const ALERT_TEXT = {
  nobody_on_duty: () => "The house is open and nobody is on duty.",
  unservable_urgent: (a) =>
    `An urgent young person in ${a.queue} waits for nobody: no one on duty can serve them.`,
  urgent_waiting: (a) => `An urgent young person in ${a.queue} has waited ${duration(a.value)}.`,
  wait_over_threshold: (a) =>
    `The longest wait in ${a.queue} is ${duration(a.value)} (limit ${duration(a.threshold)}).`,
  queue_over_threshold: (a) =>
    `${a.value} are waiting in ${a.queue} (limit ${a.threshold}).`,
};

/** "4 min 05 s", "1 h 02 min", "12 s". */
export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.append(td);
  return td;
}

class Board {
  constructor(root) {
    this.root = root;
    this.gate = root.querySelector("[data-board-gate]");
    this.panel = root.querySelector("[data-board]");
    this.who = root.querySelector("[data-board-who]");
    this.status = root.querySelector("[data-board-status]");
    this.announce = root.querySelector("[data-alert-announce]");
    this.csrf = null;
    this.board = null;
    this.receivedAt = 0; // local ms when `board` arrived, to count on from its `now`
    this.attempt = 0;
    this.seenAlerts = new Set();
  }

  async init() {
    const found = await staffMember(
      SUPERVISING,
      "The live board is for supervisors.",
      "The board cannot be opened right now; try again.",
    );
    if (found.refused) return this.refuse(found.refused);
    const me = found.me;
    this.csrf = me.csrf_token;
    this.who.textContent = `Logged in as ${me.alias} (${me.role}).`;
    this.panel.hidden = false;
    this.connect();
    setInterval(() => this.tick(), 1000);
  }

  refuse(text) {
    this.gate.textContent = text;
    const link = document.createElement("a");
    link.href = "/staff";
    link.textContent = "Go to the staff console";
    this.gate.append(" ", link);
    this.gate.hidden = false;
  }

  connect() {
    const socket = new WebSocket(socketUrl("/ws/staff"));
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.attempt = 0;
      sendFrame(socket, { type: "watch_board" });
    });
    socket.addEventListener("message", (event) => this.received(JSON.parse(event.data)));
    socket.addEventListener("close", () => {
      if (this.socket !== socket) return;
      this.status.textContent = "Connection lost: reconnecting… (the board below may be old)";
      setTimeout(() => this.connect(), reconnectDelay(this.attempt++));
    });
  }

  received(frame) {
    if (frame.type === "board") {
      this.board = frame;
      this.receivedAt = Date.now();
      this.render();
    } else if (frame.type === "logged_out") {
      this.socket = null;
      this.refuse("Your session has ended.");
      this.panel.hidden = true;
    } else if (frame.type === "error" && frame.code === "forbidden") {
      this.refuse("The live board is for supervisors.");
      this.panel.hidden = true;
    }
  }

  /** Seconds since `at` (unix seconds), by the board's clock counted on locally. */
  since(at) {
    return this.board.now + (Date.now() - this.receivedAt) / 1000 - at;
  }

  tick() {
    if (!this.board) return;
    for (const el of this.root.querySelectorAll("[data-since]")) {
      el.textContent = duration(this.since(Number(el.dataset.since)));
    }
  }

  render() {
    const b = this.board;
    const time = new Date(b.now * 1000).toLocaleTimeString();
    this.status.textContent = `${b.open ? "Open" : "Closed"} · updated ${time}`;
    this.renderAlerts(b.alerts);
    this.renderTable("queues", b.queues, (row, q) => {
      cell(row, q.queue);
      cell(row, String(q.waiting));
      cell(row, String(q.urgent));
      cell(row, String(q.unservable)).classList.toggle("warn", q.unservable > 0);
      cell(row, duration(this.since(q.oldest_joined_at))).dataset.since = q.oldest_joined_at;
      cell(row, q.languages.join(", "));
    });
    this.renderTable("staff", b.on_duty, (row, c) => {
      cell(row, c.alias);
      cell(row, c.organisation);
      cell(row, `${c.load} of ${c.capacity}`);
      cell(row, { free: "free", busy: "in chats", full: "full" }[c.status] ?? c.status);
      cell(row, c.languages.join(", "));
      cell(row, c.skills.join(", "));
    });
    this.renderTable("chats", b.chats, (row, c) => {
      cell(row, c.counsellor);
      cell(row, c.queue);
      cell(row, c.language);
      cell(row, c.urgent ? "urgent" : "");
      cell(row, duration(c.waited_seconds));
      cell(row, duration(this.since(c.opened_at))).dataset.since = c.opened_at;
    });
  }

  renderTable(name, items, fill) {
    const table = this.root.querySelector(`[data-${name}]`);
    const body = table.querySelector("tbody");
    body.replaceChildren(
      ...items.map((item) => {
        const row = document.createElement("tr");
        fill(row, item);
        return row;
      }),
    );
    table.hidden = items.length === 0;
    this.root.querySelector(`[data-no-${name}]`).hidden = items.length > 0;
  }

  renderAlerts(alerts) {
    const list = this.root.querySelector("[data-alerts]");
    this.root.querySelector("[data-no-alerts]").hidden = alerts.length > 0;
    const fresh = alerts.filter((a) => !this.seenAlerts.has(a.key) && !a.acked_by);
    this.seenAlerts = new Set(alerts.map((a) => a.key));
    if (fresh.length) this.announce.textContent = fresh.map(alertText).join(" ");
    list.replaceChildren(
      ...alerts.map((alert) => {
        const item = document.createElement("li");
        item.className = alert.acked_by ? "alert acked" : "alert";
        const text = document.createElement("span");
        text.textContent = alertText(alert);
        item.append(text);
        if (alert.acked_by) {
          const note = document.createElement("span");
          note.className = "acked-by";
          const at = new Date(alert.acked_at * 1000).toLocaleTimeString();
          note.textContent = ` Acknowledged by ${alert.acked_by} at ${at}.`;
          item.append(note);
        } else {
          const button = document.createElement("button");
          button.type = "button";
          button.textContent = "Acknowledge";
          button.addEventListener("click", () => this.acknowledge(alert, button));
          item.append(" ", button);
        }
        return item;
      }),
    );
  }

  async acknowledge(alert, button) {
    button.disabled = true;
    try {
      const response = await fetch("/staff/api/alerts/ack", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": this.csrf },
        body: JSON.stringify({ key: alert.key }),
      });
      if (response.status === 404) {
        this.status.textContent = "That alert has just cleared.";
      } else if (!response.ok) {
        this.status.textContent = "The acknowledgement did not go through; try again.";
        button.disabled = false;
      }
    } catch {
      this.status.textContent = "The server cannot be reached; try again.";
      button.disabled = false;
    }
  }
}

function alertText(alert) {
  const text = ALERT_TEXT[alert.kind];
  return text ? text(alert) : `${alert.kind} ${alert.queue ?? ""}`;
}

initComponents("staff-board", (root) => new Board(root).init());

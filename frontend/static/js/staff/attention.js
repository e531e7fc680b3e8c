// What makes a new chat impossible to miss (issue 11 §1): the unread count in the document
// title, and two opt-ins in the toolbar — a short tone made with WebAudio (no file, no content)
// and a desktop notification (Notification API). A notification says only "New chat" or
// "New message": never a word the young person wrote, nor any label of them. The choices are
// kept in this staff origin's localStorage (youth pages keep nothing: SAFETY S-9, S-13).

import { badgeTitle } from "./labels.js";

const SOUND_KEY = "vh-staff-sound";
const NOTIFY_KEY = "vh-staff-notify";
/** At most one tone and one notification in this many ms, however many messages arrive. */
const QUIET_MS = 2000;

function stored(key) {
  try {
    return localStorage.getItem(key) === "on";
  } catch {
    return false;
  }
}

function store(key, on) {
  try {
    localStorage.setItem(key, on ? "on" : "off");
  } catch {
    // Storage refused (a private window's quota): the choice lasts for this page only.
  }
}

export class Attention {
  /**
   * `soundButton` and `notifyButton` are the toolbar's toggles (aria-pressed); `say(text)`
   * writes to the console's status line.
   */
  constructor(soundButton, notifyButton, say) {
    this.baseTitle = document.title;
    this.soundButton = soundButton;
    this.notifyButton = notifyButton;
    this.say = say;
    this.sound = stored(SOUND_KEY);
    this.notify = stored(NOTIFY_KEY) && this.permitted();
    this.audio = null;
    this.lastTone = 0;
    this.lastNote = 0;
    soundButton.addEventListener("click", () => this.toggleSound());
    notifyButton.addEventListener("click", () => this.toggleNotify());
    if (!("Notification" in window)) notifyButton.hidden = true;
    this.render();
  }

  permitted() {
    return "Notification" in window && Notification.permission === "granted";
  }

  render() {
    this.soundButton.setAttribute("aria-pressed", String(this.sound));
    this.soundButton.textContent = this.sound ? "Sound on" : "Sound off";
    this.notifyButton.setAttribute("aria-pressed", String(this.notify));
    this.notifyButton.textContent = this.notify
      ? "Desktop notifications on"
      : "Desktop notifications off";
  }

  toggleSound() {
    this.sound = !this.sound;
    store(SOUND_KEY, this.sound);
    this.render();
    if (this.sound) this.tone(true); // the click is the gesture that lets audio start
  }

  async toggleNotify() {
    if (this.notify) {
      this.notify = false;
    } else {
      let answer = Notification.permission;
      if (answer === "default") answer = await Notification.requestPermission();
      this.notify = answer === "granted";
      if (!this.notify) {
        this.say("Desktop notifications are blocked for this site in the browser's settings.");
      }
    }
    store(NOTIFY_KEY, this.notify);
    this.render();
  }

  /** The unread count in the title: "(2) Virtual House – staff console". */
  setUnread(count) {
    const title = badgeTitle(this.baseTitle, count);
    if (document.title !== title) document.title = title;
  }

  /** Something new arrived: `kind` is "chat" or "message". Tone and notification if opted in. */
  alert(kind) {
    this.tone(false);
    this.note(kind === "chat" ? "New chat" : "New message");
  }

  tone(always) {
    const now = Date.now();
    if (!this.sound || (!always && now - this.lastTone < QUIET_MS)) return;
    this.lastTone = now;
    try {
      this.audio ??= new AudioContext();
      const ctx = this.audio;
      for (const [offset, freq] of [
        [0, 880],
        [0.18, 660],
      ]) {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, ctx.currentTime + offset);
        gain.gain.exponentialRampToValueAtTime(0.2, ctx.currentTime + offset + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + offset + 0.16);
        osc.connect(gain).connect(ctx.destination);
        osc.start(ctx.currentTime + offset);
        osc.stop(ctx.currentTime + offset + 0.17);
      }
    } catch {
      // No audio device: the title and the list still say it.
    }
  }

  note(text) {
    const now = Date.now();
    if (!this.notify || !this.permitted() || now - this.lastNote < QUIET_MS) return;
    if (document.visibilityState === "visible" && document.hasFocus()) return;
    this.lastNote = now;
    try {
      const shown = new Notification("Virtual House", { body: text, tag: "vh-staff" });
      shown.addEventListener("click", () => {
        window.focus();
        shown.close();
      });
    } catch {
      // Some platforms allow notifications only from a service worker: the title says it.
    }
  }
}

// The young person's chat state, in JavaScript memory only (SAFETY S-9): never in a cookie,
// Web Storage, IndexedDB, the URL or history. A reload ends the chat on this device.
// Shared by the chat (which fills it) and the quick exit (which ends it), without globals.

export const session = {
  /** The queue ticket from the server (a bearer token), or null. */
  ticket: null,
  /** True once the quick exit started: nothing may reconnect or show a message after it. */
  exiting: false,
};

const endHandlers = new Set();

/** Register `handler` to run when the session ends at once (quick exit); returns an undo. */
export function onEnd(handler) {
  endHandlers.add(handler);
  return () => endHandlers.delete(handler);
}

/** End the session now: every handler runs (closing sockets, dropping keys), state is cleared. */
export function endNow() {
  session.exiting = true;
  for (const handler of endHandlers) {
    try {
      handler();
    } catch {
      // Leaving must never be stopped by a component that fails to clean up.
    }
  }
  session.ticket = null;
}

const clearHandlers = new Set();

/** Register `handler` for "Clear this screen" (every message and code leaves the DOM). */
export function onClear(handler) {
  clearHandlers.add(handler);
  return () => clearHandlers.delete(handler);
}

/** "Clear this screen": like the exit's forgetting, but the page stays and may chat again. */
export function clearNow() {
  for (const handler of clearHandlers) {
    try {
      handler();
    } catch {
      // One part failing to clear must not keep the others on the screen.
    }
  }
}

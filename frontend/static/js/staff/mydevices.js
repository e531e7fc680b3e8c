// The counsellor's own certified devices (issue 13 (1)): listed under the toolbar, and a
// plain warning when another device was registered for this account lately, so that a device
// someone else registered (a stolen password and code, or a database writer) does not go
// unseen. An admin revokes one with `vhouse staff revoke-device`.

/** Another device registered this recently is told of (milliseconds). */
export const RECENT_MS = 24 * 60 * 60 * 1000;

function when(seconds) {
  return new Date(seconds * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

/**
 * Show the devices of the signed-in account in `page`'s `[data-my-devices]` list (this
 * device marked) and its `[data-my-devices-warning]`; `thisId` is the device this console
 * uses, `now` milliseconds.
 */
export async function showDevices(page, thisId, now = Date.now()) {
  const root = page.querySelector("[data-my-devices]");
  const response = await fetch("/staff/api/devices", { credentials: "same-origin" });
  if (!response.ok) return;
  const { devices } = await response.json();
  const active = devices.filter((d) => d.revoked_at === null && d.not_after * 1000 > now);
  const summary = root.querySelector("[data-my-devices-summary]");
  const list = root.querySelector("[data-my-devices-list]");
  const warning = page.querySelector("[data-my-devices-warning]");
  summary.textContent = `Your devices: ${active.length} active`;
  list.replaceChildren(
    ...devices.map((d) => {
      const item = document.createElement("li");
      const state =
        d.revoked_at !== null ? `revoked ${when(d.revoked_at)}` : `valid until ${when(d.not_after)}`;
      const mine = d.device_id === thisId ? " (this device)" : "";
      item.textContent = `Device ${d.device_id.slice(0, 8)}…${mine}, registered ${when(d.created_at)}: ${state}`;
      return item;
    }),
  );
  const newer = active.filter(
    (d) => d.device_id !== thisId && now - d.created_at * 1000 < RECENT_MS,
  );
  warning.hidden = newer.length === 0;
  if (newer.length) {
    warning.textContent =
      `Another device was registered for your account on ${when(newer[0].created_at)}. ` +
      "If that was not you, tell an admin at once: they can revoke it.";
  }
  root.hidden = false;
}

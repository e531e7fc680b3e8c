// Who opened a staff page (admin, board, settings…): the signed-in staff member from
// /staff/api/me if their role may use the page, or the sentence the page shows instead. Each
// page's API checks the session and role again; this only spares a refused page its requests.

/**
 * `{ me }` (the `/staff/api/me` answer) when the role is in `roles`; otherwise
 * `{ refused }`: `forbidden` for another role, `unavailable` when the answer is an error.
 */
export async function staffMember(roles, forbidden, unavailable) {
  let me;
  try {
    const response = await fetch("/staff/api/me", { credentials: "same-origin" });
    if (response.status === 401) return { refused: "Log in on the staff console first." };
    if (!response.ok) return { refused: unavailable };
    me = await response.json();
  } catch {
    return { refused: "The server cannot be reached; try again." };
  }
  return roles.has(me.role) ? { me } : { refused: forbidden };
}

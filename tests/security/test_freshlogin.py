"""The fresh-login proof (issue 13 (1), SECURITY R-25): good for one staff member's one session,
one purpose and ``lifetime`` seconds, under this server secret only; nothing else passes."""

from __future__ import annotations

import secrets

from app.security import freshlogin

SECRET = secrets.token_bytes(32)
NOW = 1_800_000_000.0


def _valid(token: str | None, **kw: object) -> bool:
    args: dict[str, object] = {
        "staff_id": "staffA",
        "session_digest": "d" * 64,
        "now": NOW + 5,
        "lifetime": 600,
        **kw,
    }
    secret = args.pop("secret", SECRET)
    return freshlogin.valid(secret, token, **args)  # type: ignore[arg-type]


def test_only_the_proof_of_this_login_passes() -> None:
    """SECURITY R-25: a proof for another account, session, purpose or server secret, an old
    one, one from the future or a malformed one is refused."""
    token = freshlogin.issue(SECRET, staff_id="staffA", session_digest="d" * 64, now=NOW)
    assert token.startswith("v1.1800000000.")
    assert _valid(token)
    assert _valid(token, now=NOW + 600)
    assert not _valid(token, now=NOW + 601)  # too old
    assert not _valid(token, now=NOW - freshlogin.SKEW_SECONDS - 1)  # from the future
    assert not _valid(token, staff_id="staffB")
    assert not _valid(token, session_digest="e" * 64)
    assert not _valid(token, purpose="something-else")
    assert not _valid(token, secret=secrets.token_bytes(32))
    version, issued, mac = token.split(".")
    for forged in (
        None,
        "",
        f"v2.{issued}.{mac}",
        f"{version}.{int(issued) + 1}.{mac}",
        f"{version}.{issued}.{mac[:-1]}A" if mac[-1] != "A" else f"{version}.{issued}.{mac[:-1]}B",
        f"{version}.-1.{mac}",
        f"{version}.{issued}",
        token + ".x",
        "v1." + "9" * 200,
        f"{version}.{issued}.{mac}é",
    ):
        assert not _valid(forged), forged

"""TOTP secrets sealed at rest under the server secret (issue 13 (1), (4))

``staff.totp_secret`` held the base32 secret as is; it now holds ``v1.`` + AES-256-GCM of it
under a key derived from the server secret in the key directory, with the staff id as
associated data (``app.security.totpseal``). The column widens to 128 characters and every
stored plaintext secret is sealed here, in the migration's transaction.

The key is reached through the key directory ``vhouse migrate`` (and ``serve --migrate``)
passes from its settings (VH_KEY_DIR, or ``buckets/`` beside VH_SERVICE_KEY_FILE). Without
one the migration refuses when there is anything to seal, rather than leave secrets readable
or lock every account out; an empty staff table migrates without a key directory.

Downgrading opens the sealed secrets again (it needs the same key directory).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import context, op

from app.security import totpseal
from app.security.secret import ensure_secret

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_staff = sa.table("staff", sa.column("id", sa.String()), sa.column("totp_secret", sa.String()))


def _rows() -> list[tuple[str, str]]:
    found = op.get_bind().execute(sa.select(_staff.c.id, _staff.c.totp_secret))
    return [(str(r[0]), str(r[1])) for r in found]


def _server_secret(why: str) -> bytes:
    key_dir = context.config.attributes.get("key_dir")
    if not isinstance(key_dir, Path):
        raise RuntimeError(
            f"migration 0016 must {why} under the server secret: run `vhouse migrate` with "
            "VH_KEY_DIR (or VH_SERVICE_KEY_FILE) naming the server's key directory"
        )
    return ensure_secret(key_dir)


def _set(staff_id: str, value: str) -> None:
    op.get_bind().execute(_staff.update().where(_staff.c.id == staff_id).values(totp_secret=value))


def upgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.alter_column(
            "totp_secret", existing_type=sa.String(length=64), type_=sa.String(length=128)
        )
    plain = [(i, v) for i, v in _rows() if not totpseal.is_sealed(v)]
    if not plain:
        return
    secret = _server_secret(f"seal {len(plain)} stored TOTP secret(s)")
    for staff_id, value in plain:
        _set(staff_id, totpseal.seal(secret, staff_id, value))


def downgrade() -> None:
    sealed = [(i, v) for i, v in _rows() if totpseal.is_sealed(v)]
    if sealed:
        secret = _server_secret("open the sealed TOTP secrets")
        for staff_id, value in sealed:
            opened = totpseal.unseal(secret, staff_id, value)
            if opened is None:
                raise RuntimeError(f"the TOTP secret of {staff_id} does not open with this key")
            _set(staff_id, opened)
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.alter_column(
            "totp_secret", existing_type=sa.String(length=128), type_=sa.String(length=64)
        )

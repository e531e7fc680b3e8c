"""login failures keyed by a digest of the typed name; old sessions and failures dropped (issue 13)

``login_failures.username`` (the name as typed) becomes ``name_digest``, an HMAC-SHA-256 under the
server secret of the key directory. The rows of the old table are dropped: they hold typed text
and at most 15 minutes of failure counts. Staff sessions are dropped too: their digests are now
keyed, so every old session would fail anyway; staff log in again after the upgrade.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _failures(column: str) -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column(column, sa.String(length=64), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_login_failures_{column}"), [column], unique=False)


def _drop_failures(column: str) -> None:
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f(f"ix_login_failures_{column}"))
    op.drop_table("login_failures")


def upgrade() -> None:
    _drop_failures("username")
    _failures("name_digest")
    op.execute("DELETE FROM staff_sessions")


def downgrade() -> None:
    _drop_failures("name_digest")
    _failures("username")
    op.execute("DELETE FROM staff_sessions")

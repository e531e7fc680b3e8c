"""abandoned chats: counted once in the anonymous aggregates (issue 9)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("queue_stats", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("dropped", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("counted_at", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("counted_at")
    with op.batch_alter_table("queue_stats", schema=None) as batch_op:
        batch_op.drop_column("dropped")

"""warm transfer offers on conversations, console heartbeats on staff (issue 4)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("offer_to", sa.String(length=22), nullable=True))
        batch_op.add_column(sa.Column("offer_expires_at", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("offer_skill", sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_conversations_offer_to"), ["offer_to"], unique=False)

    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(sa.Column("heartbeat_at", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("heartbeat_at")

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversations_offer_to"))
        batch_op.drop_column("offer_skill")
        batch_op.drop_column("offer_expires_at")
        batch_op.drop_column("offer_to")

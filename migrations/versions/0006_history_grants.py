"""history grants: a returning young person's consent to show an earlier chat (CRYPTO.md §5)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "history_grants",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("conv_id", sa.String(length=22), nullable=False),
        sa.Column("from_conv_id", sa.String(length=22), nullable=False),
        sa.Column("seg", sa.BigInteger(), nullable=False),
        sa.Column("device_id", sa.String(length=22), nullable=False),
        sa.Column("wrap", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conv_id"],
            ["conversations.id"],
            name=op.f("fk_history_grants_conv_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_history_grants_device_id_devices")
        ),
        sa.ForeignKeyConstraint(
            ["from_conv_id"],
            ["conversations.id"],
            name=op.f("fk_history_grants_from_conv_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_history_grants")),
    )
    with op.batch_alter_table("history_grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_history_grants_conv_id"), ["conv_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("history_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_history_grants_conv_id"))

    op.drop_table("history_grants")

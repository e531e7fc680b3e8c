"""triage routing: ticket topic, age band, skill queue, organisation; staff organisation;
anonymous queue aggregates (issue 4)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("topic", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("age_band", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("skill", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("organisation", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("counted_at", sa.Float(), nullable=True))
        batch_op.create_index(
            "ix_tickets_queue_order",
            ["status", "kind", "skill", "urgent", "joined_at", "id"],
            unique=False,
        )

    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "organisation",
                sa.String(length=32),
                server_default="municipality",
                nullable=False,
            )
        )

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_conversations_closed_at"), ["closed_at"], unique=False)

    op.create_table(
        "queue_stats",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("joins", sa.Integer(), nullable=False),
        sa.Column("served", sa.Integer(), nullable=False),
        sa.Column("abandoned", sa.Integer(), nullable=False),
        sa.Column("waits", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_stats")),
        sa.UniqueConstraint("day", "queue", "topic", "language", name=op.f("uq_queue_stats_day")),
    )


def downgrade() -> None:
    op.drop_table("queue_stats")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversations_closed_at"))
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("organisation")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_queue_order")
        batch_op.drop_column("counted_at")
        batch_op.drop_column("organisation")
        batch_op.drop_column("skill")
        batch_op.drop_column("age_band")
        batch_op.drop_column("topic")

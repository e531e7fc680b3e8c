"""after-chat feedback as anonymous counts, and a once-only mark on the ticket (issue 12 §3)

``feedback_counts`` holds counts per local day of answering, queue kind and answer, never a
ticket or conversation. ``tickets.feedback_given`` says only that the ticket's young person has
answered (so twice is refused); it is deleted with the ticket by the purge.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feedback_counts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("answer", sa.String(length=8), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_counts")),
        sa.UniqueConstraint("day", "kind", "answer", name=op.f("uq_feedback_counts_day")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("feedback_given", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("feedback_given")
    op.drop_table("feedback_counts")

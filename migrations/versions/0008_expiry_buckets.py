"""expiry buckets: a conversation's bucket week, expiry and keep-until; wraps as Text (issue 10)

Wraps stored before this revision are sealed under their bucket by the next purge.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bucket", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("expires_at", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("kept_until", sa.Float(), nullable=True))
        batch_op.create_index("ix_conversations_bucket", ["bucket"], unique=False)
        batch_op.create_index("ix_conversations_expires_at", ["expires_at"], unique=False)
    with op.batch_alter_table("return_wraps", schema=None) as batch_op:
        batch_op.alter_column(
            "wrap", existing_type=sa.String(length=64), type_=sa.Text(), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("return_wraps", schema=None) as batch_op:
        batch_op.alter_column(
            "wrap", existing_type=sa.Text(), type_=sa.String(length=64), existing_nullable=False
        )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_expires_at")
        batch_op.drop_index("ix_conversations_bucket")
        batch_op.drop_column("kept_until")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("bucket")

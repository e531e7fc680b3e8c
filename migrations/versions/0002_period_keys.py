"""period keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "period_keys",
        sa.Column("id", sa.String(length=22), nullable=False),
        sa.Column("public_key", sa.String(length=87), nullable=False),
        sa.Column("not_before", sa.BigInteger(), nullable=False),
        sa.Column("not_after", sa.BigInteger(), nullable=False),
        sa.Column("certificate", sa.String(length=86), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("destroyed_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_period_keys")),
    )


def downgrade() -> None:
    op.drop_table("period_keys")

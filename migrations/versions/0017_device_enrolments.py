"""enrolment codes for new counsellor devices, kept as keyed digests (issue 13 (1))

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "device_enrolments",
        sa.Column("code_digest", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.String(length=22), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_device_enrolments_staff_id_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code_digest", name=op.f("pk_device_enrolments")),
    )
    with op.batch_alter_table("device_enrolments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_device_enrolments_staff_id"), ["staff_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("device_enrolments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_enrolments_staff_id"))
    op.drop_table("device_enrolments")

"""transcript signatures: a counsellor device's signature over the envelopes of a segment

The latest per (conversation, segment, device), stored by the ``transcript_sig`` frame and
verified by the export (issue 13 (5), docs/PROTOCOL.md "Transcript signatures"). Deleted with
its conversation (the purge, "delete now").

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "transcript_sigs",
        sa.Column("conv_id", sa.String(length=22), nullable=False),
        sa.Column("seg", sa.BigInteger(), nullable=False),
        sa.Column("device_id", sa.String(length=22), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.String(length=43), nullable=False),
        sa.Column("sig", sa.String(length=86), nullable=False),
        sa.Column("covers", sa.Text(), nullable=False),
        sa.Column("signed_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conv_id"],
            ["conversations.id"],
            name=op.f("fk_transcript_sigs_conv_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_transcript_sigs_device_id_devices")
        ),
        sa.PrimaryKeyConstraint("conv_id", "seg", "device_id", name=op.f("pk_transcript_sigs")),
    )


def downgrade() -> None:
    op.drop_table("transcript_sigs")

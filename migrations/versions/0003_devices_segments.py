"""counsellor devices, key segments, return-code wraps (CRYPTO.md §2, §3)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.String(length=22), nullable=False),
        sa.Column("staff_id", sa.String(length=22), nullable=False),
        sa.Column("hpke_public_key", sa.String(length=87), nullable=False),
        sa.Column("sig_public_key", sa.String(length=87), nullable=False),
        sa.Column("not_after", sa.BigInteger(), nullable=False),
        sa.Column("certificate", sa.String(length=86), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("revoked_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_devices_staff_id_staff"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_devices_staff_id"), ["staff_id"], unique=False)

    op.create_table(
        "return_wraps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("locator", sa.String(length=22), nullable=False),
        sa.Column("conv_id", sa.String(length=22), nullable=False),
        sa.Column("seg", sa.BigInteger(), nullable=False),
        sa.Column("salt", sa.String(length=22), nullable=False),
        sa.Column("nonce", sa.String(length=16), nullable=False),
        sa.Column("wrap", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conv_id"],
            ["conversations.id"],
            name=op.f("fk_return_wraps_conv_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_wraps")),
    )
    with op.batch_alter_table("return_wraps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_return_wraps_conv_id"), ["conv_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_return_wraps_locator"), ["locator"], unique=False)

    op.create_table(
        "segments",
        sa.Column("conv_id", sa.String(length=22), nullable=False),
        sa.Column("seg", sa.BigInteger(), nullable=False),
        sa.Column("device_id", sa.String(length=22), nullable=False),
        sa.Column("period_id", sa.String(length=22), nullable=True),
        sa.Column("wrap_c", sa.Text(), nullable=True),
        sa.Column("wrap_o", sa.Text(), nullable=True),
        sa.Column("accept_sig", sa.String(length=86), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conv_id"],
            ["conversations.id"],
            name=op.f("fk_segments_conv_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_segments_device_id_devices")
        ),
        sa.ForeignKeyConstraint(
            ["period_id"], ["period_keys.id"], name=op.f("fk_segments_period_id_period_keys")
        ),
        sa.PrimaryKeyConstraint("conv_id", "seg", name=op.f("pk_segments")),
    )
    with op.batch_alter_table("segments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_segments_device_id"), ["device_id"], unique=False)

    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duty_device_id", sa.String(length=22), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("duty_device_id")

    with op.batch_alter_table("segments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_segments_device_id"))

    op.drop_table("segments")
    with op.batch_alter_table("return_wraps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_return_wraps_locator"))
        batch_op.drop_index(batch_op.f("ix_return_wraps_conv_id"))

    op.drop_table("return_wraps")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_devices_staff_id"))

    op.drop_table("devices")

"""young person's envelope signatures: the page's public key on the ticket, a sig per envelope

The page sends its public signing key in the ``join`` frame; it is stored with the ticket
before any counsellor is paired and never changed (issue 13 (5), docs/PROTOCOL.md §6.7). Each
role-Y envelope may carry the page's signature, stored beside it. Rows from before have neither:
the export says "sender not verifiable" for them.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("youth_sig_key", sa.String(length=87), nullable=True))
    with op.batch_alter_table("envelopes") as batch:
        batch.add_column(sa.Column("sig", sa.String(length=86), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("envelopes") as batch:
        batch.drop_column("sig")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("youth_sig_key")

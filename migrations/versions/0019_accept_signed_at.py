"""the signed time of a segment's acceptance (issue 13 (6), PROTOCOL.md §6.3)

The counsellor device signs its own clock's time with the acceptance; a return visit checks the
device certificate at that signed time instead of the server's ``created_at``. Rows accepted
before this have none (the page says their time is unverified).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("segments") as batch:
        batch.add_column(sa.Column("accept_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("segments") as batch:
        batch.drop_column("accept_at")

"""Index only pending deliveries: purgers read a region's unacknowledged deliveries by due time.

The baseline's index (region, acked_at, not_before) held every delivery ever made; this partial one holds the
pending ones alone, so it stays small however long the log grows, and answers `next_due`'s MIN(not_before) at once.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_PENDING = sa.text("acked_at IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_purge_deliveries_pending",
        "purge_deliveries",
        ["region", "not_before"],
        unique=False,
        sqlite_where=_PENDING,
        postgresql_where=_PENDING,
    )
    op.drop_index("ix_purge_deliveries_due", table_name="purge_deliveries")


def downgrade() -> None:
    op.create_index("ix_purge_deliveries_due", "purge_deliveries", ["region", "acked_at", "not_before"], unique=False)
    op.drop_index("ix_purge_deliveries_pending", table_name="purge_deliveries")

"""Purge causes: when the change behind an event's purge committed, for the purge-lag metric.

A table of its own beside `purge_requests`: only purges made from an outbox event have a cause (an API purge has
none, its lag counts from when it was recorded), and purges recorded before this revision simply have no row.
Creating a table needs no batch copy on SQLite.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "purge_causes",
        sa.Column("purge_id", sa.String(length=36), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["purge_id"], ["purge_requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("purge_id"),
    )


def downgrade() -> None:
    op.drop_table("purge_causes")

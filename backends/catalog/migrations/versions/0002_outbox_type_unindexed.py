"""Drop the outbox's index on `type`: readers page by `seq` (the primary key), no query filters by type.

Every event insert paid for that index, and the outbox only grows.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_catalog_outbox_type", table_name="catalog_outbox")


def downgrade() -> None:
    op.create_index("ix_catalog_outbox_type", "catalog_outbox", ["type"], unique=False)

"""The outbox's `traceparent`: the W3C trace context of the write that added an event, so the invalidator's
spans for it join that write's trace.

Nullable, with no default: events written before this revision (or with tracing off) simply have none. Adding a
nullable column needs no batch copy on SQLite; dropping one does (before SQLite 3.35), hence the batch below.

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
    op.add_column("checkout_outbox", sa.Column("traceparent", sa.String(length=55), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("checkout_outbox") as batch:
        batch.drop_column("traceparent")

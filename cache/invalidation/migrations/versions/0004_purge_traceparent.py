"""A purge request's `traceparent`: the trace its deliveries' spans join (the planning of its outbox event).

Nullable, with no default: API purges without a caller's trace, and purges recorded before this revision, have
none. Adding a nullable column needs no batch copy on SQLite; dropping one does (before SQLite 3.35), hence the
batch below.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("purge_requests", sa.Column("traceparent", sa.String(length=55), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("purge_requests") as batch:
        batch.drop_column("traceparent")

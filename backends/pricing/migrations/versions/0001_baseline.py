"""Baseline: the pricing schema as `create_all` made it before migrations.

Tables: price books, prices, promotions, outbox.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pricing_outbox",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("regions", sa.JSON(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    op.create_index(op.f("ix_pricing_outbox_type"), "pricing_outbox", ["type"], unique=False)
    op.create_table(
        "pricing_price_books",
        sa.Column("region", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("tax_inclusive", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("region"),
    )
    op.create_table(
        "pricing_prices",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=False),
        sa.Column("list_minor", sa.Integer(), nullable=False),
        sa.Column("sale_minor", sa.Integer(), nullable=True),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=80), nullable=False),
        sa.Column("brand", sa.String(length=80), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("list_minor > 0", name="ck_pricing_list_positive"),
        sa.CheckConstraint(
            "sale_minor IS NULL OR (sale_minor > 0 AND sale_minor <= list_minor)", name="ck_pricing_sale"
        ),
        sa.PrimaryKeyConstraint("sku", "region"),
    )
    op.create_index(op.f("ix_pricing_prices_product_id"), "pricing_prices", ["product_id"], unique=False)
    op.create_table(
        "pricing_promotions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("target", sa.String(length=80), nullable=False),
        sa.Column("min_order_minor", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('percent', 'amount')", name="ck_pricing_promo_kind"),
        sa.CheckConstraint("scope IN ('sku', 'category', 'brand', 'order')", name="ck_pricing_promo_scope"),
        sa.CheckConstraint("ends_at > starts_at", name="ck_pricing_promo_window"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_index(op.f("ix_pricing_promotions_code"), "pricing_promotions", ["code"], unique=False)
    op.create_index(
        "ix_pricing_promotions_region_window", "pricing_promotions", ["region", "starts_at", "ends_at"], unique=False
    )


def downgrade() -> None:
    op.drop_table("pricing_promotions")
    op.drop_table("pricing_prices")
    op.drop_table("pricing_price_books")
    op.drop_table("pricing_outbox")

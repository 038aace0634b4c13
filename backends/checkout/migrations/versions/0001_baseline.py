"""Baseline: the checkout schema as `create_all` made it before migrations.

Tables: stock, carts and lines, reservations, orders, idempotency keys, the test provider's charges, funnel, outbox.

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
        "checkout_carts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("address", sa.JSON(), nullable=True),
        sa.Column("shipping_method", sa.String(length=20), nullable=True),
        sa.Column("promo_code", sa.String(length=32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "checkout_funnel",
        sa.Column("cart_id", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cart_id", "step"),
    )
    op.create_index(op.f("ix_checkout_funnel_at"), "checkout_funnel", ["at"], unique=False)
    op.create_index(op.f("ix_checkout_funnel_region"), "checkout_funnel", ["region"], unique=False)
    op.create_table(
        "checkout_idempotency_keys",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index(
        op.f("ix_checkout_idempotency_keys_created_at"), "checkout_idempotency_keys", ["created_at"], unique=False
    )
    op.create_index(
        op.f("ix_checkout_idempotency_keys_order_id"), "checkout_idempotency_keys", ["order_id"], unique=False
    )
    op.create_table(
        "checkout_orders",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("cart_id", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("address", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("total_minor", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("card_last4", sa.String(length=4), nullable=False),
        sa.Column("payment_ref", sa.String(length=64), nullable=True),
        sa.Column("failure", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_checkout_orders_cart_id"), "checkout_orders", ["cart_id"], unique=False)
    op.create_index(op.f("ix_checkout_orders_status"), "checkout_orders", ["status"], unique=False)
    op.create_table(
        "checkout_outbox",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("regions", sa.JSON(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    op.create_index(op.f("ix_checkout_outbox_type"), "checkout_outbox", ["type"], unique=False)
    op.create_table(
        "checkout_reservations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cart_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=True),
        sa.Column("region", sa.String(length=16), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity > 0", name="ck_checkout_reservation_quantity"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_checkout_reservations_cart_id"), "checkout_reservations", ["cart_id"], unique=False)
    op.create_index(op.f("ix_checkout_reservations_order_id"), "checkout_reservations", ["order_id"], unique=False)
    op.create_index(
        "ix_checkout_reservations_status_expiry", "checkout_reservations", ["status", "expires_at"], unique=False
    )
    op.create_table(
        "checkout_stock",
        sa.Column("region", sa.String(length=16), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.CheckConstraint("on_hand >= 0", name="ck_checkout_stock_on_hand"),
        sa.CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="ck_checkout_stock_reserved"),
        sa.PrimaryKeyConstraint("region", "sku"),
    )
    op.create_table(
        "testpay_charges",
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("card_last4", sa.String(length=4), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("reference"),
    )
    op.create_table(
        "checkout_cart_lines",
        sa.Column("cart_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name="ck_checkout_line_quantity"),
        sa.ForeignKeyConstraint(["cart_id"], ["checkout_carts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("cart_id", "sku"),
    )


def downgrade() -> None:
    op.drop_table("checkout_cart_lines")
    op.drop_table("testpay_charges")
    op.drop_table("checkout_stock")
    op.drop_table("checkout_reservations")
    op.drop_table("checkout_outbox")
    op.drop_table("checkout_orders")
    op.drop_table("checkout_idempotency_keys")
    op.drop_table("checkout_funnel")
    op.drop_table("checkout_carts")

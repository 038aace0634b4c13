"""Checkout tables: sellable stock, carts, reservations, orders, idempotency keys, funnel, outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from backends.common import OutboxEventMixin, UTCDateTime, utcnow


class CheckoutBase(DeclarativeBase):
    pass


class Stock(CheckoutBase):
    """Sellable stock per region: the authority the catalog's displayed stock follows.

    `reserved` counts units held by live reservations; the constraints make overselling a
    database error rather than a bug someone has to notice.
    """

    __tablename__ = "checkout_stock"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="ck_checkout_stock_on_hand"),
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="ck_checkout_stock_reserved"),
    )

    region: Mapped[str] = mapped_column(String(16), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)


class Cart(CheckoutBase):
    __tablename__ = "checkout_carts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # an unguessable token; holding it is access
    region: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | ordered
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    address: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    shipping_method: Mapped[str | None] = mapped_column(String(20), default=None)
    promo_code: Mapped[str | None] = mapped_column(String(32), default=None)
    # Bumped on every change, so an order is placed for exactly the cart that was priced.
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    lines: Mapped[list[CartLine]] = relationship(
        lazy="selectin", order_by="CartLine.position", cascade="all, delete-orphan"
    )


class CartLine(CheckoutBase):
    __tablename__ = "checkout_cart_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="ck_checkout_line_quantity"),)

    cart_id: Mapped[str] = mapped_column(ForeignKey("checkout_carts.id", ondelete="CASCADE"), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    quantity: Mapped[int]
    position: Mapped[int] = mapped_column(default=0)


class Reservation(CheckoutBase):
    """Units of one SKU held for one cart: `active` until it expires, `held` while its order is paid for."""

    __tablename__ = "checkout_reservations"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="ck_checkout_reservation_quantity"),
        Index("ix_checkout_reservations_status_expiry", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[str] = mapped_column(String(64), index=True)
    order_id: Mapped[str | None] = mapped_column(String(36), default=None, index=True)
    region: Mapped[str] = mapped_column(String(16))
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int]
    status: Mapped[str] = mapped_column(String(10), default="active")  # active | held | committed | released
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Order(CheckoutBase):
    __tablename__ = "checkout_orders"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    cart_id: Mapped[str] = mapped_column(String(64), index=True)
    region: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[dict[str, Any]] = mapped_column(JSON)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)  # the priced lines, shipping, tax and totals
    total_minor: Mapped[int]
    # pending_payment -> placed | declined | failed
    status: Mapped[str] = mapped_column(String(16), default="pending_payment", index=True)
    card_last4: Mapped[str] = mapped_column(String(4))
    payment_ref: Mapped[str | None] = mapped_column(String(64), default=None)
    failure: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class IdempotencyKey(CheckoutBase):
    """Stripe's semantics: the first outcome of a key is kept (at least 24 h) and replayed."""

    __tablename__ = "checkout_idempotency_keys"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10), default="started")  # started | done
    order_id: Mapped[str | None] = mapped_column(String(36), default=None, index=True)
    response_status: Mapped[int | None] = mapped_column(default=None)
    response_body: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class Charge(CheckoutBase):
    """The built-in test payment provider's own ledger (a real provider keeps this on its side)."""

    __tablename__ = "testpay_charges"

    reference: Mapped[str] = mapped_column(String(64), primary_key=True)
    amount_minor: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    card_last4: Mapped[str] = mapped_column(String(4))
    outcome: Mapped[str] = mapped_column(String(10))  # succeeded | declined | refunded
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FunnelStep(CheckoutBase):
    """The first time a cart reached a checkout step (a cart counts once per step)."""

    __tablename__ = "checkout_funnel"

    cart_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    step: Mapped[str] = mapped_column(String(16), primary_key=True)
    region: Mapped[str] = mapped_column(String(16), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class CheckoutEvent(OutboxEventMixin, CheckoutBase):
    __tablename__ = "checkout_outbox"

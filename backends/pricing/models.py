"""Pricing tables: price books, prices per SKU per region, promotions with time windows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from backends.common import OutboxEventMixin, UTCDateTime, utcnow


class PricingBase(DeclarativeBase):
    pass


class PriceBook(PricingBase):
    __tablename__ = "pricing_price_books"

    region: Mapped[str] = mapped_column(String(16), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    tax_inclusive: Mapped[bool]


class Price(PricingBase):
    """A SKU's price in one region, in minor units; category and brand are copied here so promotions resolve."""

    __tablename__ = "pricing_prices"
    __table_args__ = (
        CheckConstraint("list_minor > 0", name="ck_pricing_list_positive"),
        CheckConstraint("sale_minor IS NULL OR (sale_minor > 0 AND sale_minor <= list_minor)", name="ck_pricing_sale"),
    )

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    region: Mapped[str] = mapped_column(String(16), primary_key=True)
    list_minor: Mapped[int]
    sale_minor: Mapped[int | None]
    product_id: Mapped[int] = mapped_column(index=True)
    category: Mapped[str] = mapped_column(String(80))
    brand: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Promotion(PricingBase):
    """Percent (basis points) or amount (minor units) off a SKU, category, brand, or an order over a threshold."""

    __tablename__ = "pricing_promotions"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ck_pricing_promo_window"),
        CheckConstraint("kind IN ('percent', 'amount')", name="ck_pricing_promo_kind"),
        CheckConstraint("scope IN ('sku', 'category', 'brand', 'order')", name="ck_pricing_promo_scope"),
        Index("ix_pricing_promotions_region_window", "region", "starts_at", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    region: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[int]
    scope: Mapped[str] = mapped_column(String(10))
    target: Mapped[str] = mapped_column(String(80), default="")
    min_order_minor: Mapped[int] = mapped_column(default=0)
    # An order promotion with a code applies only when the shopper enters it (upper case, per region).
    code: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PricingEvent(OutboxEventMixin, PricingBase):
    __tablename__ = "pricing_outbox"

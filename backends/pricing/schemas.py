"""Pricing's response shapes, as its OpenAPI document states them (handlers build plain dicts)."""

from __future__ import annotations

import builtins
from typing import Literal

import msgspec

from backends.common.events import payloads


class Money(msgspec.Struct):
    amount: str  # a plain decimal string with the currency's places ("19.90"), never a float
    currency: str


class AppliedPromotion(msgspec.Struct):
    id: int
    slug: str
    name: str
    kind: Literal["percent", "amount"]
    value: int
    scope: Literal["sku", "category", "brand", "order"]
    target: str
    discount: Money
    ends_at: str


class SkuPrice(msgspec.Struct):
    sku: str
    list: Money  # shadows the builtin inside this class body, hence `builtins.list` below
    sale: Money | None
    final: Money
    final_minor: int
    promotions: builtins.list[AppliedPromotion]


class PriceQuote(msgspec.Struct):
    region: str
    currency: str
    tax_inclusive: bool
    at: str
    prices: list[SkuPrice]
    missing: list[str]
    next_change_at: str | None


class OrderLinePrice(msgspec.Struct):
    sku: str
    quantity: int
    unit: Money
    total: Money


class OrderPrice(msgspec.Struct):
    region: str
    currency: str
    tax_inclusive: bool
    lines: list[OrderLinePrice]
    missing: list[str]
    subtotal: Money
    order_promotions: list[AppliedPromotion]
    unknown_codes: list[str]
    total: Money
    next_change_at: str | None


class Promotion(msgspec.Struct):
    id: int
    slug: str
    name: str
    region: str
    kind: Literal["percent", "amount"]
    value: int
    scope: Literal["sku", "category", "brand", "order"]
    target: str
    min_order_minor: int
    code: str | None
    starts_at: str
    ends_at: str


class Promotions(msgspec.Struct):
    promotions: list[Promotion]


class PriceWrite(msgspec.Struct):
    """An admin price change's outcome; `changed` is false when the price was already that (no event)."""

    sku: str
    region: str
    changed: bool


# The outbox's event types and their payloads, as `/admin/outbox` documents them.
OUTBOX_PAYLOADS = payloads("price.changed", "promotion.scheduled")

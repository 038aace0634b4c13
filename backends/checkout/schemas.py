"""Checkout's response shapes, as its OpenAPI document states them (handlers build plain dicts)."""

from __future__ import annotations

from typing import Literal

import msgspec

from backends.common.events import payloads


class Money(msgspec.Struct):
    amount: str  # a plain decimal string with the currency's places ("19.90"), never a float
    currency: str


class AppliedPromotion(msgspec.Struct):
    name: str
    discount: Money


class CartPromotion(msgspec.Struct):
    code: str | None
    applied: list[AppliedPromotion]


class ImageRef(msgspec.Struct):
    """A product image as the catalog sends it; the origin serves `/img/{hash}/{width}.{avif,webp,jpg}`."""

    hash: str
    width: int
    height: int
    alt: str = ""


class Destinations(msgspec.Struct):
    countries: list[str]
    states: list[str]


class CartLine(msgspec.Struct):
    sku: str
    title: str
    quantity: int
    unit: Money
    subtotal: Money
    discount: Money
    tax: Money
    product_id: int
    slug: str
    options: dict[str, str]
    image: ImageRef | None


class ShippingOption(msgspec.Struct):
    code: str
    name: str
    days: str
    amount: Money


class Shipping(msgspec.Struct):
    zone: str | None
    method: str | None
    amount: Money | None
    tax: Money
    options: list[ShippingOption]


class Tax(msgspec.Struct):
    label: str
    mode: str
    rate: str | None
    amount: Money | None


class CartView(msgspec.Struct):
    """A cart priced now: lines, shipping by zone and weight, tax, total; client prices never count."""

    id: str
    region: str
    status: Literal["open", "ordered"]
    version: int
    expires_at: str
    email: str | None
    address: dict[str, str] | None
    shipping_method: str | None
    promotion: CartPromotion
    item_count: int
    destinations: Destinations
    unavailable: list[str]
    ready: bool
    currency: str
    lines: list[CartLine]
    weight_grams: int
    subtotal: Money
    discount: Money
    shipping: Shipping
    tax: Tax
    total: Money
    total_minor: int
    complete: bool


class CheckoutStarted(CartView):
    reserved_until: str


class OrderView(msgspec.Struct):
    """An order: its status, where it ships, and the priced lines, shipping, tax and totals it was placed at."""

    id: str
    number: str
    status: Literal["pending_payment", "placed", "declined", "failed"]
    region: str
    email: str
    address: dict[str, str]
    card_last4: str
    failure: str | None
    created_at: str
    currency: str
    lines: list[CartLine]
    subtotal: Money
    discount: Money
    shipping: Shipping
    tax: Tax
    total: Money
    detail: str | None = None  # only while the payment is being confirmed (202)


class OrderProblem(msgspec.Struct):
    """A declined (402) or failed (502) payment: problem details plus the order, whose stock was released."""

    type: str
    title: str
    status: int
    detail: str
    order: OrderView


class StockLevel(msgspec.Struct):
    region: str
    sku: str
    on_hand: int
    reserved: int


class StockWrite(StockLevel):
    changed: bool  # false when on hand was already that (no event)


class FunnelStep(msgspec.Struct):
    step: Literal["cart", "checkout", "contact", "address", "shipping", "payment", "placed"]
    carts: int
    from_previous: float | None  # share of the previous step's carts; None when it had none
    from_start: float | None


class Funnel(msgspec.Struct):
    region: str | None
    steps: list[FunnelStep]


# The outbox's event types and their payloads, as `/admin/outbox` documents them.
OUTBOX_PAYLOADS = payloads("stock.changed", "order.placed")

"""Checkout's response shapes, as its OpenAPI document states them (handlers build plain dicts)."""

from __future__ import annotations

from typing import Any, Literal

import msgspec


class Money(msgspec.Struct):
    amount: str  # a plain decimal string with the currency's places ("19.90"), never a float
    currency: str


class AppliedPromotion(msgspec.Struct):
    name: str
    discount: Money


class CartPromotion(msgspec.Struct):
    code: str | None
    applied: list[AppliedPromotion]


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
    options: dict[str, Any]
    image: dict[str, Any] | None


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

"""The event vocabulary: every outbox event type and its payload, checked when written and when read."""

from __future__ import annotations

from typing import Any, Literal, TypeVar

import msgspec

Availability = Literal["in_stock", "low_stock", "sold_out"]
ContentType = Literal["page", "hero", "promo", "navigation", "footer"]
T = TypeVar("T", bound=msgspec.Struct)


class InvalidEvent(ValueError):
    """An event type outside the vocabulary, or a payload that does not match its type."""


# --- catalog ---------------------------------------------------------------------------------------------


class ProductUpdated(msgspec.Struct):
    product_id: int
    slug: str
    category: str
    fields: list[str]
    version: int


class InventoryChanged(msgspec.Struct):
    """The catalog's displayed stock of a SKU moved; `visible_change` when its shown availability did."""

    sku: str
    product_id: int
    region: str
    quantity_before: int
    quantity: int
    state_before: Availability
    state_after: Availability
    visible_change: bool


# --- pricing ---------------------------------------------------------------------------------------------


class PriceLevels(msgspec.Struct):
    list_minor: int
    sale_minor: int | None


class PriceChanged(msgspec.Struct):
    sku: str
    product_id: int
    region: str
    before: PriceLevels
    after: PriceLevels


class PromotionScheduled(msgspec.Struct):
    promotion_id: int
    slug: str
    scope: Literal["sku", "category", "brand", "order"]
    target: str
    starts_at: str
    ends_at: str


# --- CMS -------------------------------------------------------------------------------------------------


class ContentUnpublished(msgspec.Struct):
    entry_id: int
    type: ContentType
    key: str


class ContentPublished(ContentUnpublished):
    version: int
    locales: list[str]


# --- checkout --------------------------------------------------------------------------------------------


class StockChanged(msgspec.Struct):
    """Checkout's sellable stock of a SKU, absolute, so applying it twice changes nothing."""

    sku: str
    region: str
    on_hand: int
    reason: Literal["count", "order"]
    order_id: str | None = None  # with reason "order"


class OrderTotal(msgspec.Struct):
    amount: str  # a plain decimal string with the currency's places ("19.90"), never a float
    currency: str


class LineQuantity(msgspec.Struct):
    sku: str
    quantity: int


class OrderPlaced(msgspec.Struct):
    order_id: str
    region: str
    total: OrderTotal
    lines: list[LineQuantity]


EVENTS: dict[str, type[msgspec.Struct]] = {
    "product.updated": ProductUpdated,
    "inventory.changed": InventoryChanged,
    "price.changed": PriceChanged,
    "promotion.scheduled": PromotionScheduled,
    "content.published": ContentPublished,
    "content.unpublished": ContentUnpublished,
    "stock.changed": StockChanged,
    "order.placed": OrderPlaced,
}
EVENT_TYPES = frozenset(EVENTS)


def parse(struct: type[T], payload: Any) -> T:
    """A payload (a dict as stored, or already the struct) as `struct`; raises InvalidEvent."""
    if isinstance(payload, struct):
        return payload
    try:
        return msgspec.convert(payload, struct, strict=True)
    except msgspec.ValidationError as exc:
        raise InvalidEvent(f"malformed {struct.__name__} payload: {exc}") from exc


def payload_of(event_type: str, payload: Any) -> msgspec.Struct:
    """The typed payload of an event of `event_type`; raises InvalidEvent."""
    struct = EVENTS.get(event_type)
    if struct is None:
        raise InvalidEvent(f"unknown event type {event_type!r}")
    return parse(struct, payload)


def payloads(*event_types: str) -> dict[str, type[msgspec.Struct]]:
    """A service's slice of the vocabulary, for its outbox's OpenAPI document."""
    return {event_type: EVENTS[event_type] for event_type in event_types}

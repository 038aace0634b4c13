"""Which keys in which regions an outbox event makes stale: pure, one planner per event type."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backends.common.events import (
    ContentUnpublished,
    InvalidEvent,
    InventoryChanged,
    PriceChanged,
    ProductUpdated,
    PromotionScheduled,
    payload_of,
)
from cache import keys as k
from edge_config import RegionCatalogue


@dataclass(frozen=True, slots=True)
class PlannedPurge:
    keys: tuple[str, ...]
    regions: tuple[str, ...]
    not_before: datetime | None = None


class UnplannableEvent(ValueError):
    """An event of a type no planner knows, or whose payload lacks what its type needs: parked, not purged."""


def _regions(event: dict[str, Any], catalogue: RegionCatalogue) -> tuple[str, ...]:
    scope = event.get("regions") or ["*"]
    return catalogue.codes if "*" in scope else tuple(r for r in scope if catalogue.get(r))


def _price(payload: PriceChanged, regions: tuple[str, ...]) -> list[PlannedPurge]:
    return [PlannedPurge((k.price(payload.sku), k.product(payload.product_id)), regions)]


def _inventory(payload: InventoryChanged, regions: tuple[str, ...]) -> list[PlannedPurge]:
    return [PlannedPurge((k.product(payload.product_id),), regions)] if payload.visible_change else []


def _product(payload: ProductUpdated, regions: tuple[str, ...]) -> list[PlannedPurge]:
    return [PlannedPurge((k.product(payload.product_id),), regions)]


def _content(payload: ContentUnpublished, regions: tuple[str, ...]) -> list[PlannedPurge]:
    keys = [k.cms(payload.entry_id)]
    if payload.type in ("navigation", "footer"):
        keys.append(k.NAV)
    # A newly published block is on no cached page's key list yet: purge the page kinds that list them.
    if payload.type == "hero":
        keys.append(k.page("home"))
    if payload.type == "promo":
        keys += [k.page("home"), k.page("category"), k.page("product")]
    return [PlannedPurge(tuple(keys), regions)]


def _promotion(payload: PromotionScheduled, regions: tuple[str, ...]) -> list[PlannedPurge]:
    target = {"sku": k.price, "category": k.category}.get(payload.scope)
    if target is None or not payload.target:
        return []  # brand and order promotions: pages' TTLs are already clamped to the boundary
    keys = (target(payload.target),)
    return [
        PlannedPurge(keys, regions, datetime.fromisoformat(payload.starts_at)),
        PlannedPurge(keys, regions, datetime.fromisoformat(payload.ends_at)),
    ]


def _nothing(payload: Any, regions: tuple[str, ...]) -> list[PlannedPurge]:
    return []  # no page a shopper can see changes (the catalog turns stock changes into its own events)


# One planner per event type of the vocabulary (tests check that none is missing).
PLANNERS: dict[str, Callable[[Any, tuple[str, ...]], list[PlannedPurge]]] = {
    "price.changed": _price,
    "inventory.changed": _inventory,
    "product.updated": _product,
    "content.published": _content,
    "content.unpublished": _content,
    "promotion.scheduled": _promotion,
    "stock.changed": _nothing,
    "order.placed": _nothing,
}


def plan(event: dict[str, Any], catalogue: RegionCatalogue) -> list[PlannedPurge]:
    """Which keys in which regions an event makes stale; only changes a shopper can see purge.

    Raises UnplannableEvent for an unknown type or a malformed payload, for the caller to park it.
    """
    planner = PLANNERS.get(event.get("type", ""))
    if planner is None:
        raise UnplannableEvent(f"unknown event type {event.get('type')!r}")
    try:
        payload = payload_of(event["type"], event.get("payload"))
        return planner(payload, _regions(event, catalogue))
    except (InvalidEvent, ValueError) as exc:  # a bad payload, or a promotion's unreadable instant
        raise UnplannableEvent(f"malformed {event['type']} event: {exc}") from exc

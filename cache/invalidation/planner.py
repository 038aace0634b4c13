"""Which keys in which regions an outbox event makes stale: pure, one planner per event type."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cache import keys as k
from edge_config import RegionCatalogue

Payload = dict[str, Any]


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


def _price(payload: Payload, regions: tuple[str, ...]) -> list[PlannedPurge]:
    return [PlannedPurge((k.price(payload["sku"]), k.product(payload["product_id"])), regions)]


def _inventory(payload: Payload, regions: tuple[str, ...]) -> list[PlannedPurge]:
    visible = payload.get("visible_change", True)
    return [PlannedPurge((k.product(payload["product_id"]),), regions)] if visible else []


def _product(payload: Payload, regions: tuple[str, ...]) -> list[PlannedPurge]:
    return [PlannedPurge((k.product(payload["product_id"]),), regions)]


def _content(payload: Payload, regions: tuple[str, ...]) -> list[PlannedPurge]:
    keys = [k.cms(payload["entry_id"])]
    if payload.get("type") in ("navigation", "footer"):
        keys.append(k.NAV)
    # A newly published block is on no cached page's key list yet: purge the page kinds that list them.
    if payload.get("type") == "hero":
        keys.append(k.page("home"))
    if payload.get("type") == "promo":
        keys += [k.page("home"), k.page("category"), k.page("product")]
    return [PlannedPurge(tuple(keys), regions)]


def _promotion(payload: Payload, regions: tuple[str, ...]) -> list[PlannedPurge]:
    target = {"sku": k.price, "category": k.category}.get(payload.get("scope", ""))
    if target is None or not payload.get("target"):
        return []  # brand and order promotions: pages' TTLs are already clamped to the boundary
    keys = (target(payload["target"]),)
    return [
        PlannedPurge(keys, regions, datetime.fromisoformat(payload["starts_at"])),
        PlannedPurge(keys, regions, datetime.fromisoformat(payload["ends_at"])),
    ]


def _nothing(payload: Payload, regions: tuple[str, ...]) -> list[PlannedPurge]:
    return []  # no page a shopper can see changes


PLANNERS: dict[str, Callable[[Payload, tuple[str, ...]], list[PlannedPurge]]] = {
    "price.changed": _price,
    "inventory.changed": _inventory,
    "product.updated": _product,
    "content.published": _content,
    "content.unpublished": _content,
    "promotion.scheduled": _promotion,
    "order.placed": _nothing,
    "purge.requested": _nothing,
    "purge.acknowledged": _nothing,
}


def plan(event: dict[str, Any], catalogue: RegionCatalogue) -> list[PlannedPurge]:
    """Which keys in which regions an event makes stale; only changes a shopper can see purge.

    Raises UnplannableEvent for an unknown type or a malformed payload, for the caller to park it.
    """
    planner = PLANNERS.get(event.get("type", ""))
    if planner is None:
        raise UnplannableEvent(f"unknown event type {event.get('type')!r}")
    try:
        return planner(event["payload"], _regions(event, catalogue))
    except (KeyError, TypeError, ValueError) as exc:
        raise UnplannableEvent(f"malformed {event['type']} event: {type(exc).__name__} {exc}") from exc

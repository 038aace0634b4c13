"""The planner: which keys in which regions each event type makes stale; an event it cannot read is refused."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

import backends.common.events as ev
from cache.invalidation.planner import PLANNERS, UnplannableEvent, plan
from edge_config import load_regions


def _event(event_type: str, regions: list[str], payload: msgspec.Struct) -> dict[str, Any]:
    return {"type": event_type, "regions": regions, "payload": msgspec.to_builtins(payload)}


def test_only_visible_changes_purge() -> None:
    regions = load_regions()
    stock = ev.InventoryChanged("S-4", 4, "eu", 9, 8, "in_stock", "in_stock", visible_change=False)
    assert plan(_event("inventory.changed", ["eu"], stock), regions) == []
    stock.visible_change = True
    [purge] = plan(_event("inventory.changed", ["eu"], stock), regions)
    assert purge.keys == ("product:4",) and purge.regions == ("eu",)
    levels = ev.PriceLevels(1000, None)
    price = _event("price.changed", ["apac"], ev.PriceChanged("S-1", 9, "apac", levels, levels))
    assert plan(price, regions)[0].keys == ("price:S-1", "product:9")
    nav = _event("content.published", ["*"], ev.ContentPublished(3, "navigation", "main", 2, ["en-US"]))
    [purge] = plan(nav, regions)
    assert set(purge.keys) == {"cms:3", "nav"} and purge.regions == ("us", "eu", "apac")
    window = ("2030-01-01T00:00:00+00:00", "2030-01-02T00:00:00+00:00")
    promo = _event("promotion.scheduled", ["us"], ev.PromotionScheduled(1, "boots-sale", "category", "boots", *window))
    start, end = plan(promo, regions)
    assert start.keys == ("category:boots",) and start.not_before is not None and end.not_before > start.not_before


def test_every_event_type_of_the_vocabulary_has_a_planner() -> None:
    assert set(PLANNERS) == ev.EVENT_TYPES
    order = ev.OrderPlaced("o-1", "us", ev.OrderTotal("9.90", "USD"), [ev.LineQuantity("S-1", 1)])
    assert plan(_event("order.placed", ["us"], order), load_regions()) == []


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"type": "price.renamed", "regions": ["us"], "payload": {}}, "unknown event type 'price.renamed'"),
        ({"regions": ["us"], "payload": {}}, "unknown event type None"),
        ({"type": "price.changed", "regions": ["us"], "payload": {"sku": "S-1"}}, "malformed price.changed"),
        ({"type": "stock.changed", "regions": ["us"], "payload": {"sku": 7}}, "malformed stock.changed"),
        ({"type": "product.updated", "regions": ["us"]}, "malformed product.updated"),
    ],
)
def test_an_event_no_planner_can_read_is_refused_not_planned_as_nothing(event: dict[str, object], reason: str) -> None:
    with pytest.raises(UnplannableEvent, match=reason):
        plan(event, load_regions())

"""The planner: which keys in which regions each event type makes stale; an event it cannot read is refused."""

from __future__ import annotations

import pytest

from backends.common.outbox import EVENT_TYPES
from cache.invalidation.planner import PLANNERS, UnplannableEvent, plan
from edge_config import load_regions


def test_only_visible_changes_purge() -> None:
    regions = load_regions()
    event = {"type": "inventory.changed", "regions": ["eu"], "payload": {"product_id": 4, "visible_change": False}}
    assert plan(event, regions) == []
    event["payload"]["visible_change"] = True  # type: ignore[index]
    [purge] = plan(event, regions)
    assert purge.keys == ("product:4",) and purge.regions == ("eu",)
    price = {"type": "price.changed", "regions": ["apac"], "payload": {"sku": "S-1", "product_id": 9}}
    assert plan(price, regions)[0].keys == ("price:S-1", "product:9")
    nav = {"type": "content.published", "regions": ["*"], "payload": {"entry_id": 3, "type": "navigation"}}
    [purge] = plan(nav, regions)
    assert set(purge.keys) == {"cms:3", "nav"} and purge.regions == ("us", "eu", "apac")
    promo = {
        "type": "promotion.scheduled",
        "regions": ["us"],
        "payload": {
            "scope": "category",
            "target": "boots",
            "starts_at": "2030-01-01T00:00:00+00:00",
            "ends_at": "2030-01-02T00:00:00+00:00",
        },
    }
    start, end = plan(promo, regions)
    assert start.keys == ("category:boots",) and start.not_before is not None and end.not_before > start.not_before


def test_every_event_type_of_the_vocabulary_has_a_planner() -> None:
    assert set(PLANNERS) == EVENT_TYPES
    assert plan({"type": "order.placed", "regions": ["us"], "payload": {}}, load_regions()) == []


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"type": "price.renamed", "regions": ["us"], "payload": {}}, "unknown event type 'price.renamed'"),
        ({"regions": ["us"], "payload": {}}, "unknown event type None"),
        ({"type": "price.changed", "regions": ["us"], "payload": {"sku": "S-1"}}, "malformed price.changed"),
        ({"type": "product.updated", "regions": ["us"]}, "malformed product.updated"),
    ],
)
def test_an_event_no_planner_can_read_is_refused_not_planned_as_nothing(event: dict[str, object], reason: str) -> None:
    with pytest.raises(UnplannableEvent, match=reason):
        plan(event, load_regions())

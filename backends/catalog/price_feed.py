"""Keeps the catalog's price index (listing price facets and sorts) in step with pricing, from pricing's outbox.

For each product a `price.changed` event touches, the feed asks pricing for the shelf prices (sale, else list)
of all the product's variants in that region and stores the lowest, with the cursor move, in one transaction:
a batch seen twice changes nothing. The index is the shelf price, as seeded; promotions are not in it (a
listing sorts by what the product costs before any promotion, and shows pricing's answer). When a product's
indexed price moves, the catalog writes `product.updated` (field `price_index`), so listings that were
purged by the price change and rendered again before the index moved are purged once more.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

import httpx
from litestar import Litestar
from sqlalchemy import select

from backends.catalog.models import CatalogEvent, Category, FeedCursor, PriceIndex, Product, Variant
from backends.catalog.settings import CatalogSettings
from backends.common import add_event
from backends.common.events import InvalidEvent, PriceChanged, parse
from backends.common.money import parse_amount

SOURCE = "pricing"
_log = logging.getLogger(__name__)


async def follow_pricing(app: Litestar) -> None:
    settings: CatalogSettings = app.state.settings
    if not settings.pricing_url:
        return
    headers = {"Authorization": f"Bearer {settings.admin_token}"}
    timeout = httpx.Timeout(5.0, read=settings.stock_wait + 5.0)
    async with httpx.AsyncClient(base_url=settings.pricing_url, headers=headers, timeout=timeout) as client:
        failing = False
        while True:
            try:
                await apply_price_batch(app, client, wait=settings.stock_wait)
                failing = False
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                if not failing:  # once per outage, not once per poll
                    _log.warning("cannot follow pricing at %s: %s", settings.pricing_url, exc)
                failing = True
                await asyncio.sleep(settings.stock_retry)


async def apply_price_batch(app: Litestar, client: httpx.AsyncClient, *, wait: float = 0.0) -> int:
    """Apply the next batch of pricing's events (waiting up to `wait` seconds for one); how many."""
    async with app.state.db.sessionmaker() as session:
        cursor = await session.get(FeedCursor, SOURCE)
        after = cursor.last_seq if cursor else 0
    response = await client.get("/admin/outbox", params={"after": after, "limit": 200, "wait": wait})
    response.raise_for_status()
    events = response.json()["events"]
    if not events:
        return 0
    touched: dict[str, set[int]] = defaultdict(set)  # region -> product ids
    for event in events:
        if event["type"] != "price.changed":
            continue
        try:
            change = parse(PriceChanged, event["payload"])
        except InvalidEvent as exc:  # one unreadable event must not stop the feed: skipped, said loudly
            _log.error("skipped pricing event %s: %s", event.get("id"), exc)
            continue
        touched[change.region].add(change.product_id)
    shelf = {region: await _shelf_prices(app, client, region, ids) for region, ids in touched.items()}
    async with app.state.db.write() as session:
        cursor = await session.get(FeedCursor, SOURCE, with_for_update=True)
        if cursor is None:
            cursor = FeedCursor(source=SOURCE, last_seq=0)
            session.add(cursor)
        if events[-1]["seq"] <= cursor.last_seq:
            return 0  # another worker applied this batch already
        for region, prices in shelf.items():
            for product_id, amount in prices.items():
                await _set_index(session, product_id, region, amount)
        cursor.last_seq = events[-1]["seq"]
    return len(events)


async def _shelf_prices(app: Litestar, client: httpx.AsyncClient, region: str, product_ids: set[int]) -> dict[int, int]:
    """The lowest shelf price of each product's variants in `region`, from pricing (products it prices)."""
    async with app.state.db.sessionmaker() as session:
        rows = (
            await session.execute(select(Variant.sku, Variant.product_id).where(Variant.product_id.in_(product_ids)))
        ).all()
    product_of = {sku: product_id for sku, product_id in rows}
    lowest: dict[int, int] = {}
    skus = sorted(product_of)
    for start in range(0, len(skus), 100):
        response = await client.get("/prices", params={"region": region, "skus": ",".join(skus[start : start + 100])})
        response.raise_for_status()
        for line in response.json()["prices"]:
            amount = _shelf(line)
            product_id = product_of[line["sku"]]
            lowest[product_id] = min(lowest.get(product_id, amount), amount)
    return lowest


def _shelf(line: dict[str, Any]) -> int:
    money = line["sale"] or line["list"]
    return parse_amount(money["amount"], money["currency"])


async def _set_index(session: Any, product_id: int, region: str, amount: int) -> None:
    row = await session.get(PriceIndex, (product_id, region), with_for_update=True)
    if row is not None and row.amount_minor == amount:
        return
    if row is None:
        session.add(PriceIndex(product_id=product_id, region=region, amount_minor=amount))
    else:
        row.amount_minor = amount
    found = (
        await session.execute(
            select(Product.slug, Product.version, Category.slug)
            .join(Category, Category.id == Product.category_id)
            .where(Product.id == product_id)
        )
    ).first()
    if found is None:
        return
    slug, version, category = found
    add_event(
        session,
        CatalogEvent,
        "product.updated",
        [region],
        {"product_id": product_id, "slug": slug, "category": category, "fields": ["price_index"], "version": version},
    )

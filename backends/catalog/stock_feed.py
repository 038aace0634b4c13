"""Keeps the catalog's displayed stock in step with checkout's sellable stock, from checkout's outbox.

Each batch of `inventory.changed` events is applied with the cursor move in one transaction, and
each event carries the absolute stock, so a batch seen twice changes nothing. The catalog writes its
own `inventory.changed` as it applies them, which is what the invalidator purges on: pages are purged
only once the catalog can serve the new stock.

The feed long-polls checkout's outbox (`wait`): checkout answers as soon as a change commits, and an idle
shop costs one request every `stock_wait` seconds. After a failure it waits `stock_retry` before asking again.
"""

from __future__ import annotations

import asyncio
import logging

import httpx
from litestar import Litestar

from backends.catalog.models import FeedCursor
from backends.catalog.service import set_stock
from backends.catalog.settings import CatalogSettings
from backends.common.events import InvalidEvent, StockChanged, parse

SOURCE = "checkout"
_log = logging.getLogger(__name__)


async def follow_checkout_stock(app: Litestar) -> None:
    settings: CatalogSettings = app.state.settings
    if not settings.checkout_url:
        return
    headers = {"Authorization": f"Bearer {settings.admin_token}"}
    timeout = httpx.Timeout(5.0, read=settings.stock_wait + 5.0)
    async with httpx.AsyncClient(base_url=settings.checkout_url, headers=headers, timeout=timeout) as client:
        failing = False
        while True:
            try:
                await apply_batch(app, client, wait=settings.stock_wait)
                failing = False
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                if not failing:  # once per outage, not once per poll
                    _log.warning("cannot follow checkout's stock at %s: %s", settings.checkout_url, exc)
                failing = True
                await asyncio.sleep(settings.stock_retry)


async def apply_batch(app: Litestar, client: httpx.AsyncClient, *, wait: float = 0.0) -> int:
    """Apply the next batch of checkout's events (waiting up to `wait` seconds for one); how many."""
    settings: CatalogSettings = app.state.settings
    async with app.state.db.sessionmaker() as session:
        cursor = await session.get(FeedCursor, SOURCE)
        after = cursor.last_seq if cursor else 0
    response = await client.get("/admin/outbox", params={"after": after, "limit": 200, "wait": wait})
    response.raise_for_status()
    events = response.json()["events"]
    if not events:
        return 0
    async with app.state.db.write() as session:
        cursor = await session.get(FeedCursor, SOURCE, with_for_update=True)
        if cursor is None:
            cursor = FeedCursor(source=SOURCE, last_seq=0)
            session.add(cursor)
        for event in events:
            if event["seq"] <= cursor.last_seq:
                continue  # another worker applied it already
            if event["type"] == "stock.changed":
                try:
                    stock = parse(StockChanged, event["payload"])
                except InvalidEvent as exc:  # one unreadable event must not stop the feed: skipped, said loudly
                    _log.error("skipped checkout event %s: %s", event.get("id"), exc)
                    cursor.last_seq = event["seq"]
                    continue
                await set_stock(
                    session,
                    sku=stock.sku,
                    region=stock.region,
                    quantity=stock.on_hand,
                    low_threshold=settings.low_stock_threshold,
                )
            cursor.last_seq = event["seq"]
    return len(events)

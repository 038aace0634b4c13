"""Every service's migrations: data written at the previous revision survives the upgrade, the models and the
migrations agree, concurrent upgrades take turns, and a database made by create_all is adopted."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, inspect, select, text

from backends.catalog.models import (
    CatalogEvent,
    Category,
    FeedCursor,
    Inventory,
    PriceIndex,
    Product,
    ProductAttribute,
    Variant,
)
from backends.checkout.models import (
    Cart,
    CartLine,
    Charge,
    CheckoutEvent,
    FunnelStep,
    IdempotencyKey,
    Order,
    Reservation,
    Stock,
)
from backends.cms.models import CmsEvent, Entry, EntryVersion
from backends.common import Database, utcnow
from backends.common.migrations import BASELINE, current, drift, heads, upgrade
from backends.pricing.models import Price, PriceBook, PricingEvent, Promotion
from backends.seed.demo_data import build
from cache.invalidation.log import OutboxCursor, PurgeDelivery, PurgeRequest
from stack.migrations import SCHEMAS, upgrade_all
from stack.settings import Settings

PREVIOUS = BASELINE  # the revision of the last release: what a shop upgrading today is at


def _event(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "regions": ["*"], "payload": payload}  # its seq and id as the outbox gives them


def _rows(settings: Settings) -> dict[str, list[tuple[Any, list[dict[str, Any]]]]]:
    """A small shop with something in every table of every service: products, prices, CMS entries, carts, orders,
    purges. Written with plain INSERTs, which the previous revision's tables take as they are."""
    now = utcnow()
    data = build(products=12, seed=3, regions=settings.regions, photos=None, now=now)
    sku = data.variants[0]["sku"]
    entries = list(enumerate(data.entries, 1))
    cart = {"id": "cart-token-1", "region": "us", "status": "ordered", "email": "a@example.com", "version": 4}
    cart |= {"address": {"country": "US", "state": "CA"}, "shipping_method": "standard", "promo_code": "WELCOME10"}
    order = {"id": "ord-1", "cart_id": "cart-token-1", "region": "us", "currency": "USD", "email": "a@example.com"}
    order |= {"address": {"country": "US"}, "summary": {"lines": [{"sku": sku, "quantity": 2}], "total": "20.98"}}
    order |= {"total_minor": 2098, "status": "placed", "card_last4": "4242", "payment_ref": "ch_1"}
    return {
        "catalog": [
            (Category, data.categories),
            (Product, data.products),
            (ProductAttribute, data.attributes),
            (Variant, data.variants),
            (Inventory, data.inventory),
            (PriceIndex, data.price_index),
            (CatalogEvent, [_event("product.changed", {"product_id": 1})]),
            (FeedCursor, [{"source": "checkout", "last_seq": 1}]),
        ],
        "pricing": [
            (PriceBook, data.price_books),
            (Price, data.prices),
            (Promotion, data.promotions),
            (PricingEvent, [_event("price.changed", {"sku": sku})]),
        ],
        "cms": [
            (Entry, [{"id": i, "type": e["type"], "key": e["key"], "published_version": 1, "published_at": now}
                     for i, e in entries]),
            (EntryVersion, [{"entry_id": i, "version": 1, "fields": e["fields"]} for i, e in entries]),
            (CmsEvent, [_event("cms.published", {"type": "page", "key": "about"})]),
        ],
        "checkout": [
            (Stock, [{"region": "us", "sku": sku, "on_hand": 10, "reserved": 2}]),
            (Cart, [cart | {"expires_at": now + timedelta(days=30)},
                    cart | {"id": "cart-token-2", "region": "eu", "status": "open", "promo_code": None,
                            "expires_at": now + timedelta(days=1)}]),
            (CartLine, [{"cart_id": "cart-token-1", "sku": sku, "quantity": 2},
                        {"cart_id": "cart-token-2", "sku": sku, "quantity": 1}]),
            (Reservation, [{"id": 1, "cart_id": "cart-token-1", "order_id": "ord-1", "region": "us", "sku": sku,
                            "quantity": 2, "status": "committed", "expires_at": now}]),
            (Order, [order]),
            (IdempotencyKey, [{"key": "key-1", "request_hash": "h" * 64, "status": "done", "order_id": "ord-1",
                               "response_status": 201, "response_body": {"id": "ord-1"}}]),
            (Charge, [{"reference": "ch_1", "amount_minor": 2098, "currency": "USD", "card_last4": "4242",
                       "outcome": "succeeded"}]),
            (FunnelStep, [{"cart_id": "cart-token-1", "step": s, "region": "us"} for s in ("cart", "placed")]),
            (CheckoutEvent, [_event("stock.changed", {"sku": sku, "region": "us", "available": 8})]),
        ],
        "invalidator": [
            (PurgeRequest, [{"id": "p-1", "keys": ["nav"], "regions": ["eu"], "source": "api", "dedupe_key": "e-1"}]),
            (PurgeDelivery, [{"id": 1, "purge_id": "p-1", "region": "eu", "edge": "origin", "followup": False,
                              "acked_at": now, "removed": 3, "attempts": 1},
                             {"id": 2, "purge_id": "p-1", "region": "eu", "edge": "origin", "followup": True,
                              "acked_at": None, "removed": None, "attempts": 0}]),
            (OutboxCursor, [{"source": "cms", "last_seq": 1}]),
        ],
    }  # fmt: skip


def _url(settings: Settings, name: str) -> str:
    return getattr(settings, name).database_url


async def _fill(settings: Settings) -> None:
    for name, tables in _rows(settings).items():
        db = Database.connect(_url(settings, name))
        try:
            async with db.sessionmaker() as session, session.begin():
                for model, rows in tables:
                    await session.execute(insert(model.__table__), rows)
        finally:
            await db.dispose()


async def _snapshot(settings: Settings, name: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table of the service the database has, as column: value over the columns it has (a later
    revision's table or column is not there yet), in primary-key order."""
    db = Database.connect(_url(settings, name))
    try:
        async with db.sessionmaker() as session:
            present = await session.run_sync(lambda s: _columns(inspect(s.connection())))
            return {
                table.name: [
                    dict(row._mapping)
                    for row in await session.execute(
                        select(*(c for c in table.columns if c.name in present[table.name])).order_by(
                            *table.primary_key
                        )
                    )
                ]
                for table in SCHEMAS[name].metadata.sorted_tables
                if table.name in present
            }
    finally:
        await db.dispose()


def _columns(inspector: Any) -> dict[str, set[str]]:
    return {table: {c["name"] for c in inspector.get_columns(table)} for table in inspector.get_table_names()}


def _unchanged(before: dict[str, list[dict[str, Any]]], after: dict[str, list[dict[str, Any]]]) -> bool:
    """The rows `before` holds are all still there, and a column added since is empty (NULL) in every one of them."""
    for table, rows in before.items():
        old = [{k: row[k] for k in rows[0]} for row in after[table]] if rows else after[table]
        added = {k for row in after[table] for k in row} - {k for row in rows for k in row}
        if old != rows or any(row[k] is not None for row in after[table] for k in added):
            return False
    return True


async def test_data_written_at_the_previous_revision_is_intact_after_the_upgrade(settings: Settings) -> None:
    await upgrade_all(settings, revision=PREVIOUS)
    await _fill(settings)
    before = {name: await _snapshot(settings, name) for name in SCHEMAS}
    for name, schema in SCHEMAS.items():
        assert await current(schema, _url(settings, name)) == PREVIOUS
        assert await drift(schema, _url(settings, name)), f"{name}: the previous revision should differ from the models"
        assert all(before[name].values()), f"{name}: every table should hold rows before the upgrade"
    assert len(before["checkout"]["checkout_orders"]) == 1 and len(before["checkout"]["checkout_carts"]) == 2
    assert len(before["cms"]["cms_entries"]) == len(before["cms"]["cms_entry_versions"]) > 0
    assert len(before["pricing"]["pricing_prices"]) > 12

    results = await upgrade_all(settings)

    assert [(r.service, r.before, r.stamped, r.after) for r in results] == [
        (name, PREVIOUS, False, heads(schema)[0]) for name, schema in SCHEMAS.items()
    ]
    for name, schema in SCHEMAS.items():
        after = await _snapshot(settings, name)
        assert _unchanged(before[name], after), f"{name}: rows changed in the upgrade"
        assert all(rows == [] for t, rows in after.items() if t not in before[name]), f"{name}: new tables are empty"
        assert await drift(schema, _url(settings, name)) == []
    # The upgraded databases still take writes where the old rows left off (sequences, unique keys, triggers).
    db = Database.connect(_url(settings, "checkout"))
    try:
        async with db.sessionmaker() as session, session.begin():
            await session.execute(insert(CheckoutEvent.__table__), [_event("stock.changed", {})])
            assert await session.scalar(select(CheckoutEvent.seq).order_by(CheckoutEvent.seq.desc()).limit(1)) == 2
    finally:
        await db.dispose()


async def test_after_upgrade_head_autogenerate_finds_nothing_for_any_service(settings: Settings) -> None:
    results = await upgrade_all(settings)
    assert {r.service: (r.before, r.after) for r in results} == {
        name: (None, heads(schema)[0]) for name, schema in SCHEMAS.items()
    }
    for name, schema in SCHEMAS.items():
        assert await drift(schema, _url(settings, name)) == [], name
    again = await upgrade_all(settings)  # at head: nothing to do
    assert all(r.before == r.after for r in again)


async def test_concurrent_upgrades_take_turns(settings: Settings) -> None:
    """Several workers of one service starting at once: one builds the schema, the others find it built."""
    schema, url = SCHEMAS["checkout"], _url(settings, "checkout")
    results = await asyncio.gather(*(upgrade(schema, url) for _ in range(3)))
    assert sorted((r.before or "") for r in results) == ["", heads(schema)[0], heads(schema)[0]]
    assert await drift(schema, url) == []


async def test_a_database_made_by_create_all_is_stamped_with_the_baseline_then_upgraded(settings: Settings) -> None:
    # The baseline is what create_all made (its tables and indexes, the same DDL); without its version table a
    # database at the baseline is exactly one the previous release built.
    await upgrade_all(settings, revision=BASELINE)
    await _fill(settings)
    for name, schema in SCHEMAS.items():
        db = Database.connect(_url(settings, name))
        try:
            async with db.engine.begin() as conn:
                await conn.execute(text(f"DROP TABLE {schema.version_table}"))
        finally:
            await db.dispose()
    before = {name: await _snapshot(settings, name) for name in SCHEMAS}

    results = await upgrade_all(settings)

    assert all(r.stamped and r.before is None and r.after == heads(SCHEMAS[r.service])[0] for r in results)
    for name, schema in SCHEMAS.items():
        after = await _snapshot(settings, name)
        assert _unchanged(before[name], after)
        assert await drift(schema, _url(settings, name)) == []


async def test_seed_reset_drops_the_data_and_rebuilds_every_schema_at_head(settings: Settings) -> None:
    from backends.seed import seed_all

    await seed_all(settings, products=5, seed=1, images=0)
    await _fill_checkout_order(settings)
    assert len((await _snapshot(settings, "checkout"))["checkout_orders"]) == 1

    report = await seed_all(settings, products=5, seed=1, images=0, reset=True)

    assert report.seeded
    assert (await _snapshot(settings, "checkout"))["checkout_orders"] == []
    for name in ("catalog", "pricing", "cms", "checkout"):
        schema = SCHEMAS[name]
        assert await current(schema, _url(settings, name)) == heads(schema)[0]
        assert await drift(schema, _url(settings, name)) == []


async def _fill_checkout_order(settings: Settings) -> None:
    db = Database.connect(_url(settings, "checkout"))
    try:
        async with db.sessionmaker() as session, session.begin():
            for model, rows in _rows(settings)["checkout"]:
                if model is Order:
                    await session.execute(insert(model.__table__), rows)
    finally:
        await db.dispose()

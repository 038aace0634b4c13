"""Writes the demo data into the catalog, pricing, CMS and checkout databases (directly, without events)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Insert, MetaData, func, insert, select, text

from backends.catalog.migrations import SCHEMA as CATALOG_SCHEMA
from backends.catalog.models import (
    CatalogBase,
    Category,
    Inventory,
    PriceIndex,
    Product,
    ProductAttribute,
    Variant,
)
from backends.checkout.migrations import SCHEMA as CHECKOUT_SCHEMA
from backends.checkout.models import CheckoutBase, Stock
from backends.cms.content_types import validate_fields
from backends.cms.migrations import SCHEMA as CMS_SCHEMA
from backends.cms.models import Entry, EntryVersion
from backends.common import Database, utcnow
from backends.common.migrations import reset as reset_schema
from backends.common.migrations import upgrade
from backends.pricing.migrations import SCHEMA as PRICING_SCHEMA
from backends.pricing.models import Price, PriceBook, PricingBase, Promotion
from backends.seed.demo_data import build
from backends.seed.images import write_originals
from stack.settings import Settings

DEMO_IMAGES = 24


@dataclass(frozen=True, slots=True)
class SeedReport:
    seeded: bool
    products: int
    variants: int
    entries: int
    images: int
    seconds: float


async def _is_empty(db: Database, model: type) -> bool:
    async with db.sessionmaker() as session:
        return not await session.scalar(select(func.count()).select_from(model))


def _rows(model: type[Any]) -> Insert:
    """A Core INSERT for many rows: one executemany. The ORM's bulk insert splits the rows into a statement
    per run of rows that leave different columns unset (a price with or without a sale), 17,000 at 10,000
    products."""
    return insert(model.__table__)


async def _analyze(db: Database, metadata: MetaData) -> None:
    """Give PostgreSQL's planner statistics for what was just loaded (autovacuum may be off, or not yet round).

    Without them it plans a 10,000-product catalog as if it were empty (sequential scans for a page of ids).
    SQLite is left without: its planner's defaults suit the catalog's queries better than its statistics.
    """
    if db.dialect != "postgresql":
        return
    names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    async with db.engine.begin() as conn:
        await conn.execute(text(f"ANALYZE {names}"))


async def seed_all(
    settings: Settings, *, products: int = 300, seed: int = 42, reset: bool = False, images: int = DEMO_IMAGES
) -> SeedReport:
    """Seed each of the databases that is empty (all of them with `reset`); returns what was written.

    Each database is checked on its own, so a seed interrupted half-way completes on the next run.
    """
    started = time.perf_counter()
    catalog = Database.connect(settings.catalog.database_url)
    pricing = Database.connect(settings.pricing.database_url)
    cms = Database.connect(settings.cms.database_url)
    checkout = Database.connect(settings.checkout.database_url)
    try:
        # Each schema at its head revision (with `reset`: dropped, data and all, then built again).
        for schema, service in (
            (CATALOG_SCHEMA, settings.catalog),
            (PRICING_SCHEMA, settings.pricing),
            (CMS_SCHEMA, settings.cms),
            (CHECKOUT_SCHEMA, settings.checkout),
        ):
            await (reset_schema if reset else upgrade)(schema, service.database_url)
        empty = {
            "pricing": await _is_empty(pricing, PriceBook),
            "cms": await _is_empty(cms, Entry),
            "catalog": await _is_empty(catalog, Product),
            "checkout": await _is_empty(checkout, Stock),
        }
        if not any(empty.values()):
            return SeedReport(False, 0, 0, 0, 0, time.perf_counter() - started)

        originals = write_originals(settings.data_dir / "images", images, seed)
        data = build(products=products, seed=seed, regions=settings.regions, images=originals, now=utcnow())

        if empty["pricing"]:
            async with pricing.sessionmaker() as session, session.begin():
                await session.execute(_rows(PriceBook), data.price_books)
                await session.execute(_rows(Price), data.prices)
                await session.execute(_rows(Promotion), data.promotions)
            await _analyze(pricing, PricingBase.metadata)

        now = utcnow()
        async with cms.sessionmaker() as session, session.begin():
            for item in data.entries if empty["cms"] else ():
                entry = Entry(
                    type=item["type"],
                    key=item["key"],
                    latest_version=1,
                    published_version=1,
                    published_at=now,
                )
                session.add(entry)
                await session.flush()
                session.add(
                    EntryVersion(entry_id=entry.id, version=1, fields=validate_fields(item["type"], item["fields"]))
                )

        if empty["catalog"]:
            async with catalog.sessionmaker() as session, session.begin():
                for model, rows in (
                    (Category, data.categories),
                    (Product, data.products),
                    (ProductAttribute, data.attributes),
                    (Variant, data.variants),
                    (Inventory, data.inventory),
                    (PriceIndex, data.price_index),
                ):
                    await session.execute(_rows(model), rows)
            await _analyze(catalog, CatalogBase.metadata)
        if empty["checkout"]:
            # Checkout's sellable stock starts equal to what the catalog shows; afterwards the catalog follows it.
            async with checkout.sessionmaker() as session, session.begin():
                await session.execute(
                    _rows(Stock),
                    [{"region": i["region"], "sku": i["sku"], "on_hand": i["quantity"]} for i in data.inventory],
                )
            await _analyze(checkout, CheckoutBase.metadata)
        return SeedReport(
            True,
            len(data.products),
            len(data.variants),
            len(data.entries),
            len(originals),
            time.perf_counter() - started,
        )
    finally:
        for db in (catalog, pricing, cms, checkout):
            await db.dispose()

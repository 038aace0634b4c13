"""Writes the demo data into the catalog, pricing, CMS and checkout databases (directly, without events)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
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
from backends.seed.pictures import VIEWS, write_hero, write_originals
from stack.settings import Settings


@dataclass(frozen=True, slots=True)
class SeedReport:
    seeded: bool
    products: int
    variants: int
    entries: int
    images: int
    seconds: float


@dataclass(slots=True)
class _Photographer:
    """Draws each (kind, colour) look the first time a product needs it, at most `cap` looks (None: every one).

    A cap is for tests and benchmarks that need pictures but not the seconds it takes to draw every look:
    past it, a product shows a drawn look of its own kind if there is one, else the first look drawn.
    """

    directory: Path
    cap: int | None
    drawn: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)

    def __call__(self, kind: str, colour: str) -> list[dict[str, Any]]:
        look = (kind, colour)
        if look in self.drawn:
            return self.drawn[look]
        if self.cap is not None and len(self.drawn) >= self.cap:
            same_kind = (refs for (drawn_kind, _), refs in self.drawn.items() if drawn_kind == kind)
            return next(same_kind, next(iter(self.drawn.values()), []))
        refs = write_originals(self.directory, [look])[look]
        self.drawn[look] = [{**ref, "view": view} for ref, view in zip(refs, VIEWS, strict=True)]
        return self.drawn[look]

    @property
    def originals(self) -> int:
        return sum(len(refs) for refs in self.drawn.values())


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
    settings: Settings, *, products: int = 300, seed: int = 42, reset: bool = False, images: int | None = None
) -> SeedReport:
    """Seed each of the databases that is empty (all of them with `reset`); returns what was written.

    Each database is checked on its own, so a seed interrupted half-way completes on the next run. Every
    product look is drawn unless `images` caps how many (0: products without pictures).
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

        photos = _Photographer(settings.data_dir / "images", images)
        hero = str(write_hero(settings.data_dir / "images")["hash"]) if images != 0 else ""
        data = build(products=products, seed=seed, regions=settings.regions, photos=photos, now=utcnow(), hero=hero)

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
            photos.originals + bool(hero),
            time.perf_counter() - started,
        )
    finally:
        for db in (catalog, pricing, cms, checkout):
            await db.dispose()

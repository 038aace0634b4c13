"""Times every catalog read a page makes, in-process against a seeded shop: `python -m loadtests.catalog_bench`."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import select

from backends.catalog import search as _search  # noqa: F401 - registers the full-text DDL
from backends.catalog.app import create_app
from backends.catalog.models import Category, Product
from backends.common import Database
from backends.seed import seed_all
from stack.settings import Settings

PAGE_SIZE = 24  # what the origin's listing pages ask for
REGIONS = ("us", "eu", "apac")
SEARCHES = ("jacket", "boots", "wool", "lamp", "tent", "linen shirt", "backpack", "canvas")
Params = dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Shop:
    tops: list[str]
    leaves: list[str]
    slugs: list[str]
    brands: list[str]


def calls(shop: Shop) -> dict[str, Callable[[int], tuple[str, Params]]]:
    """Each call type the origin makes (or a shopper's filter causes), varied by iteration `i`."""

    def listing(i: int, **extra: Any) -> tuple[str, Params]:
        return "/products", {"region": REGIONS[i % 3], "page_size": PAGE_SIZE, **extra}

    def top(i: int) -> str:
        return shop.tops[i % len(shop.tops)]

    def slug(i: int) -> str:
        return shop.slugs[i % len(shop.slugs)]

    return {
        "categories": lambda i: ("/categories", {}),
        "home featured": lambda i: listing(i, page_size=8, facets="false", in_stock="true", sort="newest"),
        "all products": lambda i: listing(i),
        "category top": lambda i: listing(i, category=top(i)),
        "category leaf": lambda i: listing(i, category=shop.leaves[i % len(shop.leaves)]),
        "category page 2": lambda i: listing(i, category=top(i), page=2),
        "category price_asc": lambda i: listing(i, category=top(i), sort="price_asc"),
        "category price_desc": lambda i: listing(i, category=top(i), sort="price_desc"),
        "category newest": lambda i: listing(i, category=top(i), sort="newest"),
        "category in_stock": lambda i: listing(i, category=top(i), in_stock="true"),
        "category attr": lambda i: listing(i, category=top(i), **{"attr.colour": ["navy", "olive"]}),
        "category brand": lambda i: listing(i, category=top(i), brand=shop.brands[i % len(shop.brands)]),
        "category price range": lambda i: listing(i, category=top(i), min_price="30", max_price="150"),
        "category all filters": lambda i: listing(
            i,
            category=top(i),
            in_stock="true",
            brand=shop.brands[i % len(shop.brands)],
            min_price="20",
            max_price="300",
            sort="price_asc",
            **{"attr.material": ["wool", "cotton", "leather"]},
        ),
        "search": lambda i: ("/search", listing(i, q=SEARCHES[i % len(SEARCHES)])[1]),
        "search price_asc": lambda i: ("/search", listing(i, q=SEARCHES[i % len(SEARCHES)], sort="price_asc")[1]),
        "search in category": lambda i: ("/search", listing(i, q="wool", category=top(i))[1]),
        # Every demo description says "Made to last": the worst case, a search matching the whole catalog.
        "search everything": lambda i: ("/search", listing(i, q="made")[1]),
        "product": lambda i: (f"/products/{slug(i)}", {"region": REGIONS[i % 3]}),
        "related": lambda i: (f"/products/{slug(i)}/related", {"region": REGIONS[i % 3], "limit": 4}),
    }


async def _prepare(settings: Settings, products: int) -> Shop:
    """Seed the shop if its databases are empty (migrating them to head first); sample it."""
    report = await seed_all(settings, products=products, seed=42, images=3)
    if report.seeded:
        print(f"seeded {report.products} products in {report.seconds:.1f} s", file=sys.stderr)
    db = Database.connect(settings.catalog.database_url)
    try:
        async with db.sessionmaker() as session:
            cats = (await session.execute(select(Category.slug, Category.parent_id))).all()
            slugs = list((await session.scalars(select(Product.slug).order_by(Product.id))).all())
            brands = sorted(set((await session.scalars(select(Product.brand).distinct())).all()))
    finally:
        await db.dispose()
    rng = random.Random(7)
    return Shop(
        tops=[s for s, parent in cats if parent is None],
        leaves=[s for s, parent in cats if parent is not None],
        slugs=rng.sample(slugs, k=min(200, len(slugs))),
        brands=brands,
    )


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def bench(settings: Settings, products: int, repeat: int, seconds: float, only: str) -> list[tuple[str, ...]]:
    shop = await _prepare(settings, products)
    # The stock feed would poll checkout over the network; nothing here may.
    app = create_app(dataclasses.replace(settings.catalog, checkout_url=""))
    rows = []
    deadline = time.monotonic() + seconds
    async with AsyncTestClient(app=app) as client:
        for name, make in calls(shop).items():
            if only and only not in name:
                continue
            path, params = make(0)
            warm = await client.get(path, params=params)  # first use compiles statements and reads pages in
            if warm.status_code != 200:
                raise RuntimeError(f"{name}: HTTP {warm.status_code} {warm.text[:300]}")
            times: list[float] = []
            cpu: list[float] = []  # this process's CPU (SQLite's thread included): steadier on a shared machine
            for i in range(repeat):
                if time.monotonic() > deadline:
                    break
                path, params = make(i)
                started, started_cpu = time.perf_counter(), time.process_time()
                response = await client.get(path, params=params)
                times.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
                if response.status_code != 200:
                    raise RuntimeError(f"{name}: HTTP {response.status_code} {response.text[:300]}")
            if times:
                median, p95 = statistics.median(times), _pct(times, 0.95)
                row = (name, str(len(times)), f"{median:.1f}", f"{p95:.1f}", f"{max(times):.1f}")
                rows.append((*row, f"{statistics.median(cpu):.1f}"))
                print(f"{name:<22} n={len(times):<3} median {median:7.1f} ms  p95 {p95:7.1f} ms", file=sys.stderr)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20, help="timed calls per call type")
    parser.add_argument("--seconds", type=float, default=120.0, help="stop timing after this long")
    parser.add_argument("--only", default="", help="only call types whose name contains this")
    parser.add_argument(
        "--data-dir", type=Path, help="reuse (or seed once) this data dir; default: a fresh temporary one"
    )
    parser.add_argument("--database-url", default="", help="e.g. postgresql+asyncpg://postgres@127.0.0.1/bench")
    args = parser.parse_args(argv)
    logging.disable(logging.INFO)  # the app's per-request logging would swamp the table
    with tempfile.TemporaryDirectory(prefix="catalog-bench-") as tmp:
        env = {"STOREFRONT_DATA_DIR": str(args.data_dir or Path(tmp) / "var")}
        if args.database_url:
            env["STOREFRONT_DATABASE_URL"] = args.database_url
        settings = Settings.from_env(env)
        rows = asyncio.run(bench(settings, args.products, args.repeat, args.seconds, args.only))
    dialect = "postgresql" if args.database_url else "sqlite"
    print(f"\ncatalog reads at {args.products} products on {dialect} (ms, in-process, one at a time)\n")
    print("| call | n | median | p95 | max | CPU median (this process) |\n|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

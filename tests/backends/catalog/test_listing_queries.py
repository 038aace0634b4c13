"""Listing semantics the catalog's SQL must keep (facets, paged sorts, category paths) and its indexes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from backends.catalog import search as _search  # noqa: F401 - registers the full-text index and DDL
from backends.catalog.app import create_app
from stack.settings import Settings


@pytest.fixture
async def client(seeded: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(seeded.catalog)) as client:
        yield client


async def listing(client: AsyncTestClient[Any], **params: Any) -> dict[str, Any]:
    response = await client.get("/products", params={"region": "us", "page_size": 100, **params})
    assert response.status_code == 200, response.text
    return response.json()


async def test_each_facet_ignores_its_own_filter_and_only_that(client: AsyncTestClient[Any]) -> None:
    base = await listing(client, category="clothing")
    colour = base["facets"]["attributes"]["colour"][0]["value"]
    by_colour = await listing(client, category="clothing", **{"attr.colour": colour})
    assert by_colour["facets"]["attributes"]["colour"] == base["facets"]["attributes"]["colour"]
    assert sum(m["count"] for m in by_colour["facets"]["attributes"]["material"]) == by_colour["total"]
    assert sum(b["count"] for b in by_colour["facets"]["brand"]) == by_colour["total"]

    low, high = base["facets"]["price"]["min_minor"], base["facets"]["price"]["max_minor"]
    cheap = await listing(client, category="clothing", max_price=f"{(low + high) / 200:.2f}")
    assert 0 < cheap["total"] < base["total"]
    assert cheap["facets"]["price"] == base["facets"]["price"]
    assert sum(cheap["facets"]["availability"].values()) == cheap["total"]

    stocked = await listing(client, category="clothing", in_stock="true")
    assert stocked["facets"]["availability"] == base["facets"]["availability"]
    counts = base["facets"]["availability"]
    assert stocked["total"] == counts["in_stock"] + counts["low_stock"]
    assert sum(b["count"] for b in stocked["facets"]["brand"]) == stocked["total"]
    assert (await listing(client, category="clothing", in_stock="false"))["total"] == counts["sold_out"]


@pytest.mark.parametrize("sort", ["price_asc", "price_desc", "newest", "title", "featured"])
async def test_sorted_pages_list_every_product_once_in_order(client: AsyncTestClient[Any], sort: str) -> None:
    everything = await listing(client, category="clothing", sort=sort)
    paged: list[dict[str, Any]] = []
    for page in range(1, 20):
        items = (await listing(client, category="clothing", sort=sort, page=page, page_size=4))["items"]
        if not items:
            break
        paged += items
    assert [i["id"] for i in paged] == [i["id"] for i in everything["items"]]
    assert len({i["id"] for i in paged}) == everything["total"]
    prices = [i["price_hint_minor"] for i in paged]
    if sort == "price_asc":
        assert prices == sorted(prices)
    elif sort == "price_desc":
        assert prices == sorted(prices, reverse=True)
    elif sort == "title":
        assert [i["title"] for i in paged] == sorted(i["title"] for i in paged)


async def test_category_path_runs_from_the_root(client: AsyncTestClient[Any]) -> None:
    tree = (await client.get("/categories")).json()["categories"]
    parents = {child["slug"]: top["slug"] for top in tree for child in top["children"]}
    product = (await client.get("/products/3", params={"region": "us"})).json()
    assert [c["slug"] for c in product["category_path"]] == [parents[product["category"]], product["category"]]

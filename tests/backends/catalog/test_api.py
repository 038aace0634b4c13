"""The catalog API over HTTP (Litestar's test client), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from backends.catalog.app import create_app
from backends.catalog.models import CatalogEvent, Inventory
from backends.catalog.service import set_stock
from backends.common import Database
from stack.settings import Settings
from tests.conftest import ADMIN


@pytest.fixture
async def client(seeded: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(seeded.catalog)) as client:
        yield client


async def events(client: AsyncTestClient[Any]) -> list[dict[str, Any]]:
    response = await client.get("/admin/outbox", headers=ADMIN)
    assert response.status_code == 200
    return response.json()["events"]


async def test_health(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/healthz")
    assert response.json() == {"status": "ok", "service": "catalog"}


async def test_head_wherever_get_and_405_says_what_is_allowed(client: AsyncTestClient[Any]) -> None:
    for path in ("/healthz", "/categories", "/products?region=us"):
        head = await client.head(path)
        assert head.status_code == 200 and head.content == b"", path
    refused = await client.delete("/categories")
    assert refused.status_code == 405
    assert set(refused.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "OPTIONS"}
    assert refused.headers["content-type"].startswith("application/problem+json")


async def test_listing_pages_through_every_product_once(client: AsyncTestClient[Any]) -> None:
    seen: list[int] = []
    for page in (1, 2, 3):
        body = (await client.get("/products", params={"region": "us", "page": page, "page_size": 25})).json()
        assert body["total"] == 60
        seen += [item["id"] for item in body["items"]]
    assert sorted(seen) == list(range(1, 61))


async def test_category_includes_descendants_and_facets_count_them(client: AsyncTestClient[Any]) -> None:
    body = (await client.get("/products", params={"region": "eu", "category": "footwear", "page_size": 100})).json()
    assert body["total"] > 0
    assert {item["category"] for item in body["items"]} <= {"sneakers", "boots", "sandals"}
    assert sum(b["count"] for b in body["facets"]["brand"]) == body["total"]
    assert sum(body["facets"]["availability"].values()) == body["total"]


async def test_brand_facet_ignores_its_own_filter(client: AsyncTestClient[Any]) -> None:
    everything = (await client.get("/products", params={"region": "us"})).json()
    brand = everything["facets"]["brand"][0]["value"]
    filtered = (await client.get("/products", params={"region": "us", "brand": brand})).json()
    assert all(item["brand"] == brand for item in filtered["items"])
    assert filtered["facets"]["brand"] == everything["facets"]["brand"]


async def test_attribute_and_price_filters(client: AsyncTestClient[Any]) -> None:
    body = (await client.get("/products", params={"region": "us", "attr.colour": "navy", "page_size": 100})).json()
    detail = [(await client.get(f"/products/{i['id']}", params={"region": "us"})).json() for i in body["items"]]
    assert detail and all(d["attributes"]["colour"] == "navy" for d in detail)

    ranged = (
        await client.get(
            "/products", params={"region": "us", "min_price": "20.00", "max_price": "60.00", "page_size": 100}
        )
    ).json()
    assert ranged["items"] and all(2000 <= i["price_hint_minor"] <= 6000 for i in ranged["items"])


async def test_price_sort_orders_by_regional_price(client: AsyncTestClient[Any]) -> None:
    body = (await client.get("/products", params={"region": "apac", "sort": "price_desc", "page_size": 50})).json()
    prices = [i["price_hint_minor"] for i in body["items"]]
    assert prices == sorted(prices, reverse=True)


async def test_search_ranks_title_matches_and_handles_hostile_text(client: AsyncTestClient[Any]) -> None:
    body = (await client.get("/search", params={"region": "us", "q": "jacket"})).json()
    assert body["total"] > 0
    assert all("jacket" in i["title"].lower() or "jacket" in i["slug"] for i in body["items"][:3])

    prefix = (await client.get("/search", params={"region": "us", "q": "jack"})).json()
    assert prefix["total"] == body["total"]

    for hostile in ["'; DROP TABLE catalog_products; --", '"unbalanced', "NEAR(a b)", "* OR 1=1", "ü€😀", "   "]:
        response = await client.get("/search", params={"region": "us", "q": hostile})
        assert response.status_code == 200, hostile
    assert (await client.get("/products", params={"region": "us"})).json()["total"] == 60


async def test_many_by_ids_in_one_call(client: AsyncTestClient[Any]) -> None:
    body = (await client.get("/products", params={"region": "us", "ids": "5,3,999,3", "facets": "false"})).json()
    assert sorted(i["id"] for i in body["items"]) == [3, 5]


async def test_get_by_id_and_slug(client: AsyncTestClient[Any]) -> None:
    by_id = (await client.get("/products/7", params={"region": "eu"})).json()
    by_slug = (await client.get(f"/products/{by_id['slug']}", params={"region": "eu"})).json()
    assert by_slug == by_id
    assert by_id["variants"] and all("stock" in v for v in by_id["variants"])
    assert by_id["category_path"][-1]["slug"] == by_id["category"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/products", {"region": "us", "page": "-1"}, "page"),
        ("/products", {"region": "us", "page_size": "100000"}, "page_size"),
        ("/products", {"region": "us", "sort": "nonsense"}, "sort"),
        ("/products", {"region": "us", "q": "x" * 5000}, "q"),
        ("/products", {"region": "mars"}, "region"),
        ("/products", {"region": "us", "ids": "1,abc"}, "ids"),
        ("/products", {"region": "us", "min_price": "50", "max_price": "10"}, "min_price"),
        ("/products", {"region": "us", "min_price": "1e9"}, "min_price"),
        ("/products/Bad%20Ref!", {"region": "us"}, "ref"),
    ],
)
async def test_malformed_input_is_422_naming_the_field(
    client: AsyncTestClient[Any], path: str, params: dict[str, str], field: str
) -> None:
    response = await client.get(path, params=params)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in {p["name"] for p in response.json()["invalid-params"]}


async def test_unknown_things_are_404(client: AsyncTestClient[Any]) -> None:
    assert (await client.get("/products/99999", params={"region": "us"})).status_code == 404
    assert (await client.get("/products/no-such-thing", params={"region": "us"})).status_code == 404
    assert (await client.get("/products", params={"region": "us", "category": "nope"})).status_code == 404


async def test_admin_writes_need_the_token_and_change_nothing_without_it(client: AsyncTestClient[Any]) -> None:
    before = (await client.get("/products/1", params={"region": "us"})).json()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic dGVzdA=="}):
        response = await client.patch("/admin/products/1", json={"title": "Hacked"}, headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert (await client.get("/products/1", params={"region": "us"})).json() == before
    assert await events(client) == []


async def test_product_update_commits_with_its_event(client: AsyncTestClient[Any]) -> None:
    response = await client.patch("/admin/products/1", json={"title": "Renamed Jacket"}, headers=ADMIN)
    assert response.status_code == 200
    assert response.json()["version"] == 2
    again = await client.patch("/admin/products/1", json={"title": "Renamed Jacket"}, headers=ADMIN)
    assert again.json()["changed"] == []
    [event] = await events(client)
    assert event["type"] == "product.updated"
    assert event["regions"] == ["*"]
    assert event["payload"]["product_id"] == 1 and event["payload"]["fields"] == ["title"]
    hits = (await client.get("/search", params={"region": "us", "q": "renamed"})).json()
    assert [i["id"] for i in hits["items"]] == [1]


async def _set_stock(settings: Settings, sku: str, region: str, quantity: int) -> None:
    db = Database.connect(settings.catalog.database_url)
    try:
        async with db.write() as session:
            await set_stock(session, sku=sku, region=region, quantity=quantity, low_threshold=5)
    finally:
        await db.dispose()


async def test_stock_event_says_whether_the_visible_state_changed(
    client: AsyncTestClient[Any], seeded: Settings
) -> None:
    product = (await client.get("/products/2", params={"region": "eu"})).json()
    skus = [v["sku"] for v in product["variants"]]
    for sku in skus:  # plenty of stock everywhere first
        await _set_stock(seeded, sku, "eu", 50)
    baseline = len(await events(client))
    await _set_stock(seeded, skus[0], "eu", 49)
    for sku in skus:
        await _set_stock(seeded, sku, "eu", 0)
    new = (await events(client))[baseline:]
    assert new[0]["payload"]["visible_change"] is False
    assert new[-1]["payload"]["state_after"] == "sold_out" and new[-1]["payload"]["visible_change"] is True
    assert all(e["regions"] == ["eu"] for e in new)
    assert (await client.get("/products/2", params={"region": "eu"})).json()["availability"] == "sold_out"


async def test_variants_for_checkout(client: AsyncTestClient[Any]) -> None:
    body = (await client.get("/variants", params={"skus": "SKU-00001-1,SKU-99999-9"})).json()
    [item] = body["items"]
    assert item["sku"] == "SKU-00001-1" and item["product_id"] == 1 and item["weight_grams"] > 0
    for bad in ("", ",", "no spaces allowed", ",".join(f"SKU-{i:05d}-1" for i in range(101))):
        assert (await client.get("/variants", params={"skus": bad})).status_code == 422, bad


async def test_failed_write_rolls_back_its_event(seeded: Settings) -> None:
    """A change that the database refuses leaves neither the change nor its event behind."""
    db = Database.connect(seeded.catalog.database_url)
    try:
        async with db.sessionmaker() as session:
            with pytest.raises(Exception, match=r"(?i)constraint|check"):
                async with session.begin():
                    await set_stock(session, sku="SKU-00001-1", region="us", quantity=-5, low_threshold=5)
        async with db.sessionmaker() as session:
            assert await session.scalar(select(func.count()).select_from(CatalogEvent)) == 0
            stock = await session.get(Inventory, ("SKU-00001-1", "us"))
            assert stock is not None and stock.quantity >= 0
    finally:
        await db.dispose()


async def test_related_products_in_one_call(client: AsyncTestClient[Any]) -> None:
    product = (await client.get("/products/5", params={"region": "us"})).json()
    related = (await client.get(f"/products/{product['slug']}/related", params={"region": "us", "limit": 3})).json()
    assert 0 < len(related["items"]) <= 3
    assert all(i["category"] == product["category"] and i["id"] != 5 for i in related["items"])
    assert all(i["availability"] != "sold_out" for i in related["items"])
    assert (await client.get("/products/99999/related", params={"region": "us"})).status_code == 404
    assert (await client.get("/products/5/related", params={"region": "us", "limit": 500})).status_code == 422

"""The pricing API: exact money, promotions at an instant, order thresholds, admin writes and events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from backends.pricing.app import create_app
from stack.settings import Settings
from tests.conftest import ADMIN


@pytest.fixture
async def client(seeded: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(seeded.pricing)) as client:
        yield client


async def test_prices_many_skus_in_one_call(client: AsyncTestClient[Any]) -> None:
    body = (await client.get("/prices", params={"region": "eu", "skus": "SKU-00001-1,SKU-00002-1,NOPE-1"})).json()
    assert body["currency"] == "EUR" and body["tax_inclusive"] is True
    assert [p["sku"] for p in body["prices"]] == ["SKU-00001-1", "SKU-00002-1"]
    assert body["missing"] == ["NOPE-1"]
    for line in body["prices"]:
        assert isinstance(line["final"]["amount"], str) and line["final"]["amount"].count(".") == 1


async def _promo(client: AsyncTestClient[Any], **fields: Any) -> Any:
    now = datetime.now(UTC)
    body = {
        "slug": "test-promo",
        "name": "Test",
        "region": "us",
        "kind": "percent",
        "value": "10",
        "scope": "sku",
        "target": "SKU-00003-1",
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat(),
    } | fields
    return await client.post("/admin/promotions", json=body, headers=ADMIN)


async def test_best_promotion_applies_and_windows_are_respected(client: AsyncTestClient[Any]) -> None:
    before = (await client.get("/prices", params={"region": "us", "skus": "SKU-00003-1"})).json()["prices"][0]
    assert (await _promo(client, value="12.5")).status_code == 201
    now = datetime.now(UTC)
    starts = now + timedelta(minutes=30)
    created = await _promo(
        client,
        slug="later",
        kind="amount",
        value="1000.00",
        starts_at=starts.isoformat(),
        ends_at=(now + timedelta(hours=2)).isoformat(),
    )
    assert created.status_code == 201
    after = (await client.get("/prices", params={"region": "us", "skus": "SKU-00003-1"})).json()
    line = after["prices"][0]
    base = int(before["final"]["amount"].replace(".", ""))
    expected_off = (base * 1250 + 5000) // 10000  # 12.5 % rounded half up, in cents
    assert int(line["final"]["amount"].replace(".", "")) == base - expected_off
    assert [p["slug"] for p in line["promotions"]] == ["test-promo"]
    assert datetime.fromisoformat(after["next_change_at"]) == starts.replace(microsecond=starts.microsecond)

    inside_later = (starts + timedelta(minutes=1)).isoformat()
    later = (await client.get("/prices", params={"region": "us", "skus": "SKU-00003-1", "at": inside_later})).json()
    assert later["prices"][0]["final"]["amount"] == "0.00"  # the amount-off is capped at the price
    assert [p["slug"] for p in later["prices"][0]["promotions"]] == ["later"]
    # the sku promotion is in `us` only
    eu = (await client.get("/prices", params={"region": "eu", "skus": "SKU-00003-1"})).json()
    assert all(p["slug"] not in {"test-promo", "later"} for p in eu["prices"][0]["promotions"])


async def test_promotion_creation_is_idempotent(client: AsyncTestClient[Any]) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    window = {"starts_at": now.isoformat(), "ends_at": (now + timedelta(days=1)).isoformat()}
    first = await _promo(client, **window)
    again = await _promo(client, **window)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert (await _promo(client, value="50", **window)).status_code == 409
    outbox = (await client.get("/admin/outbox", headers=ADMIN)).json()["events"]
    assert [e["type"] for e in outbox] == ["promotion.scheduled"]


async def test_order_threshold_discount(client: AsyncTestClient[Any]) -> None:
    small = await client.post(
        "/prices/order", json={"region": "apac", "lines": [{"sku": "SKU-00001-1", "quantity": 1}]}
    )
    assert small.status_code == 200
    big = await client.post("/prices/order", json={"region": "apac", "lines": [{"sku": "SKU-00001-1", "quantity": 40}]})
    body = big.json()
    assert [p["slug"] for p in body["order_promotions"]] == ["big-basket"]
    subtotal, total = (int(body[k]["amount"].replace(".", "")) for k in ("subtotal", "total"))
    assert total == subtotal - (subtotal * 1000 + 5000) // 10000


async def test_price_change_emits_a_regional_event(client: AsyncTestClient[Any]) -> None:
    response = await client.put("/admin/prices/eu/SKU-00004-1", json={"list": "99.90", "sale": "79.90"}, headers=ADMIN)
    assert response.json()["changed"] is True
    repeat = await client.put("/admin/prices/eu/SKU-00004-1", json={"list": "99.90", "sale": "79.90"}, headers=ADMIN)
    assert repeat.json()["changed"] is False
    [event] = (await client.get("/admin/outbox", headers=ADMIN)).json()["events"]
    assert event["type"] == "price.changed" and event["regions"] == ["eu"]
    assert event["payload"]["after"] == {"list_minor": 9990, "sale_minor": 7990}
    line = (await client.get("/prices", params={"region": "eu", "skus": "SKU-00004-1"})).json()["prices"][0]
    assert line["list"]["amount"] == "99.90" and line["sale"]["amount"] == "79.90"


@pytest.mark.parametrize(
    "body",
    [
        {"list": "19.999"},
        {"list": "-5.00"},
        {"list": "NaN"},
        {"list": "1e3"},
        {"list": 19.99},
        {"list": "10.00", "sale": "20.00"},
        {"list": "10.00", "extra": 1},
    ],
)
async def test_bad_price_bodies_are_422_and_change_nothing(client: AsyncTestClient[Any], body: Any) -> None:
    response = await client.put("/admin/prices/us/SKU-00001-1", json=body, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert (await client.get("/admin/outbox", headers=ADMIN)).json()["events"] == []


async def test_price_writes_need_a_token(client: AsyncTestClient[Any]) -> None:
    response = await client.put("/admin/prices/us/SKU-00001-1", json={"list": "1.00"})
    assert response.status_code == 401
    line = (await client.get("/prices", params={"region": "us", "skus": "SKU-00001-1"})).json()["prices"][0]
    assert line["list"]["amount"] != "1.00"


@pytest.mark.parametrize(
    "params",
    [
        {"region": "us", "skus": ""},
        {"region": "us", "skus": ",".join(f"S-{i}" for i in range(201))},
        {"region": "us", "skus": "bad sku!"},
        {"region": "xx", "skus": "SKU-00001-1"},
        {"region": "us", "skus": "SKU-00001-1", "at": "yesterday"},
    ],
)
async def test_bad_quote_requests_are_422(client: AsyncTestClient[Any], params: dict[str, str]) -> None:
    response = await client.get("/prices", params=params)
    assert response.status_code == 422
    assert response.json()["invalid-params"]

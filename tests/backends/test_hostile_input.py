"""Regression cases for each class of 500 hostile input used to cause, on SQLite and PostgreSQL: all 4xx now."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar

from backends.catalog.app import create_app as create_catalog
from backends.checkout.app import create_app as create_checkout
from backends.cms.app import create_app as create_cms
from backends.pricing.app import create_app as create_pricing
from cache.invalidation.service import create_app as create_invalidator
from stack.settings import Settings
from tests.asgi import client_for, running
from tests.conftest import ADMIN, EDITOR

HUGE = "99999999999999999999"  # past 64 bits
PAST_INT32 = str(2**31)  # the id and sequence columns are 32-bit on PostgreSQL
UNICODE_DIGITS = ("²", "①", "١٢", "\U0001d7d9")  # isdigit() is True for each; int() refuses some and accepts others
CARD = {"exp_month": 12, "exp_year": 2099, "cvc": "123"}

# (method, path, json body or None, headers)
Hostile = tuple[str, str, dict[str, Any] | None, dict[str, str]]


@pytest.fixture
async def apps(seeded: Settings) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    catalog = create_catalog(dataclasses.replace(seeded.catalog, checkout_url=""))
    pricing = create_pricing(seeded.pricing)
    mounts = {
        "http://catalog.test": httpx.ASGITransport(app=catalog),
        "http://pricing.test": httpx.ASGITransport(app=pricing),
    }
    checkout = create_checkout(
        dataclasses.replace(seeded.checkout, catalog_url="http://catalog.test", pricing_url="http://pricing.test"),
        mounts=mounts,
    )
    cms = create_cms(dataclasses.replace(seeded.cms, webhook_url=""))
    invalidator = create_invalidator(dataclasses.replace(seeded.invalidator, outboxes={}))
    services: dict[str, Litestar] = {
        "catalog": catalog,
        "pricing": pricing,
        "cms": cms,
        "checkout": checkout,
        "invalidator": invalidator,
    }
    async with (
        running(catalog),
        running(pricing),
        running(cms),
        running(checkout),
        running(invalidator),
    ):
        clients = {name: client_for(app) for name, app in services.items()}
        try:
            yield clients
        finally:
            for client in clients.values():
                await client.aclose()


async def _send(client: httpx.AsyncClient, case: Hostile) -> httpx.Response:
    method, path, body, headers = case
    return await client.request(method, path, json=body, headers=headers)


def _assert_problem(response: httpx.Response, case: Hostile) -> None:
    assert 400 <= response.status_code < 500, (case, response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json"), (case, response.headers)
    assert response.json()["status"] == response.status_code


CASES: dict[str, list[Hostile]] = {
    "catalog": [
        ("GET", f"/admin/outbox?after={HUGE}", None, ADMIN),
        ("GET", f"/admin/outbox?after={PAST_INT32}", None, ADMIN),
        ("PATCH", f"/admin/products/{HUGE}", {"title": "x"}, ADMIN),
        ("PATCH", f"/admin/products/{PAST_INT32}", {"title": "x"}, ADMIN),
        ("PATCH", "/admin/products/1", {"title": "a\x00b"}, ADMIN),
        *[("GET", f"/products/{d}?region=us", None, {}) for d in UNICODE_DIGITS],
        *[("GET", f"/products/{d}/related?region=us", None, {}) for d in UNICODE_DIGITS],
        ("GET", f"/products/{PAST_INT32}?region=us", None, {}),
        ("GET", f"/products?region=us&ids=1,{HUGE}", None, {}),
        ("GET", "/products?region=us&ids=1,²", None, {}),
        ("GET", f"/products?region=us&min_price={HUGE[:18]}", None, {}),
        ("GET", "/products?region=us&q=a%00b", None, {}),
        ("GET", "/products?region=us&brand=a%00b", None, {}),
        ("GET", "/products?region=us&attr.colour=a%00b", None, {}),
    ],
    "pricing": [
        ("GET", f"/admin/outbox?after={HUGE}", None, ADMIN),
        ("PUT", "/admin/prices/us/SKU-00001-1", {"list": HUGE}, ADMIN),
        ("PUT", "/admin/prices/us/SKU-00001-1", {"list": "١٢"}, ADMIN),
        ("GET", "/prices?region=us&skus=SKU-00001-1&at=0001-01-01T00:00:00%2B01:00", None, {}),
        ("GET", "/promotions?region=us&at=9999-12-31T23:59:59-01:00", None, {}),
    ],
    "cms": [
        ("GET", f"/admin/outbox?after={HUGE}", None, EDITOR),
        ("GET", f"/editor/entries/{HUGE}", None, EDITOR),
        ("GET", f"/editor/entries/{PAST_INT32}", None, EDITOR),
        *[("GET", f"/editor/entries/{d}", None, EDITOR) for d in UNICODE_DIGITS[:2]],
        ("PUT", f"/editor/entries/{HUGE}", {"fields": {}, "base_version": 1}, EDITOR),
        ("POST", "/editor/entries/1/publish", {"version": int(HUGE)}, EDITOR),
        ("POST", "/editor/entries/1/publish", {"version": 2**31}, EDITOR),
        ("POST", "/editor/entries/1/publish", {"at": "0001-01-01T00:00:00+01:00"}, EDITOR),
        ("POST", f"/editor/entries/{HUGE}/unpublish", None, EDITOR),
    ],
    "checkout": [
        ("GET", f"/admin/outbox?after={HUGE}", None, ADMIN),
        ("PUT", "/admin/stock/us/SKU-00001-1", {"on_hand": int(HUGE)}, ADMIN),
        ("GET", "/admin/stock/us/a%00b", None, ADMIN),
        ("POST", "/carts", {"region": "u\x00s"}, {}),
        *[
            ("POST", "/orders", {"cart_id": "c" * 30, "card": {"number": f"4242424242424{d}", **CARD}}, key)
            for d, key in (("²", {"Idempotency-Key": "k1"}), ("①", {"Idempotency-Key": "k2"}))
        ],
    ],
    "invalidator": [
        ("GET", "/admin/purges/x?check=/a%00b", None, ADMIN),
        ("GET", "/admin/purges/x?check=/a%0Ab", None, ADMIN),
        ("POST", "/admin/purges", {"urls": ["/a\x00b"], "regions": "all"}, ADMIN),
        ("POST", "/admin/purges", {"keys": ["nav"], "regions": ["e\x00u"]}, ADMIN),
    ],
}


@pytest.mark.parametrize("service", sorted(CASES))
async def test_hostile_input_is_refused_with_problem_details(apps: dict[str, httpx.AsyncClient], service: str) -> None:
    for case in CASES[service]:
        _assert_problem(await _send(apps[service], case), case)


async def test_quantities_past_the_bounds_are_refused(apps: dict[str, httpx.AsyncClient]) -> None:
    client = apps["checkout"]
    cart = (await client.post("/carts", json={"region": "us"})).json()["id"]
    for quantity in (int(HUGE), 2**63, -1, 1001):
        case: Hostile = ("POST", f"/carts/{cart}/lines", {"sku": "SKU-00001-1", "quantity": quantity}, {})
        _assert_problem(await _send(client, case), case)
    assert (await client.get(f"/carts/{cart}")).json()["lines"] == []


async def test_every_service_serves_its_openapi_document(apps: dict[str, httpx.AsyncClient]) -> None:
    for name, client in apps.items():
        response = await client.get("/schema/openapi.json")
        assert response.status_code == 200, name
        document = response.json()
        assert document["openapi"].startswith("3.1"), name
        assert {"admin", "editor", "preview"} <= set(document["components"]["securitySchemes"]), name
        assert "Problem" in document["components"]["schemas"], name
        outbox = document["paths"].get("/admin/outbox", {}).get("get")
        if outbox is not None:
            after = next(p for p in outbox["parameters"] if p["name"] == "after")
            assert after["schema"]["maximum"] == 2**31 - 1
            assert outbox["security"] == [{"editor" if name == "cms" else "admin": []}]
            assert outbox["responses"]["401"]["content"]["application/problem+json"]

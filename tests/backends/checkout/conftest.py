"""A checkout service wired to in-process catalog and pricing apps, on SQLite and on PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from backends.catalog.app import create_app as create_catalog
from backends.checkout.app import create_app as create_checkout
from backends.checkout.settings import CheckoutSettings
from backends.pricing.app import create_app as create_pricing
from stack.settings import Settings
from tests.asgi import client_for, running
from tests.conftest import ADMIN

CheckoutFactory = Callable[..., Awaitable[httpx.AsyncClient]]
CARD = {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2099, "cvc": "123"}
US_ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "1 Market St",
    "city": "San Francisco",
    "state": "CA",
    "postal_code": "94105",
    "country": "US",
}


@pytest.fixture
async def upstream_mounts(seeded: Settings) -> AsyncIterator[dict[str, httpx.AsyncBaseTransport]]:
    catalog = create_catalog(dataclasses.replace(seeded.catalog, checkout_url=""))
    pricing = create_pricing(seeded.pricing)
    async with running(catalog), running(pricing):
        yield {
            "http://catalog.test": httpx.ASGITransport(app=catalog),
            "http://pricing.test": httpx.ASGITransport(app=pricing),
        }


def checkout_settings(seeded: Settings, **overrides: Any) -> CheckoutSettings:
    return dataclasses.replace(
        seeded.checkout,
        catalog_url="http://catalog.test",
        pricing_url="http://pricing.test",
        **{"sweep_interval": 0.1, **overrides},
    )


@pytest.fixture
async def client(seeded: Settings, upstream_mounts: dict[str, httpx.AsyncBaseTransport]) -> AsyncIterator[Any]:
    app = create_checkout(checkout_settings(seeded), mounts=upstream_mounts)
    async with running(app), client_for(app) as client:
        await stock_up(client)
        yield client


async def stock_up(client: httpx.AsyncClient) -> None:
    """The demo data sells some SKUs out; these tests want the first five in stock."""
    for region in ("us", "eu"):
        for n in range(1, 6):
            await set_stock(client, f"SKU-{n:05d}-1", 50, region)


async def new_cart(client: httpx.AsyncClient, region: str = "us") -> str:
    response = await client.post("/carts", json={"region": region})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def ready_cart(
    client: httpx.AsyncClient, sku: str = "SKU-00001-1", quantity: int = 1, address: dict[str, str] | None = None
) -> dict[str, Any]:
    """A us cart with one line, contact, address and shipping method: ready to order."""
    cart_id = await new_cart(client)
    for path, method, body in (
        (f"/carts/{cart_id}/lines", "post", {"sku": sku, "quantity": quantity}),
        (f"/carts/{cart_id}/contact", "put", {"email": "ada@example.com"}),
        (f"/carts/{cart_id}/address", "put", address or US_ADDRESS),
        (f"/carts/{cart_id}/shipping", "put", {"method": "standard"}),
    ):
        response = await getattr(client, method)(path, json=body)
        assert response.status_code == 200, response.text
    return response.json()


async def set_stock(client: httpx.AsyncClient, sku: str, on_hand: int, region: str = "us") -> None:
    response = await client.put(f"/admin/stock/{region}/{sku}", json={"on_hand": on_hand}, headers=ADMIN)
    assert response.status_code == 200, response.text


async def stock_of(client: httpx.AsyncClient, sku: str, region: str = "us") -> dict[str, int]:
    return (await client.get(f"/admin/stock/{region}/{sku}", headers=ADMIN)).json()

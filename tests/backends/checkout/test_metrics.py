"""Checkout's metrics move with orders placed, declined and failed at the provider, expired reservations and the
funnel."""

from __future__ import annotations

import httpx
import pytest

from backends.checkout.app import create_app
from backends.checkout.funnel import STEPS
from backends.checkout.payments import DECLINED, PROVIDER_ERROR
from stack.settings import Settings
from tests.asgi import client_for, running
from tests.backends.checkout.conftest import CARD, checkout_settings, ready_cart, set_stock
from tests.backends.checkout.test_orders import Clock, _order, _place, eventually
from tests.prometheus import Series, parse, value


@pytest.fixture
def database_url() -> str:
    return ""  # counting does not depend on the database


async def scrape(client: httpx.AsyncClient) -> Series:
    return parse((await client.get("/metrics")).text)


async def test_order_outcomes_and_expired_reservations_are_counted(
    seeded: Settings, upstream_mounts: dict[str, httpx.AsyncBaseTransport]
) -> None:
    clock = Clock()
    app = create_app(checkout_settings(seeded, reservation_ttl=60), mounts=upstream_mounts, clock=clock)
    async with running(app), client_for(app) as client:
        await set_stock(client, "SKU-00001-1", 50)
        cart = await ready_cart(client)
        for number, status in ((DECLINED, 402), (PROVIDER_ERROR, 502), (CARD["number"], 201)):
            assert (await _place(client, _order(cart, card={**CARD, "number": number}))).status_code == status
        abandoned = await ready_cart(client)
        assert (await client.post(f"/carts/{abandoned['id']}/checkout")).status_code == 200
        clock.advance(61)

        async def expired() -> bool:
            return value(await scrape(client), "storefront_reservations_expired_total") == 1

        await eventually(expired)  # released by the sweeper
        series = await scrape(client)
    for outcome in ("placed", "declined", "provider_error"):
        assert value(series, "storefront_orders_total", outcome=outcome) == 1, outcome
    assert value(series, "storefront_orders_total", outcome="payment_pending") == 0
    # Two carts reached the shipping step; the ordered one reached payment three times (two failed) and was placed
    # once; each counts once per step, whatever the retries.
    funnel = {step: value(series, "storefront_checkout_funnel_carts_total", region="us", step=step) for step in STEPS}
    assert (funnel["cart"], funnel["shipping"], funnel["payment"], funnel["placed"]) == (2, 2, 1, 1)
    assert ("storefront_checkout_funnel_carts_total", frozenset({("region", "eu"), ("step", "placed")})) in series

"""Orders: exactly once per key and per cart, never oversold, failures release stock, crashes reconcile."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from backends.checkout.app import create_app
from backends.checkout.models import Charge, CheckoutEvent, Order
from backends.checkout.payments import DECLINED, PROVIDER_ERROR, TIMES_OUT
from backends.checkout.stock import release_expired
from backends.common import Database, utcnow
from stack.settings import Settings
from tests.asgi import client_for, running
from tests.backends.checkout.conftest import CARD, checkout_settings, ready_cart, set_stock, stock_of, stock_up
from tests.conftest import ADMIN


class Clock:
    """Checkout's clock for expiry, moved forward by the test instead of waited for."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    """Poll until `check` holds; the 30 s deadline is only there so a broken sweeper fails instead of hanging."""
    deadline = time.monotonic() + 30
    while not await check():
        assert time.monotonic() < deadline, f"{check.__name__} did not happen within 30 s"
        await asyncio.sleep(0.05)


def _order(cart: dict[str, Any], card: dict[str, Any] = CARD, **extra: Any) -> dict[str, Any]:
    return {"cart_id": cart["id"], "card": card, "expected_total": cart["total"]["amount"], **extra}


async def _place(client: httpx.AsyncClient, body: dict[str, Any], key: str | None = None) -> httpx.Response:
    return await client.post("/orders", json=body, headers={"Idempotency-Key": key or str(uuid.uuid4())})


async def _count(settings: Settings, model: type, *where: Any) -> int:
    db = Database.connect(settings.checkout.database_url)
    try:
        async with db.sessionmaker() as session:
            return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0
    finally:
        await db.dispose()


async def test_an_order_is_placed_once_and_replayed(client: httpx.AsyncClient, seeded: Settings) -> None:
    cart = await ready_cart(client, quantity=2)
    before = await stock_of(client, "SKU-00001-1")
    first = await _place(client, _order(cart), key="order-key-1")
    assert first.status_code == 201, first.text
    order = first.json()
    assert order["status"] == "placed" and order["total"] == cart["total"] and order["card_last4"] == "4242"
    replay = await _place(client, _order(cart), key="order-key-1")
    assert replay.status_code == 201 and replay.json() == order
    assert replay.headers["idempotent-replayed"] == "true"
    other_body = await _place(client, _order(cart, expected_total="1.00"), key="order-key-1")
    assert other_body.status_code == 422 and "different request" in other_body.json()["detail"]
    another_key = await _place(client, _order(cart))  # same cart, new key: the cart's order, not a new one
    assert another_key.status_code == 200 and another_key.json()["id"] == order["id"]
    after = await stock_of(client, "SKU-00001-1")
    assert after == {**before, "on_hand": before["on_hand"] - 2, "reserved": 0}
    assert await _count(seeded, Charge) == 1
    assert await _count(seeded, Order) == 1
    events = (await client.get("/admin/outbox", headers=ADMIN)).json()["events"]
    kinds = Counter(e["type"] for e in events if e["payload"].get("order_id") == order["id"])
    assert kinds == {"order.placed": 1, "stock.changed": 1}
    fetched = await client.get(f"/orders/{order['id']}", params={"cart_id": cart["id"]})
    assert fetched.json()["number"] == order["number"]
    assert (
        await client.get(f"/orders/{order['id']}", params={"cart_id": "someone-elses-cart-token"})
    ).status_code == 404
    closed = await client.post(f"/carts/{cart['id']}/lines", json={"sku": "SKU-00002-1"})
    assert closed.status_code == 409


async def test_fifty_concurrent_checkouts_for_ten_in_stock(client: httpx.AsyncClient, seeded: Settings) -> None:
    sku = "SKU-00004-1"
    carts = [await ready_cart(client, sku=sku) for _ in range(50)]
    await set_stock(client, sku, 10)
    responses = await asyncio.gather(*(_place(client, _order(cart)) for cart in carts))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 10, 409: 40}, statuses
    assert all(r.json()["title"] == "Not enough stock" for r in responses if r.status_code == 409)
    assert await stock_of(client, sku) == {"region": "us", "sku": sku, "on_hand": 0, "reserved": 0}
    assert await _count(seeded, Order, Order.status == "placed") == 10
    assert await _count(seeded, Charge) == 10


async def test_concurrent_retries_of_one_key_make_one_order(client: httpx.AsyncClient, seeded: Settings) -> None:
    cart = await ready_cart(client)
    responses = await asyncio.gather(*(_place(client, _order(cart), key="double-click") for _ in range(8)))
    statuses = Counter(r.status_code for r in responses)
    assert statuses[201] >= 1 and set(statuses) <= {201, 409}, statuses
    ids = {r.json()["id"] for r in responses if r.status_code == 201}
    assert len(ids) == 1
    assert await _count(seeded, Order) == 1 and await _count(seeded, Charge) == 1
    settled = await _place(client, _order(cart), key="double-click")
    assert settled.status_code == 201 and settled.json()["id"] in ids


async def test_declined_and_failed_payments_release_stock(client: httpx.AsyncClient, seeded: Settings) -> None:
    cart = await ready_cart(client, quantity=3)
    before = await stock_of(client, "SKU-00001-1")
    for number, status, title in ((DECLINED, 402, "Payment declined"), (PROVIDER_ERROR, 502, "Payment failed")):
        response = await _place(client, _order(cart, card={**CARD, "number": number}))
        assert response.status_code == status and response.json()["title"] == title, response.text
        assert await stock_of(client, "SKU-00001-1") == before
    paid = await _place(client, _order(cart))  # the shopper tries another card on the same cart
    assert paid.status_code == 201
    assert (await stock_of(client, "SKU-00001-1"))["on_hand"] == before["on_hand"] - 3
    assert await _count(seeded, Order, Order.status == "declined") == 1
    assert await _count(seeded, Charge, Charge.outcome == "succeeded") == 1


async def test_refusals_before_payment_charge_nothing(client: httpx.AsyncClient, seeded: Settings) -> None:
    cart = await ready_cart(client)
    tampered = await _place(client, _order(cart, expected_total="0.01"), key="tampered")
    assert tampered.status_code == 409 and tampered.json()["title"] == "Total changed"
    bad_cards = [
        {**CARD, "number": "4242 4242 4242 4241"},  # fails the Luhn check
        {**CARD, "exp_year": 2020},
        {**CARD, "cvc": "12"},
        {**CARD, "number": "x" * 500},
    ]
    for card in bad_cards:
        assert (await _place(client, _order(cart, card=card))).status_code == 422, card
    assert (await client.post("/orders", json=_order(cart))).status_code in (400, 422)  # no Idempotency-Key
    long_key = await client.post("/orders", json=_order(cart), headers={"Idempotency-Key": "k" * 256})
    assert long_key.status_code in (400, 422)
    assert (await _place(client, {**_order(cart), "price": "0.01"})).status_code == 422
    unknown = await _place(client, _order({**cart, "id": "an-unknown-but-well-formed-cart-token"}))
    assert unknown.status_code == 404
    assert await _count(seeded, Order) == 0 and await _count(seeded, Charge) == 0
    assert (await stock_of(client, "SKU-00001-1"))["reserved"] == 0
    retried = await _place(client, _order(cart), key="tampered")  # nothing was stored for the refused attempt
    assert retried.status_code == 201


async def test_incomplete_and_expired_carts(client: httpx.AsyncClient, seeded: Settings) -> None:
    cart_id = (await client.post("/carts", json={"region": "us"})).json()["id"]
    await client.post(f"/carts/{cart_id}/lines", json={"sku": "SKU-00002-1"})
    incomplete = await _place(client, {"cart_id": cart_id, "card": CARD})
    assert incomplete.status_code == 422
    db = Database.connect(seeded.checkout.database_url)
    try:
        async with db.write() as session:
            from backends.checkout.models import Cart
            from backends.common import utcnow

            (await session.get(Cart, cart_id)).expires_at = utcnow()
    finally:
        await db.dispose()
    expired = await client.post(f"/carts/{cart_id}/lines", json={"sku": "SKU-00002-1"})
    assert expired.status_code == 410 and expired.json()["title"] == "Cart expired"


async def test_reservations_expire(seeded: Settings, upstream_mounts: dict[str, httpx.AsyncBaseTransport]) -> None:
    clock = Clock()  # stands still until moved: the sweeper (every 0.1 s) cannot release anything early
    app = create_app(checkout_settings(seeded, reservation_ttl=60), mounts=upstream_mounts, clock=clock)
    async with running(app), client_for(app) as client:
        await set_stock(client, "SKU-00005-1", 5)
        cart, other, third = [await ready_cart(client, sku="SKU-00005-1", quantity=q) for q in (4, 1, 1)]
        started = await client.post(f"/carts/{cart['id']}/checkout")
        assert started.status_code == 200 and started.json()["reserved_until"]
        assert (await stock_of(client, "SKU-00005-1"))["reserved"] == 4
        assert (await client.post(f"/carts/{other['id']}/checkout")).status_code == 200
        refused = await client.post(f"/carts/{third['id']}/checkout")
        assert refused.status_code == 409 and refused.json()["shortages"][0]["available"] == 0
        clock.advance(59)
        async with app.state.db.write() as session:
            assert await release_expired(session, clock()) == 0  # not a second early
        clock.advance(2)

        async def released() -> bool:
            return (await stock_of(client, "SKU-00005-1"))["reserved"] == 0

        await eventually(released)  # by the sweeper, on its own
        assert await stock_of(client, "SKU-00005-1") == {
            "region": "us",
            "sku": "SKU-00005-1",
            "on_hand": 5,
            "reserved": 0,
        }


async def test_a_payment_timeout_is_reconciled_after_a_restart(
    seeded: Settings, upstream_mounts: dict[str, httpx.AsyncBaseTransport]
) -> None:
    """The provider charged the card but answered too late; the checkout stopped. On restart the order is
    settled from the provider's record: placed once, stock committed once, charged once."""
    # The provider records the charge before it hangs (until cancelled); 2 s leaves a slow machine time to
    # write that record before checkout stops waiting, and is the only real wait in this test.
    settings = checkout_settings(seeded, payment_timeout=2.0, test_card_hang=3600.0, sweep_interval=60.0)
    clock = Clock()
    app = create_app(settings, mounts=upstream_mounts, clock=clock)
    async with running(app), client_for(app) as client:
        await stock_up(client)
        before = await stock_of(client, "SKU-00001-1")
        cart = await ready_cart(client, quantity=2)
        pending = await _place(client, _order(cart, card={**CARD, "number": TIMES_OUT}), key="slow")
        assert pending.status_code == 202 and pending.json()["status"] == "pending_payment"
        assert (await _place(client, _order(cart, card={**CARD, "number": TIMES_OUT}), key="slow")).status_code == 409
        assert (await stock_of(client, "SKU-00001-1"))["reserved"] == 2
    clock.advance(settings.payment_timeout + 1)  # the restart comes after the payment timeout

    restarted = create_app(settings, mounts=upstream_mounts, clock=clock)
    async with running(restarted), client_for(restarted) as client:
        order: dict[str, Any] = {}

        async def settled() -> bool:
            nonlocal order
            order = (await client.get(f"/orders/{pending.json()['id']}", params={"cart_id": cart["id"]})).json()
            return order["status"] != "pending_payment"

        await eventually(settled)  # by the start-up sweep
        assert order["status"] == "placed"
        assert await stock_of(client, "SKU-00001-1") == {**before, "on_hand": before["on_hand"] - 2, "reserved": 0}
        replay = await _place(client, _order(cart, card={**CARD, "number": TIMES_OUT}), key="slow")
        assert replay.status_code == 201 and replay.json()["id"] == order["id"]
    assert await _count(seeded, Charge) == 1


async def test_an_order_the_provider_never_saw_is_failed_and_released(
    seeded: Settings, upstream_mounts: dict[str, httpx.AsyncBaseTransport]
) -> None:
    """A crash after the order was recorded but before the card was charged: reconciliation releases it."""
    settings = checkout_settings(seeded, payment_timeout=5.0, sweep_interval=0.1)
    clock = Clock()  # stands still until moved: the sweeper cannot reconcile the order before the test looks
    app = create_app(settings, mounts=upstream_mounts, clock=clock)
    async with running(app), client_for(app) as client:
        await stock_up(client)
        cart = await ready_cart(client)
        before = await stock_of(client, "SKU-00001-1")
        orders = app.state.orders
        order = await orders._create("crash-key", cart["id"], _card(), None)  # then the process "dies"
        assert (await stock_of(client, "SKU-00001-1"))["reserved"] == before["reserved"] + 1
        clock.advance(settings.payment_timeout + 1)

        async def reconciled() -> bool:
            return (await orders.get(order.id)).status != "pending_payment"

        await eventually(reconciled)
        assert (await orders.get(order.id)).status == "failed"
        assert await stock_of(client, "SKU-00001-1") == before
        assert (await _place(client, _order(cart))).status_code == 201  # the cart can still be ordered
    assert await _count(seeded, Charge) == 1


def _card() -> Any:
    from backends.checkout.payments import SUCCEEDS, Card

    return Card(number=SUCCEEDS, exp_month=12, exp_year=2099, cvc="123")


async def test_order_events_are_in_the_outbox(client: httpx.AsyncClient, seeded: Settings) -> None:
    cart = await ready_cart(client)
    order = (await _place(client, _order(cart))).json()
    assert await _count(seeded, CheckoutEvent, CheckoutEvent.type == "order.placed") == 1
    events = (await client.get("/admin/outbox", headers=ADMIN)).json()["events"]
    placed = next(e for e in events if e["type"] == "order.placed")
    assert placed["regions"] == ["us"] and placed["payload"]["order_id"] == order["id"]
    stock = next(e for e in events if e["type"] == "stock.changed" and e["payload"].get("order_id"))
    assert stock["payload"]["sku"] == "SKU-00001-1" and stock["payload"]["reason"] == "order"


async def test_funnel_counts_each_cart_once_per_step(client: httpx.AsyncClient) -> None:
    first = await ready_cart(client)
    await ready_cart(client)  # a second cart that never pays
    await client.post(f"/carts/{first['id']}/checkout")
    await client.post(f"/carts/{first['id']}/checkout")  # a retry does not count twice
    assert (await _place(client, _order(first))).status_code == 201
    funnel = (await client.get("/admin/funnel", params={"region": "us"}, headers=ADMIN)).json()["steps"]
    counts = {row["step"]: row["carts"] for row in funnel}
    assert counts == {"cart": 2, "checkout": 1, "contact": 2, "address": 2, "shipping": 2, "payment": 1, "placed": 1}
    assert funnel[-1]["from_previous"] == 1.0 and funnel[-1]["from_start"] == 0.5
    assert (await client.get("/admin/funnel")).status_code == 401
    assert (await client.get("/admin/funnel", params={"region": "mars"}, headers=ADMIN)).status_code == 422


async def test_stock_admin(client: httpx.AsyncClient) -> None:
    cart = await ready_cart(client, sku="SKU-00003-1", quantity=3)
    await client.post(f"/carts/{cart['id']}/checkout")
    below = await client.put("/admin/stock/us/SKU-00003-1", json={"on_hand": 2}, headers=ADMIN)
    assert below.status_code == 422
    for body in ({"on_hand": -1}, {"on_hand": "many"}, {"qty": 1}):
        assert (await client.put("/admin/stock/us/SKU-00003-1", json=body, headers=ADMIN)).status_code == 422
    assert (await client.put("/admin/stock/us/SKU-00003-1", json={"on_hand": 9})).status_code == 401
    assert (await stock_of(client, "SKU-00003-1"))["on_hand"] == 50

"""The checkout service's app factory: carts, orders and the sweeper that settles what time leaves behind."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import httpx
from litestar import Litestar

from backends.checkout import stock
from backends.checkout.carts import CartError, Carts
from backends.checkout.controllers import CheckoutController, cart_error, upstream_error
from backends.checkout.metrics import checkout_metrics, funnel_metrics
from backends.checkout.migrations import SCHEMA
from backends.checkout.models import CheckoutEvent
from backends.checkout.orders import Orders
from backends.checkout.payments import TestPaymentProvider
from backends.checkout.rules import load_rules
from backends.checkout.schemas import OUTBOX_PAYLOADS
from backends.checkout.settings import CheckoutSettings
from backends.checkout.upstreams import Upstreams, UpstreamUnavailable
from backends.common import create_service_app, utcnow
from backends.common.traces import propagate

_log = logging.getLogger(__name__)


def create_app(
    settings: CheckoutSettings | None = None,
    *,
    mounts: dict[str, httpx.AsyncBaseTransport] | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> Litestar:
    """`mounts` routes catalog and pricing calls to other transports (tests use in-process apps); `clock` is
    what cart, reservation and pending-order expiry are judged by (tests pass one they can move forward)."""
    settings = settings or CheckoutSettings.from_env()
    rules = load_rules(settings.regions)

    @asynccontextmanager
    async def services(app: Litestar) -> AsyncIterator[None]:
        # Reads of catalog and pricing carry the order's trace context (`propagate`: nothing when untraced).
        hooks = {"request": [propagate]}
        async with httpx.AsyncClient(timeout=httpx.Timeout(5.0), mounts=mounts, event_hooks=hooks) as client:
            upstreams = Upstreams(client, catalog_url=settings.catalog_url, pricing_url=settings.pricing_url)
            app.state.carts = Carts(app.state.db, upstreams, rules, timedelta(seconds=settings.cart_ttl), clock=clock)
            provider = TestPaymentProvider(app.state.db, hang_seconds=settings.test_card_hang)
            app.state.orders = Orders(app.state.carts, provider, payment_timeout=settings.payment_timeout)
            yield

    app = create_service_app(
        settings=settings,
        schema=SCHEMA,
        outbox_model=CheckoutEvent,
        outbox_payloads=OUTBOX_PAYLOADS,
        route_handlers=[CheckoutController],
        resources=[services],
        background=[sweep],
        exception_handlers={CartError: cart_error, UpstreamUnavailable: upstream_error},
        state={"reservations_expired": 0},
    )
    app.state.metrics.read(checkout_metrics)
    app.state.metrics.read_async(funnel_metrics)
    return app


async def sweep(app: Litestar) -> None:
    """Release expired reservations and settle orders a crash or timeout left pending; first at start-up."""
    settings: CheckoutSettings = app.state.settings
    orders: Orders = app.state.orders
    while True:
        try:
            now = orders.clock()
            async with app.state.db.write() as session:
                released = await stock.release_expired(session, now)
            if released:
                _log.info("released %d expired reservations", released)
                app.state.reservations_expired += released
            await orders.reconcile(older_than=now - timedelta(seconds=settings.payment_timeout))
            await orders.forget_old_keys(now)
        except Exception:
            _log.exception("checkout sweep failed; retrying")
        await asyncio.sleep(settings.sweep_interval)

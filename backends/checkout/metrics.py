"""Checkout's Prometheus metrics, read at scrape time from what the service counts anyway."""

from __future__ import annotations

from collections.abc import Iterable

from litestar.datastructures import State
from prometheus_client.metrics_core import CounterMetricFamily, Metric
from sqlalchemy import func, select

from backends.checkout.funnel import STEPS
from backends.checkout.models import FunnelStep
from backends.common.metrics import counter

ORDER_OUTCOMES = ("placed", "declined", "provider_error", "payment_pending")


def checkout_metrics(state: State) -> Iterable[Metric]:
    if "orders" not in state:  # before the lifespan made it
        return
    orders = CounterMetricFamily(
        "storefront_orders",
        "Orders by outcome: placed, declined (the card), provider_error (nothing charged), payment_pending (the "
        "provider did not answer in time; reconciliation settles it later and counts it again as settled).",
        labels=["outcome"],
    )
    for outcome in ORDER_OUTCOMES:
        orders.add_metric([outcome], state.orders.outcomes[outcome])
    yield orders
    yield counter(
        "storefront_reservations_expired",
        "Stock reservations released because checkout was not completed in time.",
        state.reservations_expired,
    )


async def funnel_metrics(state: State) -> list[Metric]:
    """Carts that reached each checkout step, by region: counted in the funnel table (a cart once per step), so
    every worker of the service reports the same totals. Every step and region is exported, zero included, so a
    rate divides by a series that exists; labels come from the fixed steps and the region catalogue only."""
    async with state.db.sessionmaker() as session:
        rows = await session.execute(
            select(FunnelStep.region, FunnelStep.step, func.count()).group_by(FunnelStep.region, FunnelStep.step)
        )
        counts = {(region, step): carts for region, step, carts in rows.all()}
    family = CounterMetricFamily(
        "storefront_checkout_funnel_carts",
        f"Carts that reached each checkout step ({', '.join(STEPS)}), by region; `storefront funnel` prints the "
        "same counts as conversion.",
        labels=["region", "step"],
    )
    for region in state.settings.regions.codes:
        for step in STEPS:
            family.add_metric([region, step], counts.get((region, step), 0))
    return [family]

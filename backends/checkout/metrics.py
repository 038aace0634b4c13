"""Checkout's Prometheus metrics, read at scrape time from what the service counts anyway."""

from __future__ import annotations

from collections.abc import Iterable

from litestar.datastructures import State
from prometheus_client.metrics_core import CounterMetricFamily, Metric

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

"""The invalidator's Prometheus metrics: purge lag from a change's commit to each edge's acknowledgement, failed
deliveries, how far each outbox has been read, and the counters of `/internal/metrics`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from litestar import Litestar
from litestar.datastructures import State
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.metrics_core import Metric

from backends.common.metrics import counter
from cache.invalidation.store import Due

# Seconds: the SLO is a p99 under 1 s; retries back off up to 30 s.
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class InvalidatorMetrics:
    """On the app's registry (`app.state.invalidator_metrics`); label values are region codes from the
    catalogue, edge kinds from the registry and outbox names from the settings: all bounded."""

    def __init__(self, app: Litestar) -> None:
        registry = app.state.metrics.registry
        self.lag = Histogram(
            "storefront_purge_lag_seconds",
            "From the commit of the change behind a purge (an API purge: its recording) to the edge's "
            "acknowledgement, per region and edge kind; follow-up purges are not counted.",
            ["region", "edge_kind"],
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.failures = Counter(
            "storefront_purge_delivery_failures",
            "Purge deliveries an edge refused or did not answer; each is retried with backoff.",
            ["region", "edge_kind"],
            registry=registry,
        )
        self.sequence = Gauge(
            "storefront_outbox_consumed_sequence",
            "The last outbox sequence number turned into purges, per source service.",
            ["source"],
            registry=registry,
        )

    def acknowledged(self, region: str, items: Sequence[Due], now: datetime) -> None:
        for item in items:
            if not item.followup and item.since is not None:
                self.lag.labels(region, item.edge.kind).observe(max(0.0, (now - item.since).total_seconds()))

    def failed(self, region: str, items: Sequence[Due]) -> None:
        for item in items:
            self.failures.labels(region, item.edge.kind).inc()

    def consumed(self, source: str, seq: int) -> None:
        self.sequence.labels(source).set(seq)


def _counters(state: State) -> Iterable[Metric]:
    """What `/internal/metrics` shows, read from the same counter."""
    counts = state.counters
    yield counter("storefront_purges_applied", "Purge deliveries edges acknowledged.", counts["purges_applied"])
    yield counter("storefront_objects_purged", "Objects the edges said they removed.", counts["objects_purged"])
    yield counter("storefront_events_parked", "Outbox events no planner could read.", counts["events_parked"])


def install_invalidator_metrics(app: Litestar) -> InvalidatorMetrics:
    app.state.metrics.read(_counters)
    metrics = InvalidatorMetrics(app)
    app.state.invalidator_metrics = metrics
    return metrics

"""Prometheus metrics for one app: its own registry, HTTP RED metrics by route template, and the scrape route.

Why not `litestar.plugins.prometheus`: it keeps its metrics in a class-level dict on the global registry (tests
build many apps in one process), labels by raw path unless `group_path`, by exact status code, never sees a
request no route matched (its middleware runs after routing), and does not use the OpenTelemetry names.

`install_metrics(app)` wraps the app's ASGI handler (so 404s and 405s from routing are measured too), adds the
scrape route and leaves a `Metrics` on `app.state.metrics` for the service's own instruments. Numbers a service
already keeps for its JSON status pages are read at scrape time by `readers` (`state -> metric families`), so
the two always agree and the request path does no extra work for them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import prometheus_client
from litestar import Litestar, Request, Response, get
from litestar.datastructures import State
from litestar.types import Guard, Message, Receive, Scope, Send
from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import func, select

from backends.common.outbox import OutboxEventMixin

# Seconds: a cached page answers in under a millisecond, a long poll of an outbox in up to 30 s.
DURATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # the route label of a request no route matched (a 404 or 405 from routing)
# The classic text format every Prometheus reads (Litestar appends the charset).
CONTENT_TYPE = "text/plain; version=0.0.4"
_TYPED_PARAM = re.compile(r"\{(\w+):[^}]+\}")

Reader = Callable[[State], Iterable[Metric]]
AsyncReader = Callable[[State], Awaitable[Iterable[Metric]]]  # numbers that need a query (a database's)

# `_created` series double every counter and histogram for a timestamp nobody charts (a process-wide switch of
# the client library, idempotent).
prometheus_client.disable_created_metrics()


def counter(name: str, documentation: str, value: float, labels: dict[str, str] | None = None) -> Metric:
    """A counter family with one sample, for readers (`name` without `_total`)."""
    family = CounterMetricFamily(name, documentation, labels=list(labels or ()))
    family.add_metric(list((labels or {}).values()), value)
    return family


def gauge(name: str, documentation: str, value: float) -> Metric:
    return GaugeMetricFamily(name, documentation, value=value)


def status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status < 600 else "other"


class _StateCollector:
    """Calls the readers with the app's state at scrape time."""

    def __init__(self, readers: Sequence[Reader]) -> None:
        self.readers = list(readers)
        self.state: State | None = None

    def describe(self) -> list[Metric]:
        return []  # names are not known before the app runs; readers keep them apart from the instruments

    def collect(self) -> Iterable[Metric]:
        if self.state is None:
            return
        for reader in self.readers:
            yield from reader(self.state)


class _Families:
    """Metric families read for one scrape, in the shape `generate_latest` reads."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> list[Metric]:
        return self.families


class Metrics:
    """One app's registry and its HTTP instruments; services add their own with `histogram` and `gauge`."""

    def __init__(self, readers: Sequence[Reader] = (), async_readers: Sequence[AsyncReader] = ()) -> None:
        self.registry = CollectorRegistry()
        self.duration = Histogram(
            "http_server_request_duration_seconds",
            "Duration of HTTP server requests (OpenTelemetry http.server.request.duration), by route template.",
            ["method", "route", "status_class"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.active = Gauge(
            "http_server_active_requests",
            "HTTP server requests in flight (OpenTelemetry http.server.active_requests).",
            registry=self.registry,
        )
        self._collector = _StateCollector(readers)
        self.registry.register(self._collector)
        self.async_readers = list(async_readers)
        self._routes: dict[str, str] = {}

    def bind(self, state: State) -> None:
        self._collector.state = state

    def read(self, *readers: Reader) -> None:
        """Add readers of numbers the app keeps anyway (read at scrape time)."""
        self._collector.readers.extend(readers)

    def read_async(self, *readers: AsyncReader) -> None:
        """Add readers of numbers that need a query (read at scrape time)."""
        self.async_readers.extend(readers)

    def route(self, scope: Scope) -> str:
        """`/{region:str}/{lang:str}/p/{slug:str}` as `/{region}/{lang}/p/{slug}`; `unmatched` before routing."""
        template = scope.get("path_template")
        if not template:
            return UNMATCHED
        found = self._routes.get(template)
        if found is None:  # one entry per route of the app: bounded
            found = self._routes[template] = _TYPED_PARAM.sub(r"{\1}", template)
        return found

    async def exposition(self, state: State) -> bytes:
        queried = [family for reader in self.async_readers for family in await reader(state)]
        return generate_latest(self.registry) + generate_latest(_Families(queried))  # type: ignore[arg-type]


class _Measured:
    """The outermost ASGI layer: times every HTTP request and counts those in flight."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0

        async def measured_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        metrics = self.metrics
        started = time.perf_counter()
        metrics.active.inc()
        try:
            await self.app(scope, receive, measured_send)
        finally:
            metrics.active.dec()
            if status:  # a request the client gave up on before any answer has no status to file it under
                method = scope["method"] if scope["method"] in METHODS else "OTHER"
                metrics.duration.labels(method, metrics.route(scope), status_class(status)).observe(
                    time.perf_counter() - started
                )


def install_metrics(
    app: Litestar,
    *,
    path: str = "/metrics",
    guards: Sequence[Guard] = (),
    readers: Sequence[Reader] = (),
    async_readers: Sequence[AsyncReader] = (),
) -> Metrics:
    """Give `app` its own registry (`app.state.metrics`), HTTP RED metrics and a Prometheus text route at `path`."""
    metrics = Metrics(readers, async_readers)
    app.state.metrics = metrics

    @get(path, guards=list(guards), include_in_schema=False, name="prometheus")
    async def scrape(request: Request[Any, Any, Any]) -> Response[bytes]:
        body = await metrics.exposition(request.app.state)
        return Response(body, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})

    app.register(scrape)
    metrics.bind(app.state)
    app.asgi_handler = _Measured(app.asgi_handler, metrics)
    return metrics


def outbox_head(model: type[OutboxEventMixin], source: str) -> AsyncReader:
    """The newest sequence number in a service's outbox; the invalidator exports how far it has read
    (`storefront_outbox_consumed_sequence`), so the backlog is one subtraction in PromQL."""

    async def read(state: State) -> list[Metric]:
        async with state.db.sessionmaker() as session:
            head = await session.scalar(select(func.max(model.seq)))
        family = GaugeMetricFamily(
            "storefront_outbox_head_sequence", "Newest sequence number in this service's outbox.", labels=["source"]
        )
        family.add_metric([source], head or 0)
        return [family]

    return read


def replica_metrics(state: State) -> Iterable[Metric]:
    """The read replica as this process sees it (`backends/common/replica.py`)."""
    replica = state.get("replica")
    if replica is None:  # before the lifespan made it
        return
    lag = GaugeMetricFamily(
        "storefront_db_replica_lag_seconds",
        "Seconds the read replica is behind (its last measurement; +Inf while unreachable).",
    )
    lag.add_metric([], replica.lag)
    yield lag
    yield gauge(
        "storefront_db_replica_in_use",
        "1 while public reads go to the replica, 0 while to the primary.",
        1.0 if replica.in_use else 0.0,
    )
    waits = CounterMetricFamily(
        "storefront_db_replica_waits",
        "Outbox hand-outs that waited for the replica: replayed, or timed_out (the replica then left out of use).",
        labels=["outcome"],
    )
    for outcome, count in replica.waits.items():
        waits.add_metric([outcome], count)
    yield waits

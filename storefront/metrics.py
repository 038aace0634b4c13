"""The origin's Prometheus metrics: upstream reads, pages by kind and cache outcome, surrogate keys, load shedding,
page cache and CMS fallbacks, image variants; served at `/internal/prometheus` behind the admin token."""

from __future__ import annotations

from collections.abc import Iterable

from litestar import Litestar
from litestar.datastructures import State
from prometheus_client import Counter, Histogram
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from backends.common.auth import require_token
from backends.common.metrics import DURATION_BUCKETS, Metrics, Reader, counter, gauge, install_metrics
from cache.canonical import PAGE_KINDS

PATH = "/internal/prometheus"  # under /internal/: the edge refuses it to shoppers, and it is never shed
UPSTREAMS = ("catalog", "pricing", "cms", "checkout")
READ_OUTCOMES = ("ok", "error", "timeout", "unavailable")
PAGE_OUTCOMES = ("HIT", "MISS", "STALE", "STALE-IF-ERROR", "PASS")
# Page routes by handler name -> the page kind of cache/canonical.py.
KINDS = {kind.name: kind.name for kind in PAGE_KINDS} | {
    "region-sitemap": "sitemap",
    "favicon-svg": "asset",
    "favicon-ico": "asset",
    "touch-icon": "asset",
}
OTHER = "other"
_KEY_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)
_BYTE_BUCKETS = (64, 256, 1024, 2048, 4096, 8192, 12288, 16384, 32768)
_ENCODE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_PAGE_CACHE_EVENTS = ("hit", "stale", "stale_if_error", "miss", "coalesced", "purged")
_IMAGE_JOB_EVENTS = ("jobs", "refused", "died", "too_large")


class OriginMetrics:
    """The origin's own instruments, on its app's registry (`app.state.origin_metrics`)."""

    def __init__(self, metrics: Metrics) -> None:
        self.registry = registry = metrics.registry
        self.reads = Histogram(
            "storefront_upstream_read_duration_seconds",
            "Upstream reads by upstream and outcome: ok (answered below 500), error (5xx or transport error), "
            "timeout (the client's timeout, or the page stopped waiting: its budget ran out or a critical read "
            "failed), unavailable (circuit open or "
            "pool full: refused without asking).",
            ["upstream", "outcome"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        for upstream in UPSTREAMS:
            for outcome in READ_OUTCOMES:
                # Every series from the first scrape: rate() cannot see the failures before a series first appears.
                self.reads.labels(upstream, outcome)
        self.pages = Counter(
            "storefront_page_responses",
            "Page responses by page kind and cache outcome (PASS: no origin page cache, an edge is in front).",
            ["kind", "cache"],
            registry=registry,
        )
        self.keys = Histogram(
            "storefront_page_surrogate_keys",
            "Surrogate keys per rendered page (plain and region-scoped), by page kind.",
            ["kind"],
            buckets=_KEY_BUCKETS,
            registry=registry,
        )
        self.key_bytes = Histogram(
            "storefront_page_surrogate_key_bytes",
            "Bytes of the Surrogate-Key header per rendered page (bounded to 16 KB), by page kind.",
            ["kind"],
            buckets=_BYTE_BUCKETS,
            registry=registry,
        )
        self.variants = Histogram(
            "storefront_image_variant_build_seconds",
            "Image variants made on first request, by format: seconds from asking a worker to the file written.",
            ["format"],
            buckets=_ENCODE_BUCKETS,
            registry=registry,
        )

    def upstream_read(self, upstream: str, outcome: str, seconds: float) -> None:
        self.reads.labels(upstream if upstream in UPSTREAMS else OTHER, outcome).observe(seconds)

    def page(self, handler: str | None, outcome: str) -> None:
        self.pages.labels(KINDS.get(handler or "", OTHER), outcome).inc()

    def rendered(self, handler: str | None, keys: int, header_bytes: int) -> None:
        kind = KINDS.get(handler or "", OTHER)
        self.keys.labels(kind).observe(keys)
        self.key_bytes.labels(kind).observe(header_bytes)

    def variant_built(self, fmt: str, seconds: float) -> None:
        self.variants.labels(fmt).observe(seconds)


def _counters(state: State) -> Iterable[Metric]:
    """What `/internal/metrics` shows, read from the same objects."""
    counts = state.counters
    yield counter(
        "storefront_requests", "Requests shoppers and edges sent (probes and /internal aside).", counts["requests"]
    )
    yield counter("storefront_page_requests", "Requests for cacheable pages.", counts["page_requests"])
    yield counter("storefront_page_renders", "Pages rendered (misses and revalidations).", counts["renders"])
    yield counter("storefront_shed_requests", "Requests refused with a quick 503 (load shedding).", counts["shed"])
    limit = state.render_limit
    yield gauge("storefront_render_slots", "Render slots (STOREFRONT_MAX_RENDERS).", limit.limit)
    yield gauge("storefront_render_slots_in_use", "Renders holding a slot.", limit.in_flight)
    yield gauge(
        "storefront_renders_waiting_on_upstreams",
        "Renders that gave their slot back while reading.",
        limit.waiting_on_upstreams,
    )
    yield gauge("storefront_render_queue", "Requests waiting for a render slot.", limit.queued)
    yield counter("storefront_cms_stale_served", "CMS reads answered from the last good copy.", state.cms.served_stale)


def _page_cache(state: State) -> Iterable[Metric]:
    cache = state.page_cache
    if cache is None:
        return
    events = CounterMetricFamily(
        "storefront_page_cache_events",
        "Origin page cache: hit, stale (served while revalidating), stale_if_error, miss (a render), coalesced "
        "(a miss that waited for another's render), purged (entries purged).",
        labels=["event"],
    )
    for event in _PAGE_CACHE_EVENTS:
        events.add_metric([event], cache.stats[event])
    yield events
    yield gauge("storefront_page_cache_entries", "Pages in the origin page cache.", len(cache))
    yield gauge("storefront_page_cache_bytes", "Bytes the origin page cache holds.", cache.bytes_used)


def _upstreams(state: State) -> Iterable[Metric]:
    open_ = GaugeMetricFamily(
        "storefront_upstream_circuit_open", "1 while the upstream's circuit is open or half-open.", labels=["upstream"]
    )
    busy = GaugeMetricFamily(
        "storefront_upstream_in_flight", "Requests in flight to the upstream.", labels=["upstream"]
    )
    for name, client in state.upstream_clients.items():
        open_.add_metric([name], float(client.breaker.state != "closed"))
        busy.add_metric([name], client.in_flight)
    yield open_
    yield busy


def _image_workers(state: State) -> Iterable[Metric]:
    workers = state.images.workers
    if workers is None:
        return
    jobs = CounterMetricFamily(
        "storefront_image_jobs",
        "Image worker jobs: jobs (started), refused (queue full), died (worker lost), too_large (over the memory "
        "ceiling).",
        labels=["event"],
    )
    for event in _IMAGE_JOB_EVENTS:
        jobs.add_metric([event], workers.counters[event])
    yield jobs


def _while_running(reader: Reader) -> Reader:
    """Readers of objects the lifespan creates answer nothing before it has run."""

    def read(state: State) -> Iterable[Metric]:
        return reader(state) if "render_limit" in state else ()

    return read


def install_origin_metrics(app: Litestar) -> OriginMetrics:
    """The origin's registry and scrape route (admin token: the origin is the one service shoppers reach)."""
    metrics = install_metrics(
        app,
        path=PATH,
        guards=[require_token],
        readers=[_while_running(r) for r in (_counters, _page_cache, _upstreams, _image_workers)],
    )
    origin = OriginMetrics(metrics)
    app.state.origin_metrics = origin
    app.state.images.on_variant_built = origin.variant_built
    return origin

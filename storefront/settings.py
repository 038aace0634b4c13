"""The origin's settings, read once from `STOREFRONT_*` variables."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from backends.common.settings import (
    ADMIN_TOKEN,
    CATALOG_URL,
    CHECKOUT_URL,
    CMS_URL,
    DATA_DIR,
    LOG_FORMAT,
    LOG_LEVEL,
    ORIGIN_URL,
    OTLP_ENDPOINT,
    PRICING_URL,
    REGIONS_FILE,
    SECRET_KEY,
    TRACE_SAMPLE,
    TRACES,
    Env,
    FromEnv,
    Listening,
    Observed,
    Var,
    derived,
    integer,
    required,
    setting,
    workers,
)
from edge_config import RegionCatalogue
from image_pipeline.variants import DEFAULT_ENCODING, Encoding

# One variable per encoder field, named after it (STOREFRONT_JPEG_QUALITY, ...), defaulting to the encoder's own.
ENCODING_VARS = {f.name: Var(f.name.upper(), getattr(DEFAULT_ENCODING, f.name)) for f in fields(Encoding)}


def _encoding(env: Env) -> Encoding:
    return Encoding(**{name: var.read(env) for name, var in ENCODING_VARS.items()})


def _switch(_name: str, raw: str) -> bool:
    return raw.lower() not in {"off", "0", "false", "no"}


def _megabytes(name: str, raw: str) -> int:
    return integer(name, raw) * 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class OriginSettings(FromEnv, Listening, Observed):
    url: str = setting(ORIGIN_URL)
    workers: int = setting(workers("origin"))
    catalog_url: str = setting(CATALOG_URL)
    pricing_url: str = setting(PRICING_URL)
    cms_url: str = setting(CMS_URL)
    checkout_url: str = setting(CHECKOUT_URL)
    regions: RegionCatalogue = setting(REGIONS_FILE)
    admin_token: str = required(ADMIN_TOKEN)
    images_dir: Path = derived(lambda env: DATA_DIR.read(env) / "images")
    image_encoding: Encoding = derived(_encoding, default=DEFAULT_ENCODING)
    templates_dir: Path = Path(__file__).resolve().parent.parent / "templates"
    # Per-upstream read budgets in seconds: past it, optional data is dropped and critical data fails.
    catalog_timeout: float = setting("CATALOG_TIMEOUT", 1.0)
    pricing_timeout: float = setting("PRICING_TIMEOUT", 0.5)
    cms_timeout: float = setting("CMS_TIMEOUT", 0.3)
    # Connections per upstream (each upstream has its own pool: a bulkhead).
    pool_size: int = setting("UPSTREAM_POOL_SIZE", 64)
    breaker_failures: int = setting("BREAKER_FAILURES", 5)  # consecutive failed reads that open an upstream's circuit
    breaker_cooldown: float = setting("BREAKER_COOLDOWN", 2.0)  # seconds an open circuit refuses reads before a trial
    # Renders (and other non-page requests) at once; past it requests wait...
    max_renders: int = setting("MAX_RENDERS", 24)
    shed_after: float = setting("SHED_AFTER", 0.1)  # ...at most this long for a slot, then a quick 503 with Retry-After
    # How long an edge's refresh of a copy it holds may wait (behind an edge only).
    refresh_wait: float = setting("REFRESH_WAIT", 2.0)
    degraded_ttl: int = setting("DEGRADED_TTL", 5)  # s-maxage of a page rendered with an optional read missing or stale
    page_cache: bool = setting(Var("PAGE_CACHE", True, parse=_switch))
    page_cache_bytes: int = setting(Var("PAGE_CACHE_MB", 64 * 1024 * 1024, parse=_megabytes))
    cms_cache_ttl: float = setting("CMS_CACHE_TTL", 1.0)
    upstream_cache_ttl: float = setting("UPSTREAM_CACHE_TTL", 0.0)
    page_ttl: int = setting("PAGE_TTL", 60)
    geo_header: str = setting(Var("GEO_HEADER", "x-geo-region", parse=lambda _name, raw: raw.lower()))
    default_region: str = setting(Var("DEFAULT_REGION", fallback=lambda env: REGIONS_FILE.read(env).regions[0].code))
    secret_key: str = required(SECRET_KEY)  # signs CSRF tokens
    checkout_timeout: float = setting("CHECKOUT_TIMEOUT", 15.0)  # placing an order waits on the payment provider
    # Processes that decode and encode images, so the origin never does.
    image_workers: int = setting("IMAGE_WORKERS", 2)
    # Memory one image job may use beyond its idle worker: a 40 MP WebP upload, the largest, needs ~610 MB.
    image_job_memory_mb: int = setting("IMAGE_JOB_MEMORY_MB", 768)
    # The shop's public address for canonical links, hreflang, sitemaps and structured data (never the Host
    # header: a cached page must not depend on it). Empty: the origin's own URL.
    public_url: str = setting("PUBLIC_URL", "")
    log_level: str = setting(LOG_LEVEL)
    log_format: str = setting(LOG_FORMAT)
    traces: str = setting(TRACES)
    otlp_endpoint: str = setting(OTLP_ENDPOINT)
    trace_sample: float = setting(TRACE_SAMPLE)
    span_exporter: Any = field(default=None, compare=False)

    @property
    def site(self) -> str:
        """The absolute base of every public link, without a trailing slash."""
        return (self.public_url or self.url).rstrip("/")

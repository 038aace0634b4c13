"""Settings for every service, read once from `STOREFRONT_*` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from edge_config import RegionCatalogue, load_regions
from image_pipeline.variants import Encoding

ENV_PREFIX = "STOREFRONT_"
_DEV_TOKEN_PREFIX = "dev-"  # noqa: S105 - marks development defaults, not a secret


def _get(env: Mapping[str, str], name: str, default: str) -> str:
    return env.get(ENV_PREFIX + name, default)


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = _get(env, name, str(default))
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{ENV_PREFIX}{name} must be a number, got {raw!r}") from exc


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = _get(env, name, str(default))
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{ENV_PREFIX}{name} must be an integer, got {raw!r}") from exc


_SECRETS = ("ADMIN_TOKEN", "EDITOR_TOKEN", "PREVIEW_TOKEN", "WEBHOOK_SECRET", "SECRET_KEY")


def _refuse_development_secrets(env: Mapping[str, str]) -> None:
    """With STOREFRONT_ENV=production, no service starts on a development default, an unset or a short secret."""
    weak = [
        ENV_PREFIX + name
        for name in _SECRETS
        if len(_get(env, name, "")) < 16 or _get(env, name, "").startswith(_DEV_TOKEN_PREFIX)
    ]
    if weak:
        raise ValueError(
            f"STOREFRONT_ENV=production refuses development or missing secrets: set {', '.join(weak)} "
            "to random values of at least 16 characters (not starting with 'dev-')"
        )


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """What every backend needs: where it listens, its database, its tokens."""

    name: str
    url: str
    database_url: str
    admin_token: str
    regions: RegionCatalogue
    echo_sql: bool = False

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or 80


@dataclass(frozen=True, slots=True)
class CatalogSettings(ServiceSettings):
    low_stock_threshold: int = 5
    checkout_url: str = ""  # the catalog's displayed stock follows checkout's (empty: nothing to follow)
    stock_wait: float = 25.0  # seconds each long poll of checkout's outbox may wait for a stock change
    stock_retry: float = 1.0  # seconds before asking again after checkout failed to answer


@dataclass(frozen=True, slots=True)
class CheckoutSettings(ServiceSettings):
    catalog_url: str = "http://127.0.0.1:8101"
    pricing_url: str = "http://127.0.0.1:8102"
    cart_ttl: float = 30 * 86400.0  # seconds a cart lives after its last change
    reservation_ttl: float = 900.0  # seconds stock stays held once checkout starts
    payment_timeout: float = 10.0  # seconds to wait for the payment provider before reconciling instead
    sweep_interval: float = 5.0  # how often expired reservations are released and pending orders settled
    test_card_hang: float = 60.0  # how long the test provider's "times out" card keeps the caller waiting


@dataclass(frozen=True, slots=True)
class CmsSettings(ServiceSettings):
    preview_token: str = ""
    scheduler_interval: float = 30.0  # longest sleep of the scheduled-publish loop (it wakes when one is due)
    webhook_url: str = ""  # told after every publish, so purges need not wait for the next outbox poll
    webhook_secret: str = ""


@dataclass(frozen=True, slots=True)
class OriginSettings:
    url: str
    catalog_url: str
    pricing_url: str
    cms_url: str
    checkout_url: str
    regions: RegionCatalogue
    admin_token: str = ""
    images_dir: Path = Path("var/images")
    image_encoding: Encoding = field(default_factory=Encoding)
    templates_dir: Path = Path(__file__).resolve().parent.parent / "templates"
    # Per-upstream read budgets in seconds: past it, optional data is dropped and critical data fails.
    catalog_timeout: float = 1.0
    pricing_timeout: float = 0.5
    cms_timeout: float = 0.3
    pool_size: int = 64  # connections per upstream (each upstream has its own pool: a bulkhead)
    breaker_failures: int = 5  # consecutive failed reads that open an upstream's circuit
    breaker_cooldown: float = 2.0  # seconds an open circuit refuses reads before one trial
    max_renders: int = 24  # renders (and other non-page requests) at once; past it requests wait...
    shed_after: float = 0.1  # ...at most this long for a slot, then get a quick 503 with Retry-After
    refresh_wait: float = 2.0  # how long an edge's refresh of a copy it holds may wait (behind an edge only)
    degraded_ttl: int = 5  # s-maxage of a page rendered with an optional read missing or stale
    page_cache: bool = True
    page_cache_bytes: int = 64 * 1024 * 1024
    cms_cache_ttl: float = 1.0
    upstream_cache_ttl: float = 0.0
    page_ttl: int = 60
    geo_header: str = "x-geo-region"
    default_region: str = "us"
    secret_key: str = ""  # signs CSRF tokens; set STOREFRONT_SECRET_KEY in production
    checkout_timeout: float = 15.0  # placing an order waits on the payment provider
    image_workers: int = 2  # processes that decode and encode images, so the origin never does
    # Memory one image job may use beyond its idle worker: a 40 MP WebP upload, the largest, needs ~610 MB.
    image_job_memory_mb: int = 768
    # The shop's public address for canonical links, hreflang, sitemaps and structured data (never the Host
    # header: a cached page must not depend on it). Empty: the origin's own URL.
    public_url: str = ""

    @property
    def site(self) -> str:
        """The absolute base of every public link, without a trailing slash."""
        return (self.public_url or self.url).rstrip("/")

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or 80


@dataclass(frozen=True, slots=True)
class InvalidatorSettings(ServiceSettings):
    """The purge service: purge API, outbox consumer and one purger per region."""

    edge: str = "origin"  # which edges to purge: the origin page cache, or the regions' Varnish
    origin_url: str = "http://127.0.0.1:8000"
    outboxes: dict[str, tuple[str, str]] = field(default_factory=dict)  # service -> (url, token)
    outbox_wait: float = 25.0  # seconds each long poll of a backend's outbox may be held by the backend
    poll_interval: float = 0.02  # pause after an empty answer (a backend that does not long-poll)
    purge_recheck: float = 30.0  # purgers sleep until woken or a delayed delivery falls due, at most this long
    followup_delay: float = 2.0
    fastly_token: str = ""
    fastly_api: str = "https://api.fastly.com"
    cloudflare_token: str = ""
    cloudflare_api: str = "https://api.cloudflare.com/client/v4"
    purge_rate: float = 10.0
    webhook_secret: str = ""
    redis_url: str = ""  # set: the purge log is Redis Streams instead of the database


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    catalog: CatalogSettings
    pricing: ServiceSettings
    cms: CmsSettings
    checkout: CheckoutSettings
    origin: OriginSettings
    invalidator: InvalidatorSettings
    regions: RegionCatalogue = field(repr=False)
    edge_grace: float = 30.0  # seconds a Varnish edge serves a stale copy while it revalidates (origin healthy)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(_get(env, "DATA_DIR", "var")).resolve()
        regions = load_regions(_get(env, "REGIONS_FILE", "") or None)
        shared_db = _get(env, "DATABASE_URL", "")
        admin_token = _get(env, "ADMIN_TOKEN", f"{_DEV_TOKEN_PREFIX}admin-token")
        echo = _get(env, "ECHO_SQL", "") == "1"

        def db(service: str) -> str:
            default = shared_db or f"sqlite+aiosqlite:///{data_dir / (service + '.db')}"
            return _get(env, f"{service.upper()}_DATABASE_URL", default)

        urls = {
            "origin": _get(env, "ORIGIN_URL", "http://127.0.0.1:8000"),
            "catalog": _get(env, "CATALOG_URL", "http://127.0.0.1:8101"),
            "pricing": _get(env, "PRICING_URL", "http://127.0.0.1:8102"),
            "cms": _get(env, "CMS_URL", "http://127.0.0.1:8103"),
            "checkout": _get(env, "CHECKOUT_URL", "http://127.0.0.1:8104"),
            "invalidator": _get(env, "INVALIDATOR_URL", "http://127.0.0.1:8105"),
        }
        editor_token = _get(env, "EDITOR_TOKEN", f"{_DEV_TOKEN_PREFIX}editor-token")
        webhook_secret = _get(env, "WEBHOOK_SECRET", f"{_DEV_TOKEN_PREFIX}webhook-secret")
        if _get(env, "ENV", "development").lower() == "production":
            _refuse_development_secrets(env)
        return cls(
            data_dir=data_dir,
            regions=regions,
            edge_grace=_float(env, "EDGE_GRACE", 30.0),
            catalog=CatalogSettings(
                name="catalog",
                url=urls["catalog"],
                database_url=db("catalog"),
                admin_token=admin_token,
                regions=regions,
                echo_sql=echo,
                low_stock_threshold=_int(env, "LOW_STOCK_THRESHOLD", 5),
                checkout_url=urls["checkout"],
                stock_wait=_float(env, "STOCK_WAIT", 25.0),
                stock_retry=_float(env, "STOCK_RETRY", 1.0),
            ),
            checkout=CheckoutSettings(
                name="checkout",
                url=urls["checkout"],
                database_url=db("checkout"),
                admin_token=admin_token,
                regions=regions,
                echo_sql=echo,
                catalog_url=urls["catalog"],
                pricing_url=urls["pricing"],
                cart_ttl=_float(env, "CART_TTL", 30 * 86400.0),
                reservation_ttl=_float(env, "RESERVATION_TTL", 900.0),
                payment_timeout=_float(env, "PAYMENT_TIMEOUT", 10.0),
                sweep_interval=_float(env, "CHECKOUT_SWEEP_INTERVAL", 5.0),
                test_card_hang=_float(env, "TEST_CARD_HANG", 60.0),
            ),
            pricing=ServiceSettings(
                name="pricing",
                url=urls["pricing"],
                database_url=db("pricing"),
                admin_token=admin_token,
                regions=regions,
                echo_sql=echo,
            ),
            cms=CmsSettings(
                name="cms",
                url=urls["cms"],
                database_url=db("cms"),
                admin_token=editor_token,
                preview_token=_get(env, "PREVIEW_TOKEN", f"{_DEV_TOKEN_PREFIX}preview-token"),
                regions=regions,
                echo_sql=echo,
                scheduler_interval=_float(env, "CMS_SCHEDULER_INTERVAL", 30.0),
                webhook_url=_get(env, "CMS_WEBHOOK_URL", f"{urls['invalidator']}/hooks/cms"),
                webhook_secret=webhook_secret,
            ),
            invalidator=InvalidatorSettings(
                name="invalidator",
                url=urls["invalidator"],
                database_url=_get(env, "INVALIDATOR_DATABASE_URL", f"sqlite+aiosqlite:///{data_dir / 'purges.db'}"),
                admin_token=admin_token,
                regions=regions,
                echo_sql=echo,
                edge=_get(env, "EDGE", "origin"),
                origin_url=urls["origin"],
                outboxes={
                    "catalog": (urls["catalog"], admin_token),
                    "pricing": (urls["pricing"], admin_token),
                    "cms": (urls["cms"], editor_token),
                },
                outbox_wait=_float(env, "OUTBOX_WAIT", 25.0),
                poll_interval=_float(env, "PURGE_POLL_INTERVAL", 0.02),
                purge_recheck=_float(env, "PURGE_RECHECK", 30.0),
                followup_delay=_float(env, "PURGE_FOLLOWUP_DELAY", 2.0),
                fastly_token=_get(env, "FASTLY_TOKEN", ""),
                fastly_api=_get(env, "FASTLY_API", "https://api.fastly.com"),
                cloudflare_token=_get(env, "CLOUDFLARE_TOKEN", ""),
                cloudflare_api=_get(env, "CLOUDFLARE_API", "https://api.cloudflare.com/client/v4"),
                purge_rate=_float(env, "PURGE_RATE", 10.0),
                webhook_secret=webhook_secret,
                redis_url=_get(env, "REDIS_URL", ""),
            ),
            origin=OriginSettings(
                url=urls["origin"],
                catalog_url=urls["catalog"],
                pricing_url=urls["pricing"],
                cms_url=urls["cms"],
                checkout_url=urls["checkout"],
                regions=regions,
                admin_token=admin_token,
                images_dir=data_dir / "images",
                image_encoding=Encoding(
                    jpeg_quality=_int(env, "JPEG_QUALITY", 80),
                    webp_quality=_int(env, "WEBP_QUALITY", 80),
                    webp_method=_int(env, "WEBP_METHOD", 4),
                    avif_quality=_int(env, "AVIF_QUALITY", 64),
                    avif_speed=_int(env, "AVIF_SPEED", 8),
                ),
                catalog_timeout=_float(env, "CATALOG_TIMEOUT", 1.0),
                pricing_timeout=_float(env, "PRICING_TIMEOUT", 0.5),
                cms_timeout=_float(env, "CMS_TIMEOUT", 0.3),
                pool_size=_int(env, "UPSTREAM_POOL_SIZE", 64),
                breaker_failures=_int(env, "BREAKER_FAILURES", 5),
                breaker_cooldown=_float(env, "BREAKER_COOLDOWN", 2.0),
                max_renders=_int(env, "MAX_RENDERS", 24),
                shed_after=_float(env, "SHED_AFTER", 0.1),
                refresh_wait=_float(env, "REFRESH_WAIT", 2.0),
                degraded_ttl=_int(env, "DEGRADED_TTL", 5),
                page_cache=_get(env, "PAGE_CACHE", "on").lower() not in {"off", "0", "false", "no"},
                page_cache_bytes=_int(env, "PAGE_CACHE_MB", 64) * 1024 * 1024,
                cms_cache_ttl=_float(env, "CMS_CACHE_TTL", 1.0),
                upstream_cache_ttl=_float(env, "UPSTREAM_CACHE_TTL", 0.0),
                page_ttl=_int(env, "PAGE_TTL", 60),
                geo_header=_get(env, "GEO_HEADER", "x-geo-region").lower(),
                default_region=_get(env, "DEFAULT_REGION", regions.regions[0].code),
                secret_key=_get(env, "SECRET_KEY", f"{_DEV_TOKEN_PREFIX}secret-key"),
                checkout_timeout=_float(env, "CHECKOUT_TIMEOUT", 15.0),
                image_workers=_int(env, "IMAGE_WORKERS", 2),
                image_job_memory_mb=_int(env, "IMAGE_JOB_MEMORY_MB", 768),
                public_url=_get(env, "PUBLIC_URL", ""),
            ),
        )

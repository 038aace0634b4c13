"""The invalidator's settings (purge API, outbox consumer, one purger per region), read once from `STOREFRONT_*`."""

from __future__ import annotations

from dataclasses import dataclass

from backends.common.settings import (
    ADMIN_TOKEN,
    CATALOG_URL,
    CMS_URL,
    DATA_DIR,
    EDITOR_TOKEN,
    INVALIDATOR_URL,
    ORIGIN_URL,
    PRICING_URL,
    WEBHOOK_SECRET,
    Env,
    ServiceSettings,
    Var,
    derived,
    setting,
)


def _outboxes(env: Env) -> dict[str, tuple[str, str]]:
    admin = ADMIN_TOKEN.read(env)
    return {
        "catalog": (CATALOG_URL.read(env), admin),
        "pricing": (PRICING_URL.read(env), admin),
        "cms": (CMS_URL.read(env), EDITOR_TOKEN.read(env)),
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class InvalidatorSettings(ServiceSettings):
    name: str = "invalidator"
    url: str = setting(INVALIDATOR_URL)
    # Its own database, never the backends' shared one.
    database_url: str = setting(
        Var(
            "INVALIDATOR_DATABASE_URL",
            fallback=lambda env: f"sqlite+aiosqlite:///{DATA_DIR.read(env) / 'purges.db'}",
        )
    )
    edge: str = setting("EDGE", "origin")  # which edges to purge: the origin page cache, or the regions' Varnish
    origin_url: str = setting(ORIGIN_URL)
    # service -> (url, token)
    outboxes: dict[str, tuple[str, str]] = derived(_outboxes, default_factory=dict)
    outbox_wait: float = setting("OUTBOX_WAIT", 25.0)  # seconds each long poll of a backend's outbox may be held
    poll_interval: float = setting("PURGE_POLL_INTERVAL", 0.02)  # pause after an empty answer (no long poll)
    # Purgers sleep until woken or a delayed delivery falls due, at most this long.
    purge_recheck: float = setting("PURGE_RECHECK", 30.0)
    followup_delay: float = setting("PURGE_FOLLOWUP_DELAY", 2.0)
    fastly_token: str = setting("FASTLY_TOKEN", "")
    fastly_api: str = setting("FASTLY_API", "https://api.fastly.com")
    cloudflare_token: str = setting("CLOUDFLARE_TOKEN", "")
    cloudflare_api: str = setting("CLOUDFLARE_API", "https://api.cloudflare.com/client/v4")
    purge_rate: float = setting("PURGE_RATE", 10.0)
    webhook_secret: str = setting(WEBHOOK_SECRET)
    redis_url: str = setting("REDIS_URL", "")  # set: the purge log is Redis Streams instead of the database

"""The catalog service's settings, read once from `STOREFRONT_*` variables."""

from __future__ import annotations

from dataclasses import dataclass

from backends.common.settings import (
    CATALOG_URL,
    CHECKOUT_URL,
    PRICING_URL,
    ServiceSettings,
    database_replica_url,
    database_url,
    setting,
    workers,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class CatalogSettings(ServiceSettings):
    name: str = "catalog"
    url: str = setting(CATALOG_URL)
    database_url: str = setting(database_url("catalog"))
    database_replica_url: str = setting(database_replica_url("catalog"))
    workers: int = setting(workers("catalog"))
    low_stock_threshold: int = setting("LOW_STOCK_THRESHOLD", 5)
    checkout_url: str = setting(CHECKOUT_URL)  # the catalog's displayed stock follows checkout's (empty: nothing)
    pricing_url: str = setting(PRICING_URL)  # the catalog's price index follows pricing's prices (empty: nothing)
    stock_wait: float = setting("STOCK_WAIT", 25.0)  # seconds each long poll of checkout's or pricing's outbox may wait
    stock_retry: float = setting("STOCK_RETRY", 1.0)  # seconds before asking again after checkout failed to answer

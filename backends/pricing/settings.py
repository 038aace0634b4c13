"""The pricing service's settings, read once from `STOREFRONT_*` variables."""

from __future__ import annotations

from dataclasses import dataclass

from backends.common.settings import PRICING_URL, ServiceSettings, database_replica_url, database_url, setting, workers


@dataclass(frozen=True, slots=True, kw_only=True)
class PricingSettings(ServiceSettings):
    name: str = "pricing"
    url: str = setting(PRICING_URL)
    database_url: str = setting(database_url("pricing"))
    database_replica_url: str = setting(database_replica_url("pricing"))
    workers: int = setting(workers("pricing"))

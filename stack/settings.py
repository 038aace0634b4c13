"""Every service's settings at once, for the composition root (`up`, seed, load tests): URLs, ports, data dir."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from backends.catalog.settings import CatalogSettings
from backends.checkout.settings import CheckoutSettings
from backends.cms.settings import CmsSettings
from backends.common.settings import DATA_DIR, EDGE_NODES, REGIONS_FILE, FromEnv, derived, read_env, setting
from backends.pricing.settings import PricingSettings
from cache.invalidation.settings import InvalidatorSettings
from edge_config import RegionCatalogue
from storefront.settings import OriginSettings


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings(FromEnv):
    """Field names are the service names `up`, `serve` and `SERVICES` use."""

    data_dir: Path = setting(DATA_DIR)
    regions: RegionCatalogue = setting(REGIONS_FILE)
    # Varnish nodes per edge of the catalogue (the production profile runs 2); read into `regions` above.
    edge_nodes: int = setting(EDGE_NODES)
    # Seconds a Varnish edge serves a stale copy while it revalidates (origin healthy).
    edge_grace: float = setting("EDGE_GRACE", 30.0)
    # Loopback port of the Prometheus exporter of every region's Varnish counters (`up --edge varnish`).
    varnish_exporter_port: int = setting("VARNISH_EXPORTER_PORT", 9131)
    # The address `serve` binds; empty: the host of the service's own URL (loopback by default). A container sets
    # 0.0.0.0, while other services still reach it at its URL (http://catalog:8101).
    listen_host: str = setting("LISTEN_HOST", "")
    catalog: CatalogSettings = derived(partial(read_env, CatalogSettings))
    pricing: PricingSettings = derived(partial(read_env, PricingSettings))
    cms: CmsSettings = derived(partial(read_env, CmsSettings))
    checkout: CheckoutSettings = derived(partial(read_env, CheckoutSettings))
    origin: OriginSettings = derived(partial(read_env, OriginSettings))
    invalidator: InvalidatorSettings = derived(partial(read_env, InvalidatorSettings))

"""The checkout service's settings, read once from `STOREFRONT_*` variables."""

from __future__ import annotations

from dataclasses import dataclass

from backends.common.settings import (
    CATALOG_URL,
    CHECKOUT_URL,
    PRICING_URL,
    ServiceSettings,
    database_url,
    setting,
    workers,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckoutSettings(ServiceSettings):
    name: str = "checkout"
    url: str = setting(CHECKOUT_URL)
    database_url: str = setting(database_url("checkout"))
    workers: int = setting(workers("checkout"))
    catalog_url: str = setting(CATALOG_URL)
    pricing_url: str = setting(PRICING_URL)
    cart_ttl: float = setting("CART_TTL", 30 * 86400.0)  # seconds a cart lives after its last change
    reservation_ttl: float = setting("RESERVATION_TTL", 900.0)  # seconds stock stays held once checkout starts
    # Seconds to wait for the payment provider before reconciling instead.
    payment_timeout: float = setting("PAYMENT_TIMEOUT", 10.0)
    # How often expired reservations are released and pending orders settled.
    sweep_interval: float = setting("CHECKOUT_SWEEP_INTERVAL", 5.0)
    # How long the test provider's "times out" card keeps the caller waiting.
    test_card_hang: float = setting("TEST_CARD_HANG", 60.0)

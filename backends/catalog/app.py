"""The catalog service's app factory."""

from __future__ import annotations

from litestar import Litestar

from backends.catalog import search as _search  # noqa: F401 - registers the full-text DDL on the metadata
from backends.catalog.controllers import CatalogController
from backends.catalog.migrations import SCHEMA
from backends.catalog.models import CatalogEvent
from backends.catalog.price_feed import follow_pricing
from backends.catalog.schemas import OUTBOX_PAYLOADS
from backends.catalog.settings import CatalogSettings
from backends.catalog.stock_feed import follow_checkout_stock
from backends.common import create_service_app


def create_app(settings: CatalogSettings | None = None) -> Litestar:
    settings = settings or CatalogSettings.from_env()
    return create_service_app(
        settings=settings,
        schema=SCHEMA,
        outbox_model=CatalogEvent,
        outbox_payloads=OUTBOX_PAYLOADS,
        route_handlers=[CatalogController],
        background=[follow_checkout_stock, follow_pricing],
    )

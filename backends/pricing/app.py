"""The pricing service's app factory."""

from __future__ import annotations

from litestar import Litestar

from backends.common import create_service_app
from backends.pricing.controllers import PricingController
from backends.pricing.migrations import SCHEMA
from backends.pricing.models import PricingEvent
from backends.pricing.schemas import OUTBOX_PAYLOADS
from backends.pricing.settings import PricingSettings


def create_app(settings: PricingSettings | None = None) -> Litestar:
    settings = settings or PricingSettings.from_env()
    return create_service_app(
        settings=settings,
        schema=SCHEMA,
        outbox_model=PricingEvent,
        outbox_payloads=OUTBOX_PAYLOADS,
        route_handlers=[PricingController],
    )

"""The pricing service's app factory."""

from __future__ import annotations

from litestar import Litestar

from backends.common import create_service_app
from backends.pricing.controllers import PricingController
from backends.pricing.models import PricingBase, PricingEvent
from backends.pricing.schemas import OUTBOX_PAYLOADS
from storefront.settings import ServiceSettings, Settings


def create_app(settings: ServiceSettings | None = None) -> Litestar:
    settings = settings or Settings.from_env().pricing
    return create_service_app(
        settings=settings,
        metadata=PricingBase.metadata,
        outbox_model=PricingEvent,
        outbox_payloads=OUTBOX_PAYLOADS,
        route_handlers=[PricingController],
    )

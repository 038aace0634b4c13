"""The CMS service's app factory."""

from __future__ import annotations

from litestar import Litestar

from backends.cms.controllers import DeliveryController, EditorController, PreviewController
from backends.cms.models import CmsBase, CmsEvent
from backends.cms.scheduler import run_scheduler
from backends.common import create_service_app
from storefront.settings import CmsSettings, Settings


def create_app(settings: CmsSettings | None = None) -> Litestar:
    settings = settings or Settings.from_env().cms
    return create_service_app(
        settings=settings,
        metadata=CmsBase.metadata,
        outbox_model=CmsEvent,
        route_handlers=[DeliveryController, PreviewController, EditorController],
        background=[run_scheduler],
    )

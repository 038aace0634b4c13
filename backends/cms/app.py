"""The CMS service's app factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from litestar import Litestar

from backends.cms.controllers import DeliveryController, EditorController, PreviewController
from backends.cms.migrations import SCHEMA
from backends.cms.models import CmsEvent
from backends.cms.scheduler import run_scheduler
from backends.cms.schemas import OUTBOX_PAYLOADS
from backends.cms.settings import CmsSettings
from backends.common import create_service_app
from backends.common.traces import propagate


def create_app(settings: CmsSettings | None = None) -> Litestar:
    settings = settings or CmsSettings.from_env()

    @asynccontextmanager
    async def http_client(app: Litestar) -> AsyncIterator[None]:
        async with httpx.AsyncClient(event_hooks={"request": [propagate]}) as client:  # the webhook joins the trace
            app.state.http = client
            yield

    return create_service_app(
        settings=settings,
        schema=SCHEMA,
        outbox_model=CmsEvent,
        outbox_payloads=OUTBOX_PAYLOADS,
        route_handlers=[DeliveryController, PreviewController, EditorController],
        resources=[http_client],
        background=[run_scheduler],
        state={"webhook_tasks": set(), "schedule_wake": asyncio.Event()},
        admin_scheme="editor",  # the CMS's admin token is the editor token
    )

"""Publishes scheduled entries when their time comes; runs inside the CMS service's lifespan."""

from __future__ import annotations

import asyncio
import logging

from litestar import Litestar

from backends.cms.service import publish_due
from backends.common import utcnow

_log = logging.getLogger(__name__)


async def run_scheduler(app: Litestar) -> None:
    settings = app.state.settings
    while True:
        await asyncio.sleep(settings.scheduler_interval)
        try:
            async with app.state.db.sessionmaker() as session:
                count = await publish_due(session, now=utcnow(), catalogue=settings.regions)
            if count:
                _log.info("published %d scheduled entries", count)
        except Exception:  # keep the loop alive through a database hiccup; the next tick retries
            _log.exception("scheduled publishing failed; retrying next tick")

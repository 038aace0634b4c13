"""Publishes scheduled entries when their time comes; runs inside the CMS service's lifespan.

It sleeps until the earliest scheduled publish, or until this process schedules one (`schedule_wake`), and
at most `scheduler_interval` seconds, which is how it learns of schedules another worker wrote.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from litestar import Litestar

from backends.cms.service import next_scheduled, publish_due
from backends.common import utcnow

_log = logging.getLogger(__name__)
MIN_SLEEP = 0.01  # seconds: a publish due in the past that another worker holds is not retried in a hot loop


async def run_scheduler(app: Litestar) -> None:
    settings = app.state.settings
    wake: asyncio.Event = app.state.schedule_wake
    while True:
        pause = settings.scheduler_interval
        try:
            async with app.state.db.sessionmaker() as session:
                count = await publish_due(session, now=utcnow(), catalogue=settings.regions)
                upcoming = await next_scheduled(session)
            if count:
                _log.info("published %d scheduled entries", count)
            if upcoming is not None:
                pause = min(pause, max(MIN_SLEEP, (upcoming - utcnow()).total_seconds()))
        except Exception:  # keep the loop alive through a database hiccup; the next pass retries
            _log.exception("scheduled publishing failed; retrying")
        with suppress(TimeoutError):
            async with asyncio.timeout(pause):
                await wake.wait()
        wake.clear()

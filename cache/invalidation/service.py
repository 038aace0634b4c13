"""The invalidator service's app factory: purge API, outbox consumer, one purger per region."""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from litestar import Litestar
from redis.asyncio import Redis

from backends.common import create_service_app
from backends.common.traces import propagate
from backends.common.webhooks import ReplayGuard
from cache.invalidation.api import PurgeController, RateLimiter, cms_webhook, metrics
from cache.invalidation.fanout import Fanout
from cache.invalidation.metrics import install_invalidator_metrics
from cache.invalidation.migrations import SCHEMA
from cache.invalidation.settings import InvalidatorSettings
from cache.invalidation.store import RedisPurgeStore, SqlPurgeStore
from cache.invalidation.workers import PARKED_KEPT, PurgeWake, consume_outboxes, run_purgers


def create_app(settings: InvalidatorSettings | None = None) -> Litestar:
    settings = settings or InvalidatorSettings.from_env()
    fanout = Fanout.from_settings(settings)  # refuses an edge kind or field nobody registered, at start-up

    @asynccontextmanager
    async def clients(app: Litestar) -> AsyncIterator[None]:
        # Purges carry their span's `traceparent` to the edge (the origin's /internal/purge joins the trace).
        async with httpx.AsyncClient(timeout=httpx.Timeout(5.0), event_hooks={"request": [propagate]}) as client:
            app.state.http = client
            app.state.adapters = fanout.adapters(client)
            if settings.redis_url:
                redis = Redis.from_url(settings.redis_url)
                app.state.purge_store = RedisPurgeStore(redis)
                try:
                    yield
                finally:
                    await redis.aclose()
            else:
                app.state.purge_store = SqlPurgeStore(app.state.db)
                yield

    app = create_service_app(
        settings=settings,
        schema=SCHEMA,
        outbox_model=None,
        route_handlers=[PurgeController, cms_webhook, metrics],
        resources=[clients],
        background=[consume_outboxes, run_purgers],
        state={
            "purge_signal": PurgeWake(region.code for region in settings.regions),
            "outbox_wake": asyncio.Event(),
            "rate_limiter": RateLimiter(settings.purge_rate),
            "webhook_guard": ReplayGuard(settings.webhook_secret),
            "counters": Counter(),
            "fanout": fanout,
            "parked": deque(maxlen=PARKED_KEPT),
        },
    )
    install_invalidator_metrics(app)
    return app

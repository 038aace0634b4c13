"""The invalidator's metrics: purge lag from the event's commit to each edge's acknowledgement (per region and edge
kind), failed deliveries, how far each outbox was read; on the SQL purge log and on Redis Streams."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable
from datetime import timedelta

import pytest

from backends.common.db import utcnow
from cache.invalidation.service import create_app
from stack.settings import Settings
from tests.asgi import client_for, running
from tests.conftest import ADMIN
from tests.edge_config.conftest import Recorder, recorder  # noqa: F401 - the fixture
from tests.prometheus import Series, parse, value

AGO = 30.0  # seconds before the test the event says it committed: the lag is at least that, whatever the machine


@pytest.fixture
def database_url() -> str:
    return ""


@pytest.fixture(params=["sql", "redis"])
def store(request: pytest.FixtureRequest) -> str:
    return "" if request.param == "sql" else request.getfixturevalue("redis_url")


async def test_purge_lag_counts_from_the_events_commit_and_failures_are_counted(
    settings: Settings,
    store: str,
    recorder: Callable[..., Recorder],  # noqa: F811
) -> None:
    event = {
        "seq": 7,
        "id": "e-7",
        "type": "product.updated",
        "occurred_at": (utcnow() - timedelta(seconds=AGO)).isoformat(),
        "regions": ["us"],
        "payload": {"product_id": 7, "slug": "hat", "category": "hats", "fields": ["title"], "version": 2},
    }

    def outbox(request: dict[str, object]) -> tuple[int, dict[str, str], bytes]:
        events = [event] if "after=0" in str(request["query"]) else []
        return 200, {"Content-Type": "application/json"}, json.dumps({"events": events}).encode()

    answers = iter([503])  # the origin edge refuses the first delivery, then acknowledges

    def origin(request: dict[str, object]) -> tuple[int, dict[str, str], bytes]:
        return next(answers, 200), {"Content-Type": "application/json"}, b'{"purged": 1}'

    catalog, edge = recorder(outbox), recorder(origin)
    invalidator = dataclasses.replace(
        settings.invalidator, outboxes={"catalog": (catalog.url, "t")}, origin_url=edge.url, redis_url=store
    )
    if store:
        import redis.asyncio

        await redis.asyncio.Redis.from_url(store).flushdb()
    app = create_app(invalidator)
    async with running(app), client_for(app) as client:
        series: Series = {}
        for _ in range(400):  # bounded wait: the retry backs off 0.4 s
            series = parse((await client.get("/metrics")).text)
            if value(series, "storefront_purge_lag_seconds_count", region="us", edge_kind="origin") >= 1:
                break
            await asyncio.sleep(0.025)
        status = (await client.get("/internal/metrics", headers=ADMIN)).json()
    lag = {"region": "us", "edge_kind": "origin"}
    assert value(series, "storefront_purge_lag_seconds_count", **lag) == 1
    assert value(series, "storefront_purge_lag_seconds_sum", **lag) >= AGO
    assert value(series, "storefront_purge_lag_seconds_bucket", le="1.0", **lag) == 0
    assert value(series, "storefront_purge_delivery_failures_total", **lag) == 1
    assert value(series, "storefront_outbox_consumed_sequence", source="catalog") == 7
    assert value(series, "storefront_purges_applied_total") == status["counters"]["purges_applied"] == 1

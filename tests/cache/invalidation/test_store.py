"""The purge log on both stores (database and Redis Streams): durable, deduplicated, follow-ups, receipts."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis

from backends.common import Database
from backends.common.db import utcnow
from backends.common.migrations import upgrade
from cache.invalidation.migrations import SCHEMA
from cache.invalidation.store import PurgeSpec, PurgeStore, RedisPurgeStore, SqlPurgeStore
from cache.invalidation.targets import EdgeId, Target


@pytest.fixture(params=["database", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[PurgeStore]:
    if request.param == "database":
        url = f"sqlite+aiosqlite:///{tmp_path / 'purges.db'}"
        await upgrade(SCHEMA, url)  # the purge log as the invalidator builds it: migrated to head
        db = Database.connect(url)
        yield SqlPurgeStore(db)
        await db.dispose()
    else:
        redis = Redis.from_url(request.getfixturevalue("redis_url"))
        yield RedisPurgeStore(redis, prefix=f"test-{uuid.uuid4().hex[:8]}")
        await redis.aclose()


def spec(**changes: object) -> PurgeSpec:
    base = {
        "keys": ("product:1",),
        "urls": (),
        "targets": (Target("eu", EdgeId("varnish", "a")),),
        "soft": True,
        "source": "t",
    }
    return PurgeSpec(**(base | changes))  # type: ignore[arg-type]


async def test_a_key_purge_is_delivered_twice_the_second_time_later(store: PurgeStore) -> None:
    # An hour, not seconds: the store stamps the purge with the real time, and however slowly this test runs
    # the follow-up must not be due yet at the first read below.
    purge_id, created = await store.record(spec(followup_after=timedelta(hours=1)))
    assert created
    now = utcnow()
    first = await store.due("eu", now)
    assert [(d.followup, d.keys) for d in first] == [(False, ("product:1",))]
    assert await store.due("us", now) == []
    await store.ack(first, 3, now)
    assert await store.due("eu", now) == []
    later = await store.due("eu", now + timedelta(hours=1))
    assert [d.followup for d in later] == [True]
    await store.ack(later, 0, now)
    found = await store.receipt(purge_id)
    assert found is not None and found["complete"]
    assert found["regions"]["eu"]["edges"][0]["removed"] == 3


async def test_the_same_event_never_purges_twice(store: PurgeStore) -> None:
    a, created_a = await store.record(spec(dedupe_key="cms:event-1:0"))
    b, created_b = await store.record(spec(dedupe_key="cms:event-1:0"))
    assert (a, created_a, created_b) == (b, True, False)
    assert len(await store.due("eu", utcnow())) == 1


async def test_failed_deliveries_back_off_and_say_why(store: PurgeStore) -> None:
    purge_id, _ = await store.record(spec())
    now = utcnow()
    [item] = await store.due("eu", now)
    await store.retry([item], "edge down", now)
    assert await store.due("eu", now) == []
    [again] = await store.due("eu", now + timedelta(seconds=1))
    assert again.attempts == 1
    found = await store.receipt(purge_id)
    assert found is not None and not found["complete"]
    assert found["regions"]["eu"]["edges"][0]["last_error"] == "edge down"


async def test_outbox_cursor_moves_with_the_purges(store: PurgeStore) -> None:
    assert await store.cursor("cms") == 0
    await store.record_events("cms", 7, [spec(dedupe_key="cms:e7:0")])
    assert await store.cursor("cms") == 7
    assert len(await store.due("eu", utcnow())) == 1
    assert await store.receipt("no-such-purge") is None


async def test_redis_replays_deliveries_a_dead_purger_never_acknowledged(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis = Redis.from_url(redis_url)
    store = RedisPurgeStore(redis, prefix=f"test-{uuid.uuid4().hex[:8]}")
    try:
        await store.record(spec())
        now = utcnow()
        assert len(await store.due("eu", now)) == 1  # read, then the purger "dies" before acknowledging
        assert await store.due("eu", now) == []  # not handed out twice while it may still be in flight
        monkeypatch.setattr("cache.invalidation.store.CLAIM_IDLE_MS", 0)  # as if the claim timeout had passed
        [replayed] = await store.due("eu", now)
        assert replayed.keys == ("product:1",)
    finally:
        await redis.aclose()

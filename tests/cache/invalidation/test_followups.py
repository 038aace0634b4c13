"""Which edges get a second delivery of each key purge: only those with no guard of their own against a page
fetched while the first purge ran (Fastly, Cloudflare). Our Varnish VCL and the origin page cache have one."""

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
from cache.invalidation.fanout import Fanout
from cache.invalidation.migrations import SCHEMA
from cache.invalidation.settings import InvalidatorSettings
from cache.invalidation.store import PurgeSpec, PurgeStore, RedisPurgeStore, SqlPurgeStore
from cache.invalidation.targets import EdgeId, Target
from edge_config import Edge, Region, RegionCatalogue

EDGES = (
    Edge.of("varnish", url="http://127.0.0.1:8082"),
    Edge.of("fastly", service_id="svc"),
    Edge.of("cloudflare", zone_id="z"),
)


def settings(edge: str) -> InvalidatorSettings:
    eu = Region("eu", "Europe", ("de-DE",), "EUR", "vat_included", "DE", edges=EDGES)
    return InvalidatorSettings(
        name="invalidator",
        url="http://127.0.0.1:8105",
        database_url="",
        admin_token="t",
        regions=RegionCatalogue((eu,)),
        edge=edge,
        fastly_token="f",
        cloudflare_token="c",
    )


def eu_targets(edge: str) -> list[Target]:
    return Fanout.from_settings(settings(edge), env={}).targets(("eu",))


def test_only_edges_without_a_guard_of_their_own_get_a_follow_up() -> None:
    assert {str(t.edge): t.followup for t in eu_targets("varnish")} == {
        "varnish:http://127.0.0.1:8082": False,
        "fastly:svc": True,
        "cloudflare:z": True,
    }
    assert {str(t.edge): t.followup for t in eu_targets("origin")} == {
        "origin": False,
        "fastly:svc": True,
        "cloudflare:z": True,
    }


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


async def test_the_second_delivery_goes_only_to_edges_that_need_it(store: PurgeStore) -> None:
    targets = tuple(eu_targets("varnish"))
    spec = PurgeSpec(
        keys=("nav",), urls=(), targets=targets, soft=True, source="t", followup_after=timedelta(seconds=2)
    )
    purge_id, _ = await store.record(spec)
    now = utcnow()
    first = await store.due("eu", now)
    assert sorted((d.edge, d.followup) for d in first) == sorted((t.edge, False) for t in targets)
    await store.ack(first, 1, now)
    later = await store.due("eu", now + timedelta(seconds=2))
    assert sorted((d.edge, d.followup) for d in later) == [
        (EdgeId("cloudflare", "z"), True),
        (EdgeId("fastly", "svc"), True),
    ]
    await store.ack(later, 0, now)
    receipt = await store.receipt(purge_id)
    assert receipt is not None and receipt["complete"]
    assert await store.due("eu", now + timedelta(seconds=60)) == []

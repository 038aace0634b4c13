"""The purge log: durable requests, follow-up deliveries for the fetch race, idempotent events, receipts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from backends.common import Database
from backends.common.db import utcnow
from cache.invalidator import plan
from cache.purge_log import PurgeBase, Target, acknowledge, due, receipt, record_purge, retry_later
from edge_config import load_regions


async def database(tmp_path: Path) -> Database:
    db = Database.connect(f"sqlite+aiosqlite:///{tmp_path / 'purges.db'}")
    await db.create_all(PurgeBase.metadata)
    return db


async def test_a_key_purge_is_delivered_twice_the_second_time_later(tmp_path: Path) -> None:
    db = await database(tmp_path)
    try:
        async with db.sessionmaker() as session, session.begin():
            purge_id, _ = await record_purge(
                session,
                keys=["product:1"],
                urls=[],
                targets=[Target("eu", "varnish:a")],
                soft=True,
                source="test",
                followup_after=timedelta(seconds=2),
            )
        now = utcnow()
        async with db.sessionmaker() as session:
            first = await due(session, "eu", now)
            assert [d.followup for d, _ in first] == [False]
            assert await due(session, "us", now) == []
        async with db.sessionmaker() as session, session.begin():
            await acknowledge(session, [first[0][0].id], 3, now)
        async with db.sessionmaker() as session:
            assert await due(session, "eu", now) == []
            later = await due(session, "eu", now + timedelta(seconds=2))
            assert [d.followup for d, _ in later] == [True]
            found = await receipt(session, purge_id)
        assert found is not None and found["complete"] and found["regions"]["eu"]["edges"][0]["removed"] == 3
    finally:
        await db.dispose()


async def test_the_same_event_never_purges_twice(tmp_path: Path) -> None:
    db = await database(tmp_path)
    try:
        async with db.sessionmaker() as session, session.begin():
            a, created_a = await record_purge(
                session,
                keys=["nav"],
                urls=[],
                targets=[Target("us", "origin")],
                soft=True,
                source="cms",
                dedupe_key="cms:event-1:0",
            )
            b, created_b = await record_purge(
                session,
                keys=["nav"],
                urls=[],
                targets=[Target("us", "origin")],
                soft=True,
                source="cms",
                dedupe_key="cms:event-1:0",
            )
        assert (a, created_a, created_b) == (b, True, False)
    finally:
        await db.dispose()


async def test_failed_deliveries_back_off(tmp_path: Path) -> None:
    db = await database(tmp_path)
    try:
        async with db.sessionmaker() as session, session.begin():
            purge_id, _ = await record_purge(
                session, keys=["nav"], urls=[], targets=[Target("eu", "x")], soft=True, source="t"
            )
        now = utcnow()
        async with db.sessionmaker() as session, session.begin():
            [(delivery, _)] = await due(session, "eu", now)
            await retry_later(session, [delivery.id], "edge down", now)
        async with db.sessionmaker() as session:
            assert await due(session, "eu", now) == []
            assert len(await due(session, "eu", now + timedelta(seconds=1))) == 1
            found = await receipt(session, purge_id)
        assert found is not None and not found["complete"]
        assert found["regions"]["eu"]["edges"][0]["last_error"] == "edge down"
    finally:
        await db.dispose()


def test_only_visible_changes_purge() -> None:
    regions = load_regions()
    event = {"type": "inventory.changed", "regions": ["eu"], "payload": {"product_id": 4, "visible_change": False}}
    assert plan(event, regions) == []
    event["payload"]["visible_change"] = True  # type: ignore[index]
    [purge] = plan(event, regions)
    assert purge.keys == ("product:4",) and purge.regions == ("eu",)
    price = {"type": "price.changed", "regions": ["apac"], "payload": {"sku": "S-1", "product_id": 9}}
    assert plan(price, regions)[0].keys == ("price:S-1", "product:9")
    nav = {"type": "content.published", "regions": ["*"], "payload": {"entry_id": 3, "type": "navigation"}}
    [purge] = plan(nav, regions)
    assert set(purge.keys) == {"cms:3", "nav"} and purge.regions == ("us", "eu", "apac")
    promo = {
        "type": "promotion.scheduled",
        "regions": ["us"],
        "payload": {
            "scope": "category",
            "target": "boots",
            "starts_at": "2030-01-01T00:00:00+00:00",
            "ends_at": "2030-01-02T00:00:00+00:00",
        },
    }
    start, end = plan(promo, regions)
    assert start.keys == ("category:boots",) and start.not_before is not None and end.not_before > start.not_before

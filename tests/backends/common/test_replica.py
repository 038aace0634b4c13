"""Public reads from a real streaming replica: what they show while it keeps up, while it lags, and how the outbox
waits for it, so a purge never makes the edge refetch a page the replica cannot show yet."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncSession

from backends.pricing.app import create_app
from backends.pricing.models import Price, PriceBook
from stack.settings import Settings
from tests.asgi import client_for, running
from tests.conftest import ADMIN
from tests.pg_cluster import ClusterUnavailable, PgCluster, pg_cluster
from tests.prometheus import parse, value

SKU = "SKU-00001-1"
DEADLINE = 60.0  # seconds for anything the replica should do by itself; generous for a loaded machine


@pytest.fixture(scope="module")
def cluster() -> Iterator[PgCluster]:
    try:
        with pg_cluster() as started:
            yield started
    except ClusterUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"a PostgreSQL primary and replica are required under CI=true: {exc}")
        pytest.skip(str(exc))


@pytest.fixture
def fresh(cluster: PgCluster) -> PgCluster:
    """Replay running and no prices left from another test."""
    cluster.psql("SELECT pg_wal_replay_resume()", replica=True)
    cluster.psql("DROP DATABASE IF EXISTS shop WITH (FORCE)")
    cluster.psql("CREATE DATABASE shop")
    return cluster


@asynccontextmanager
async def pricing(
    cluster: PgCluster, tmp_path: Path, max_lag: float
) -> AsyncIterator[tuple[Litestar, httpx.AsyncClient]]:
    env = {
        "STOREFRONT_DATA_DIR": str(tmp_path),
        "STOREFRONT_ADMIN_TOKEN": "test-admin",
        "STOREFRONT_DATABASE_URL": cluster.url("shop"),
        "STOREFRONT_DATABASE_REPLICA_URL": cluster.url("shop", replica=True),
    }
    settings = dataclasses.replace(Settings.from_env(env).pricing, replica_max_lag=max_lag)
    app = create_app(settings)
    async with running(app), client_for(app) as client:
        async with app.state.db.write() as session:
            _shelve(session)
        yield app, client


def _pause(cluster: PgCluster) -> None:
    """Stop replay for sure: a pause is only requested until replay reaches its next record, so write one."""
    cluster.psql("SELECT pg_wal_replay_pause()", replica=True)
    cluster.psql("CREATE TABLE nudge (); DROP TABLE nudge")
    deadline = time.monotonic() + DEADLINE
    while cluster.psql("SELECT pg_get_wal_replay_pause_state()", replica=True) != "paused":
        assert time.monotonic() < deadline, "replay did not pause"
        time.sleep(0.02)


def _shelve(session: AsyncSession) -> None:
    session.add(PriceBook(region="us", currency="USD", tax_inclusive=False))
    session.add(Price(sku=SKU, region="us", list_minor=1000, product_id=1, category="tents", brand="Sora"))


async def _eventually(check: Callable[[], object]) -> None:
    async with asyncio.timeout(DEADLINE):
        # Polling PostgreSQL, another process: no event of ours to wait on.
        while not await check():  # type: ignore[misc]  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def _serving_from_the_replica(app: Litestar, client: httpx.AsyncClient) -> bool:
    return bool(app.state.replica.in_use) and await _price(client) == "10.00"


async def _price(client: httpx.AsyncClient) -> str:
    response = await client.get("/prices", params={"region": "us", "skus": SKU})
    if response.status_code == 404:  # a replica that has not replayed the price book yet
        return ""
    body = response.json()
    return str(body["prices"][0]["list"]["amount"]) if body["prices"] else ""


async def _set(client: httpx.AsyncClient, amount: str) -> None:
    response = await client.put(f"/admin/prices/us/{SKU}", json={"list": amount}, headers=ADMIN)
    assert response.status_code == 200, response.text


async def test_public_reads_come_from_the_replica_and_writes_go_to_the_primary(
    fresh: PgCluster, tmp_path: Path
) -> None:
    async with pricing(fresh, tmp_path, max_lag=3600) as (app, client):
        await _eventually(lambda: _serving_from_the_replica(app, client))
        _pause(fresh)
        await _set(client, "12.00")  # the write is on the primary
        assert fresh.psql(f"SELECT list_minor FROM pricing_prices WHERE sku = '{SKU}'", database="shop") == "1200"
        assert await _price(client) == "10.00"  # the paused replica answers, within the (huge) lag bound
        fresh.psql("SELECT pg_wal_replay_resume()", replica=True)

        async def caught_up() -> bool:
            return await _price(client) == "12.00"

        await _eventually(caught_up)
        series = parse((await client.get("/metrics")).text)
        assert value(series, "storefront_db_replica_in_use") == 1


async def test_a_replica_past_the_lag_bound_hands_its_reads_to_the_primary_until_it_catches_up(
    fresh: PgCluster, tmp_path: Path
) -> None:
    async with pricing(fresh, tmp_path, max_lag=0.5) as (app, client):

        async def in_use() -> bool:
            return bool(app.state.replica.in_use)

        await _eventually(in_use)
        _pause(fresh)
        await _set(client, "13.00")

        async def fell_back() -> bool:  # the replica still has 10.00: only the primary can say 13.00
            return await _price(client) == "13.00"

        await _eventually(fell_back)
        series = parse((await client.get("/metrics")).text)
        assert value(series, "storefront_db_replica_in_use") == 0
        assert value(series, "storefront_db_replica_lag_seconds") > 0.5
        fresh.psql("SELECT pg_wal_replay_resume()", replica=True)
        await _eventually(in_use)
        assert await _price(client) == "13.00"


async def test_the_outbox_hands_out_a_change_only_once_the_replica_can_show_it(
    fresh: PgCluster, tmp_path: Path
) -> None:
    async with pricing(fresh, tmp_path, max_lag=3600) as (app, client):
        await _eventually(lambda: _serving_from_the_replica(app, client))
        _pause(fresh)
        await _set(client, "14.00")
        outbox = asyncio.ensure_future(client.get("/admin/outbox", params={"after": 0}, headers=ADMIN))
        done, _ = await asyncio.wait({outbox}, timeout=1.0)
        assert not done  # a purge now would have the edge refetch 10.00 from the replica
        fresh.psql("SELECT pg_wal_replay_resume()", replica=True)
        events = (await outbox).json()["events"]
        assert [event["type"] for event in events] == ["price.changed"]
        assert await _price(client) == "14.00"  # what the purged page's refetch reads
        assert app.state.replica.waits == {"replayed": 1, "timed_out": 0}


async def test_an_unreachable_replica_costs_nothing_but_its_reads(tmp_path: Path, postgres_url: str) -> None:
    """A replica URL nothing answers at: every read and the outbox go on from the primary."""
    env = {
        "STOREFRONT_DATA_DIR": str(tmp_path),
        "STOREFRONT_ADMIN_TOKEN": "test-admin",
        "STOREFRONT_DATABASE_URL": postgres_url,
        "STOREFRONT_DATABASE_REPLICA_URL": "postgresql+asyncpg://postgres@127.0.0.1:9/none",
    }
    app = create_app(Settings.from_env(env).pricing)
    async with running(app), client_for(app) as client:
        async with app.state.db.write() as session:
            _shelve(session)
        assert not app.state.replica.in_use
        assert await _price(client) == "10.00"
        await _set(client, "11.00")
        events = (await client.get("/admin/outbox", params={"after": 0}, headers=ADMIN)).json()["events"]
        assert [event["type"] for event in events] == ["price.changed"]
        assert await _price(client) == "11.00"

"""Leadership of a service's background jobs: one leader at a time among workers and replicas, and a
follower takes over when the leader goes, on a SQLite file and on a real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from backends.common.leader import _leadership, lead

WITHIN = 30.0  # a bound on waiting for an event that should come, not a speed requirement


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"
    return request.getfixturevalue("postgres_url")


@asynccontextmanager
async def two_processes(url: str) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """Two engines on one database, as two workers (or replicas) of one service have."""
    first, second = create_async_engine(url), create_async_engine(url)
    try:
        yield first, second
    finally:
        await first.dispose()
        await second.dispose()


class Job:
    """A background job that runs until cancelled, recording that it started and that it was stopped."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.stopped = asyncio.Event()
        self.runs = 0

    async def __call__(self) -> None:
        self.runs += 1
        self.started.set()
        try:
            await asyncio.Event().wait()
        finally:
            self.stopped.set()


async def test_one_leader_runs_the_jobs_and_a_follower_takes_over_when_it_goes(database: str) -> None:
    async with two_processes(database) as (first, second):
        await _take_over(first, second)


async def _take_over(first: AsyncEngine, second: AsyncEngine) -> None:
    job_a, job_b = Job(), Job()
    leader = asyncio.create_task(lead(first, "catalog-jobs", [job_a], retry=0.05))
    await asyncio.wait_for(job_a.started.wait(), WITHIN)
    async with _leadership(second, "catalog-jobs") as check:
        assert check is None  # held: the second process is a follower
    follower = asyncio.create_task(lead(second, "catalog-jobs", [job_b], retry=0.05))
    async with _leadership(second, "other-jobs") as check:
        assert check is not None  # another leadership name is free
    leader.cancel()  # the leader's worker stops (or dies)
    await asyncio.wait_for(job_a.stopped.wait(), WITHIN)
    await asyncio.wait_for(job_b.started.wait(), WITHIN)
    assert job_a.runs == 1
    follower.cancel()
    await asyncio.gather(leader, follower, return_exceptions=True)


async def test_a_job_that_fails_is_run_again(database: str) -> None:
    async with two_processes(database) as (first, _):
        assert await _runs_of_a_job_failing_once(first) == 2


async def _runs_of_a_job_failing_once(first: AsyncEngine) -> int:
    runs = 0
    again = asyncio.Event()

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise RuntimeError("the first run fails")
        again.set()
        await asyncio.Event().wait()

    leader = asyncio.create_task(lead(first, "cms-jobs", [flaky], retry=0.05))
    await asyncio.wait_for(again.wait(), WITHIN)
    leader.cancel()
    await asyncio.gather(leader, return_exceptions=True)
    return runs


@pytest.mark.postgres
async def test_on_postgresql_a_leader_that_loses_its_lock_connection_stops_its_jobs(postgres_url: str) -> None:
    """The lock lives with the leader's connection: when the database drops it, another process may lead at
    once, so the old leader must stop too."""
    async with two_processes(postgres_url) as (first, second):
        await _lose_the_lock(first, second)


async def _lose_the_lock(first: AsyncEngine, second: AsyncEngine) -> None:
    job_a, job_b = Job(), Job()
    leader = asyncio.create_task(lead(first, "invalidator-jobs", [job_a], retry=0.05))
    await asyncio.wait_for(job_a.started.wait(), WITHIN)
    follower = asyncio.create_task(lead(second, "invalidator-jobs", [job_b], retry=0.05))
    async with second.connect() as conn:
        await conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks"
                " WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database"
                " WHERE datname = current_database())"
            )
        )
    await asyncio.wait_for(job_a.stopped.wait(), WITHIN)  # the old leader stood down...
    await asyncio.wait_for(job_b.started.wait(), WITHIN)  # ...and one leader carries on
    leader.cancel()
    follower.cancel()
    await asyncio.gather(leader, follower, return_exceptions=True)

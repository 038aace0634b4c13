"""One leader among a service's workers and replicas: only it runs the service's background jobs.

Followers keep trying. On PostgreSQL leadership is a session advisory lock held on a connection of its own
(the lock goes with the connection when the leader dies, on any host); on a SQLite file it is an exclusive
`flock` on a file beside the database (SQLite deployments are one host). A leader that loses its lock
connection stops its jobs and stands again.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from pathlib import Path

from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

_log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


async def lead(engine: AsyncEngine, name: str, jobs: Sequence[Job], *, retry: float = 2.0) -> None:
    """Run `jobs` whenever this process holds the leadership called `name`; stand again every `retry` seconds
    while it does not. Runs until cancelled."""
    while True:
        async with _leadership(engine, name) as check:
            if check is not None:
                _log.info("leading %s", name)
                await _run_while_leading(jobs, check, retry)
                _log.warning("lost the leadership of %s; standing again", name)
        await asyncio.sleep(retry)


async def _run_while_leading(jobs: Sequence[Job], check: Callable[[], Awaitable[None]], retry: float) -> None:
    async def watch() -> None:
        while True:
            await asyncio.sleep(retry)
            await check()  # raises once the lock's connection is gone

    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(watch())
            for job in jobs:
                group.create_task(job())
    except* Exception as failures:  # a job that fails, or the lock lost: stop them all and stand again
        _log.warning("background jobs stopped: %r", failures.exceptions)


@asynccontextmanager
async def _leadership(engine: AsyncEngine, name: str) -> AsyncIterator[Callable[[], Awaitable[None]] | None]:
    """A check that the leadership is still held, or None if another process holds it."""
    if engine.dialect.name == "postgresql":
        async with _advisory_lock(engine, name) as check:
            yield check
        return
    database = make_url(str(engine.url)).database
    if not database or database == ":memory:":
        yield _always_held  # a private database: nobody else can lead it
        return
    with _file_lock(Path(f"{database}.{name}.leader")) as held:
        yield _always_held if held else None


async def _always_held() -> None:
    return None


@asynccontextmanager
async def _advisory_lock(engine: AsyncEngine, name: str) -> AsyncIterator[Callable[[], Awaitable[None]] | None]:
    try:
        conn: AsyncConnection = await engine.connect()
    except Exception as exc:  # the database is down: a follower until it is back
        _log.warning("cannot stand for %s: %s", name, type(exc).__name__)
        yield None
        return
    try:
        await conn.execution_options(isolation_level="AUTOCOMMIT")  # no transaction held open while leading
        held = (await conn.execute(text("SELECT pg_try_advisory_lock(hashtext(:name))"), {"name": name})).scalar()

        async def check() -> None:
            await conn.execute(text("SELECT 1"))

        yield check if held else None
    finally:
        with suppress(Exception):  # discarded, not returned to the pool: closing it releases the lock
            await conn.invalidate()
            await conn.close()


@contextmanager
def _file_lock(path: Path) -> Iterator[bool]:
    """Whether this process took the exclusive lock on `path`; held until the block ends (or the process)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # releases the lock

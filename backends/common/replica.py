"""Public reads from a PostgreSQL streaming replica while it keeps up; the primary whenever it falls behind.

Writes, and reads that must see a write just made (checkout, the editor, admin), stay on the primary. Each process
measures the replica's lag every second; reads go to the replica only while that lag is at most
`STOREFRONT_REPLICA_MAX_LAG` seconds, so a lagging or unreachable replica costs at most that much freshness and
never availability: the primary takes its reads. A change must not be purged before the replica can show it, or
the edge would refetch the old page from the replica and keep it for its TTL: so the outbox hands events to the
invalidator only once the replica has replayed them (`wait_replayed`), or once waiting has taken the whole lag
bound (the replica is then out of use, and reads see the primary).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from backends.common.db import Database

_log = logging.getLogger(__name__)

# Seconds since the last replayed transaction while WAL is waiting to be replayed; 0 when all received WAL is.
_LAG = text(
    "SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END"
)
_PRIMARY_POSITION = text("SELECT pg_current_wal_flush_lsn()::text")
_REPLAYED = text("SELECT COALESCE(pg_last_wal_replay_lsn() >= CAST(CAST(:position AS text) AS pg_lsn), true)")
MEASURE_EVERY = 1.0  # seconds between lag measurements
_POLL = 0.01  # seconds between replay checks while an outbox hand-out waits


class Replica:
    """A service's replica: its engine, its last measured lag, and whether reads may use it."""

    def __init__(self, db: Database, max_lag: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.max_lag = max_lag
        self.clock = clock
        self.lag = math.inf  # unknown until measured: the primary serves until then
        self.waits = {"replayed": 0, "timed_out": 0}

    @property
    def in_use(self) -> bool:
        return self.lag <= self.max_lag

    async def measure(self) -> float:
        """Ask the replica how far behind it is; an unreachable replica is infinitely behind."""
        try:
            async with self.db.sessionmaker() as session:
                self.lag = float(await session.scalar(_LAG) or 0.0)
        except Exception as exc:  # whatever the driver raises, the answer is the same: read from the primary
            if math.isfinite(self.lag):
                _log.warning("read replica unreachable, reading from the primary: %s", type(exc).__name__)
            self.lag = math.inf
        return self.lag

    @contextlib.asynccontextmanager
    async def watching(self) -> AsyncIterator[Replica]:
        """Measure at once, then every second until the app stops; dispose of the engine after."""

        async def watch() -> None:
            while True:
                await asyncio.sleep(MEASURE_EVERY)
                await self.measure()

        await self.measure()
        task = asyncio.create_task(watch())
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await self.db.dispose()

    async def wait_replayed(self, primary: Database) -> bool:
        """Wait until the replica has replayed everything the primary had committed when called, at most
        `max_lag` seconds; past that the replica is taken out of use until it measures in bounds again."""
        if not self.in_use:
            return False  # reads are on the primary already
        async with primary.sessionmaker() as session:
            position = await session.scalar(_PRIMARY_POSITION)
        deadline = self.clock() + self.max_lag
        try:
            while True:
                async with self.db.sessionmaker() as session:
                    if await session.scalar(_REPLAYED, {"position": position}):
                        self.waits["replayed"] += 1
                        return True
                if self.clock() >= deadline:
                    break
                await asyncio.sleep(_POLL)
        except (OSError, SQLAlchemyError) as exc:
            _log.warning("read replica: could not check replay, reading from the primary: %s", exc)
        self.waits["timed_out"] += 1
        self.lag = math.inf
        return False

"""Commit signals: a session that added outbox events wakes the outbox readers when it commits, in this process
at once and, on PostgreSQL, in every other process through NOTIFY."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_log = logging.getLogger(__name__)

_ADDED = "outbox_events_added"  # the outbox tables a session's transaction adds events to; read when it commits


def note_outbox_events(session: Any, table: str) -> None:
    """Remember that this session's transaction adds events to `table` (an `AsyncSession` or a sync one)."""
    session.info.setdefault(_ADDED, set()).add(table)


def notify_channel(table: str) -> str:
    """The PostgreSQL channel a commit adding events to `table` notifies, and its readers listen on."""
    return f"outbox_{table}"


def notify_before_commit(session: Any) -> None:
    """SQLAlchemy `before_commit` listener (PostgreSQL): NOTIFY is transactional, so it is delivered with the
    commit, never before the events are visible and never for a transaction rolled back."""
    for table in sorted(session.info.get(_ADDED, ())):
        session.execute(text(f'NOTIFY "{notify_channel(table)}"'))


class Fires(Protocol):
    """Anything woken by a commit elsewhere: an outbox's readers, the invalidator's purgers."""

    def fire(self) -> None: ...


class OutboxSignal:
    """Fired after a commit that added outbox events; readers wait on it between looks at the table."""

    def __init__(self) -> None:
        self._next = asyncio.Event()

    def mark(self) -> asyncio.Event:
        """Take this before reading the table: a commit after it (even before the wait starts) wakes the wait."""
        return self._next

    def fire(self) -> None:
        self._next.set()
        self._next = asyncio.Event()

    def after_commit(self, session: Any) -> None:
        """SQLAlchemy `after_commit` listener: fire when the committed transaction added events."""
        if session.info.pop(_ADDED, None):
            self.fire()

    @staticmethod
    def after_rollback(session: Any) -> None:
        session.info.pop(_ADDED, None)


@asynccontextmanager
async def commits_elsewhere(engine: AsyncEngine, table: str, signal: Fires) -> AsyncIterator[None]:
    """While open, fire `signal` when another process (another worker or replica) commits events to `table`:
    LISTEN on one connection of its own, on PostgreSQL; nothing on SQLite, whose deployments run one process
    per database. A notification missed (the connection lost) costs a reader at most its recheck."""
    if engine.dialect.name != "postgresql":
        yield
        return
    channel = notify_channel(table)

    def on_notify(*_args: Any) -> None:
        signal.fire()

    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")  # no transaction held open for hours
        driver = (await conn.get_raw_connection()).driver_connection
        await driver.add_listener(channel, on_notify)
        try:
            yield
        finally:
            with suppress(Exception):  # the connection may be gone already; it is closed either way
                await driver.remove_listener(channel, on_notify)

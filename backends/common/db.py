"""The async SQLAlchemy engine and session factory, tuned for SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, event, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from backends.common.commits import OutboxSignal, notify_before_commit


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC instants; always hands back timezone-aware datetimes (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run while a writer commits; busy_timeout queues writers instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_manual_transactions(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite would open transactions lazily (and deferred); we issue BEGIN ourselves instead.
    dbapi_connection.isolation_level = None


def _begin_immediate(conn: Any) -> None:
    # A deferred transaction that reads and then writes can fail at once with SQLITE_BUSY when another
    # writer got in between; taking the write lock at BEGIN makes writers queue on busy_timeout instead.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


@dataclass(slots=True)
class Database:
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    # Sessions for read-modify-write transactions: BEGIN IMMEDIATE on SQLite, the same engine elsewhere.
    writer: async_sessionmaker[AsyncSession]
    # SQLite has one writer at a time anyway; queueing this process's writers here, in order, beats
    # letting them poll the file lock with SQLite's busy handler (which sleeps up to 100 ms a try).
    _write_turn: asyncio.Lock | None = field(default=None)
    outbox_signal: OutboxSignal = field(default_factory=OutboxSignal)

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One read-modify-write transaction, committed on exit and rolled back on an exception."""
        async with contextlib.AsyncExitStack() as stack:
            if self._write_turn is not None:
                await stack.enter_async_context(self._write_turn)
            session = await stack.enter_async_context(self.writer())
            await stack.enter_async_context(session.begin())
            yield session

    @classmethod
    def connect(cls, url: str, *, echo: bool = False) -> Database:
        parsed = make_url(url)
        # Bound values never reach a log line or an error message: they hold cart ids and e-mail addresses.
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        else:
            kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
        engine = create_async_engine(url, **kwargs)
        write_engine = engine
        if parsed.get_backend_name() == "sqlite":
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
            write_engine = create_async_engine(url, **kwargs)
            event.listen(write_engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(write_engine.sync_engine, "connect", _sqlite_manual_transactions)
            event.listen(write_engine.sync_engine, "begin", _begin_immediate)
        # This database's own session class, so its commits fire its own outbox signal and no other's.
        signal = OutboxSignal()
        session_class = type("DatabaseSession", (Session,), {})
        event.listen(session_class, "after_commit", signal.after_commit)
        event.listen(session_class, "after_rollback", signal.after_rollback)
        if parsed.get_backend_name() == "postgresql":
            event.listen(session_class, "before_commit", notify_before_commit)
        return cls(
            engine=engine,
            sessionmaker=async_sessionmaker(engine, expire_on_commit=False, sync_session_class=session_class),
            writer=async_sessionmaker(write_engine, expire_on_commit=False, sync_session_class=session_class),
            _write_turn=asyncio.Lock() if parsed.get_backend_name() == "sqlite" else None,
            outbox_signal=signal,
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def create_all(self, metadata: MetaData) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)

    async def drop_all(self, metadata: MetaData) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.writer.kw["bind"] is not self.engine:
            await self.writer.kw["bind"].dispose()

"""The transactional outbox: events appended in the same transaction as the change they describe.

Readers long-poll it: a commit that added events wakes this process's waiting readers at once (the
`OutboxSignal`), on PostgreSQL other processes' readers too (NOTIFY/LISTEN, `commits.py`), and a reader also
looks again every `RECHECK` seconds, which is how it learns of events another process committed to a SQLite
file. A missed wake-up costs at most that.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import JSON, Integer, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from backends.common.commits import OutboxSignal, note_outbox_events
from backends.common.db import UTCDateTime, utcnow
from backends.common.events import payload_of
from backends.common.traces import current_traceparent

ALL_REGIONS = "*"
RECHECK = 5.0  # seconds between a waiting reader's looks at the table, for commits made by other processes


class OutboxEventMixin:
    """Columns of an outbox row; each service maps it to its own `<service>_outbox` table."""

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=lambda: str(uuid.uuid4()))
    # Not indexed: readers page by `seq` (the primary key) and no query filters by type, so an index here only
    # cost every event insert (dropped by each service's migration 0002).
    type: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    regions: Mapped[list[str]] = mapped_column(JSON)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The W3C trace context of the request that wrote it (null when tracing is off), so the purges it causes
    # join that request's trace.
    traceparent: Mapped[str | None] = mapped_column(String(55), nullable=True, default=None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "id": self.id,
            "type": self.type,
            "occurred_at": self.occurred_at.isoformat(),
            "regions": self.regions,
            "payload": self.payload,
            "traceparent": self.traceparent,
        }


def add_event(
    session: AsyncSession,
    model: type[OutboxEventMixin],
    event_type: str,
    regions: Iterable[str],
    payload: dict[str, Any] | msgspec.Struct,
) -> OutboxEventMixin:
    """Stage an event in the caller's transaction; it commits or rolls back with the change. The payload
    must match its type in the vocabulary (`backends.common.events`): a mismatch is our bug, raised here
    rather than found by a reader later."""
    typed = payload_of(event_type, payload)
    scope = sorted(set(regions))
    if not scope:
        raise ValueError("an event needs a region scope (a region code or '*')")
    stored = payload if isinstance(payload, dict) else msgspec.to_builtins(typed)
    event = model(type=event_type, regions=scope, payload=stored, traceparent=current_traceparent())  # type: ignore[call-arg]
    session.add(event)
    note_outbox_events(session, model.__tablename__)  # type: ignore[attr-defined]
    return event


async def read_events(
    session: AsyncSession,
    model: type[OutboxEventMixin],
    *,
    after: int,
    limit: int,
    wait: float = 0.0,
    signal: OutboxSignal | None = None,
    gone: asyncio.Future[None] | None = None,
) -> Sequence[OutboxEventMixin]:
    """Events after `after`; with none yet, wait up to `wait` seconds for one to be committed (or until
    `gone` is done: the reader hung up)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        woken = signal.mark() if signal else asyncio.Event()
        result = await session.scalars(
            select(model).where(model.seq > after).order_by(model.seq).limit(limit)  # type: ignore[arg-type]
        )
        events = result.all()
        remaining = deadline - loop.time()
        if events or remaining <= 0 or (gone is not None and gone.done()):
            return events
        await session.rollback()  # end the read transaction: the next look needs a fresh snapshot
        waits = [asyncio.ensure_future(woken.wait()), *([gone] if gone is not None else [])]
        try:
            await asyncio.wait(waits, timeout=min(remaining, RECHECK), return_when=asyncio.FIRST_COMPLETED)
        finally:
            waits[0].cancel()

"""The durable purge log: purge requests, one delivery per (region, edge), receipts, and outbox cursors.

Written in one transaction with whatever caused the purge (an event's cursor, an API call), so a purge
is never lost and an event is never turned into a purge twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from backends.common.db import UTCDateTime, utcnow
from cache.invalidation.targets import Target


class PurgeBase(DeclarativeBase):
    pass


class PurgeRequest(PurgeBase):
    __tablename__ = "purge_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    urls: Mapped[list[str]] = mapped_column(JSON, default=list)
    regions: Mapped[list[str]] = mapped_column(JSON)
    soft: Mapped[bool] = mapped_column(default=True)
    source: Mapped[str] = mapped_column(String(120))
    # An event id, so consuming the same event twice does not purge twice.
    dedupe_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # W3C trace context its deliveries' spans join (the planning of the event that caused it); null untraced.
    traceparent: Mapped[str | None] = mapped_column(String(55), nullable=True, default=None)


class PurgeDelivery(PurgeBase):
    __tablename__ = "purge_deliveries"
    __table_args__ = (
        # What purgers read: a region's pending deliveries by due time. Partial, so it holds only pending rows
        # and stays small however long the log of acknowledged ones grows (migration 0002).
        Index(
            "ix_purge_deliveries_pending",
            "region",
            "not_before",
            sqlite_where=text("acked_at IS NULL"),
            postgresql_where=text("acked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    purge_id: Mapped[str] = mapped_column(ForeignKey("purge_requests.id", ondelete="CASCADE"), index=True)
    region: Mapped[str] = mapped_column(String(16))
    edge: Mapped[str] = mapped_column(String(200))
    # A follow-up delivery repeats a key purge a little later: an edge may store a page that was being
    # fetched while the first purge ran (xkey skips objects still in flight).
    followup: Mapped[bool] = mapped_column(default=False)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(300))


class PurgeCause(PurgeBase):
    """When the change behind an event's purge committed (its outbox event's `occurred_at`), for the purge-lag
    metric. A table of its own (migration 0003): only event purges have a cause, older purges have no row."""

    __tablename__ = "purge_causes"

    purge_id: Mapped[str] = mapped_column(ForeignKey("purge_requests.id", ondelete="CASCADE"), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutboxCursor(PurgeBase):
    __tablename__ = "purge_outbox_cursors"

    source: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_seq: Mapped[int] = mapped_column(default=0)


async def record_purge(
    session: AsyncSession,
    *,
    keys: Sequence[str],
    urls: Sequence[str],
    targets: Iterable[Target],
    soft: bool,
    source: str,
    dedupe_key: str | None = None,
    not_before: datetime | None = None,
    followup_after: timedelta | None = None,
    occurred_at: datetime | None = None,
    traceparent: str | None = None,
) -> tuple[str, bool]:
    """Stage a purge and its deliveries in the caller's transaction; returns (id, created)."""
    if dedupe_key is not None:
        existing = await session.scalar(select(PurgeRequest.id).where(PurgeRequest.dedupe_key == dedupe_key))
        if existing is not None:
            return existing, False
    targets = list(targets)
    request = PurgeRequest(
        keys=list(keys),
        urls=list(urls),
        regions=sorted({t.region for t in targets}),
        soft=soft,
        source=source,
        dedupe_key=dedupe_key,
        traceparent=traceparent,
    )
    session.add(request)
    await session.flush()
    if occurred_at is not None:
        session.add(PurgeCause(purge_id=request.id, occurred_at=occurred_at))
    start = not_before or utcnow()
    for target in targets:
        edge = str(target.edge)  # stored in the spelling receipts show: `varnish:http://…`, `fastly:svc`
        session.add(PurgeDelivery(purge_id=request.id, region=target.region, edge=edge, not_before=start))
        if followup_after and keys and target.followup:
            session.add(
                PurgeDelivery(
                    purge_id=request.id,
                    region=target.region,
                    edge=edge,
                    followup=True,
                    not_before=start + followup_after,
                )
            )
    return request.id, True


async def due(
    session: AsyncSession, region: str, now: datetime, limit: int = 200
) -> list[tuple[PurgeDelivery, PurgeRequest, datetime | None]]:
    """Pending deliveries that are due, with their purge and when its cause committed (None: an API purge)."""
    rows = await session.execute(
        select(PurgeDelivery, PurgeRequest, PurgeCause.occurred_at)
        .join(PurgeRequest, PurgeRequest.id == PurgeDelivery.purge_id)
        .outerjoin(PurgeCause, PurgeCause.purge_id == PurgeDelivery.purge_id)
        .where(PurgeDelivery.region == region, PurgeDelivery.acked_at.is_(None), PurgeDelivery.not_before <= now)
        .order_by(PurgeDelivery.id)
        .limit(limit)
    )
    return [(delivery, request, occurred_at) for delivery, request, occurred_at in rows.all()]


async def next_due(session: AsyncSession, region: str) -> datetime | None:
    """When the region's earliest pending delivery falls due (it may be past), or None with none pending."""
    return await session.scalar(
        select(func.min(PurgeDelivery.not_before)).where(
            PurgeDelivery.region == region, PurgeDelivery.acked_at.is_(None)
        )
    )


async def acknowledge(session: AsyncSession, ids: Sequence[int], removed: int, now: datetime) -> None:
    await session.execute(
        update(PurgeDelivery)
        .where(PurgeDelivery.id.in_(ids), PurgeDelivery.acked_at.is_(None))
        .values(acked_at=now, removed=removed, attempts=PurgeDelivery.attempts + 1, last_error=None)
    )


def backoff(attempts: int) -> timedelta:
    """How long a failed delivery waits: 0.2 s doubling per attempt, at most 30 s."""
    return timedelta(seconds=min(30.0, 0.2 * 2 ** min(attempts, 8)))


async def retry_later(session: AsyncSession, ids: Sequence[int], error: str, now: datetime) -> None:
    for delivery in (await session.scalars(select(PurgeDelivery).where(PurgeDelivery.id.in_(ids)))).all():
        delivery.attempts += 1
        delivery.last_error = error[:300]
        delivery.not_before = now + backoff(delivery.attempts)


async def receipt(session: AsyncSession, purge_id: str) -> dict[str, Any] | None:
    request = await session.get(PurgeRequest, purge_id)
    if request is None:
        return None
    deliveries = (
        await session.scalars(
            select(PurgeDelivery).where(PurgeDelivery.purge_id == purge_id).order_by(PurgeDelivery.id)
        )
    ).all()
    regions: dict[str, dict[str, Any]] = {}
    for d in deliveries:
        if d.followup:
            continue
        entry = regions.setdefault(d.region, {"acknowledged_at": None, "edges": []})
        entry["edges"].append(
            {
                "edge": d.edge,
                "acknowledged_at": d.acked_at.isoformat() if d.acked_at else None,
                "removed": d.removed,
                "attempts": d.attempts,
                "last_error": d.last_error,
            }
        )
    for entry in regions.values():
        times = [e["acknowledged_at"] for e in entry["edges"]]
        entry["acknowledged_at"] = max(times) if all(times) else None  # type: ignore[type-var]
    return {
        "id": request.id,
        "keys": request.keys,
        "urls": request.urls,
        "soft": request.soft,
        "source": request.source,
        "created_at": request.created_at.isoformat(),
        "complete": all(entry["acknowledged_at"] for entry in regions.values()),
        "regions": regions,
    }

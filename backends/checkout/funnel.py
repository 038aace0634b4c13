"""Checkout funnel: the first time each cart reaches each step, and step-to-step conversion."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from backends.checkout.models import FunnelStep

STEPS = ("cart", "checkout", "contact", "address", "shipping", "payment", "placed")


async def record(session: AsyncSession, *, cart_id: str, region: str, step: str) -> None:
    """Count a cart at a step once, whatever the retries (runs in the caller's transaction)."""
    if step not in STEPS:
        raise ValueError(f"unknown funnel step {step!r}")
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    await session.execute(insert(FunnelStep).values(cart_id=cart_id, region=region, step=step).on_conflict_do_nothing())


async def conversion(session: AsyncSession, *, region: str | None, since: datetime | None) -> list[dict[str, Any]]:
    stmt = select(FunnelStep.step, func.count()).group_by(FunnelStep.step)
    if region:
        stmt = stmt.where(FunnelStep.region == region)
    if since:
        stmt = stmt.where(FunnelStep.at >= since)
    counts = dict((await session.execute(stmt)).all())
    rows, previous = [], None
    first = counts.get(STEPS[0], 0)
    for step in STEPS:
        carts = counts.get(step, 0)
        rows.append(
            {
                "step": step,
                "carts": carts,
                "from_previous": round(carts / previous, 4) if previous else None,
                "from_start": round(carts / first, 4) if first else None,
            }
        )
        previous = carts
    return rows

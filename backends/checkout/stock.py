"""Sellable stock: reserve with an expiry, commit on order, release on expiry or failure; never oversell.

Every function runs inside the caller's write transaction. Reservations take stock with one
conditional UPDATE (`on_hand - reserved >= quantity`), which is atomic on SQLite (writers are
serialised by BEGIN IMMEDIATE) and on PostgreSQL (the row lock re-checks the condition), and SKUs
are always touched in sorted order so two carts cannot deadlock each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backends.checkout.models import CheckoutEvent, Reservation, Stock
from backends.common import add_event


@dataclass(frozen=True, slots=True)
class Shortage:
    sku: str
    requested: int
    available: int


class OutOfStock(Exception):
    def __init__(self, shortages: Sequence[Shortage]) -> None:
        super().__init__(", ".join(f"{s.sku}: {s.available} of {s.requested}" for s in shortages))
        self.shortages = list(shortages)

    def details(self) -> list[dict[str, str | int]]:
        return [{"sku": s.sku, "requested": s.requested, "available": s.available} for s in self.shortages]


class StockBelowReserved(ValueError):
    pass


async def available(session: AsyncSession, region: str, skus: Iterable[str]) -> dict[str, int]:
    rows = await session.execute(
        select(Stock.sku, Stock.on_hand - Stock.reserved).where(Stock.region == region, Stock.sku.in_(list(skus)))
    )
    return {sku: max(0, free) for sku, free in rows.all()}


async def reserve(
    session: AsyncSession,
    *,
    cart_id: str,
    region: str,
    lines: Sequence[tuple[str, int]],
    expires_at: datetime,
    order_id: str | None = None,
) -> list[Reservation]:
    """Hold stock for a cart's lines, replacing its live reservations; all or nothing (raises OutOfStock)."""
    await release(session, await live_reservations(session, cart_id))
    held, shortages = [], []
    for sku, quantity in sorted(lines):
        result = await session.execute(
            update(Stock)
            .where(Stock.region == region, Stock.sku == sku, Stock.on_hand - Stock.reserved >= quantity)
            .values(reserved=Stock.reserved + quantity)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            free = (await available(session, region, [sku])).get(sku, 0)
            shortages.append(Shortage(sku, quantity, free))
            continue
        reservation = Reservation(
            cart_id=cart_id,
            order_id=order_id,
            region=region,
            sku=sku,
            quantity=quantity,
            status="held" if order_id else "active",
            expires_at=expires_at,
        )
        session.add(reservation)
        held.append(reservation)
    if shortages:
        raise OutOfStock(shortages)  # the caller's transaction rolls back what was taken above
    await session.flush()
    return held


async def live_reservations(session: AsyncSession, cart_id: str) -> list[Reservation]:
    rows = await session.scalars(
        select(Reservation)
        .where(Reservation.cart_id == cart_id, Reservation.status.in_(("active", "held")))
        .order_by(Reservation.sku)
        .with_for_update()
    )
    return list(rows.all())


async def release(session: AsyncSession, reservations: Iterable[Reservation]) -> None:
    for r in reservations:
        if r.status not in ("active", "held"):
            continue
        await session.execute(
            update(Stock)
            .where(Stock.region == r.region, Stock.sku == r.sku)
            .values(reserved=Stock.reserved - r.quantity)
        )
        r.status = "released"


async def commit(session: AsyncSession, reservations: Iterable[Reservation], *, order_id: str) -> None:
    """Turn held units into sold ones and tell the outbox each SKU's new stock."""
    for r in sorted(reservations, key=lambda r: r.sku):
        if r.status != "held":
            continue
        await session.execute(
            update(Stock)
            .where(Stock.region == r.region, Stock.sku == r.sku)
            .values(on_hand=Stock.on_hand - r.quantity, reserved=Stock.reserved - r.quantity)
        )
        r.status = "committed"
        on_hand = await session.scalar(select(Stock.on_hand).where(Stock.region == r.region, Stock.sku == r.sku))
        _stock_event(session, r.region, r.sku, on_hand or 0, reason="order", order_id=order_id)


async def release_expired(session: AsyncSession, now: datetime, *, limit: int = 500) -> int:
    rows = await session.scalars(
        select(Reservation)
        .where(Reservation.status == "active", Reservation.expires_at <= now)
        .order_by(Reservation.sku)
        .limit(limit)
        .with_for_update()
    )
    expired = list(rows.all())
    await release(session, expired)
    return len(expired)


async def set_on_hand(session: AsyncSession, *, region: str, sku: str, on_hand: int) -> dict[str, int | bool]:
    """Restock or count stock; refused below what live reservations already hold."""
    row = await session.get(Stock, (region, sku), with_for_update=True)
    if row is None:
        row = Stock(region=region, sku=sku, on_hand=0, reserved=0)
        session.add(row)
    if on_hand < row.reserved:
        raise StockBelowReserved(f"{row.reserved} units are reserved")
    changed = row.on_hand != on_hand
    row.on_hand = on_hand
    if changed:
        _stock_event(session, region, sku, on_hand, reason="count")
    return {"on_hand": on_hand, "reserved": row.reserved, "changed": changed}


def _stock_event(
    session: AsyncSession, region: str, sku: str, on_hand: int, *, reason: str, order_id: str | None = None
) -> None:
    payload: dict[str, str | int] = {"sku": sku, "region": region, "on_hand": on_hand, "reason": reason}
    if order_id:
        payload["order_id"] = order_id
    add_event(session, CheckoutEvent, "stock.changed", [region], payload)

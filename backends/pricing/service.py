"""Price resolution at an instant (best promotion wins, no stacking), order totals, and admin writes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backends.common import add_event
from backends.common.money import money, percent_of
from backends.pricing.models import Price, PriceBook, PricingEvent, Promotion


def _discount(promo: Promotion, base: int) -> int:
    off = percent_of(base, promo.value) if promo.kind == "percent" else promo.value
    return max(0, min(off, base))


def _applies(promo: Promotion, price: Price) -> bool:
    return (
        (promo.scope == "sku" and promo.target == price.sku)
        or (promo.scope == "category" and promo.target == price.category)
        or (promo.scope == "brand" and promo.target == price.brand)
    )


def _promo_info(promo: Promotion, discount: int, currency: str) -> dict[str, Any]:
    return {
        "id": promo.id,
        "slug": promo.slug,
        "name": promo.name,
        "kind": promo.kind,
        "value": promo.value,
        "scope": promo.scope,
        "target": promo.target,
        "discount": money(discount, currency),
        "ends_at": promo.ends_at.isoformat(),
    }


def _next_change(promos: Sequence[Promotion], at: datetime) -> datetime | None:
    boundaries = [t for p in promos for t in (p.starts_at, p.ends_at) if t > at]
    return min(boundaries) if boundaries else None


async def _promotions_touching(
    session: AsyncSession, region: str, prices: Sequence[Price], at: datetime
) -> list[Promotion]:
    """Promotions for these SKUs (or whole orders) that are live now or start later."""
    targets = or_(
        Promotion.scope == "order",
        (Promotion.scope == "sku") & Promotion.target.in_({p.sku for p in prices}),
        (Promotion.scope == "category") & Promotion.target.in_({p.category for p in prices}),
        (Promotion.scope == "brand") & Promotion.target.in_({p.brand for p in prices}),
    )
    stmt = select(Promotion).where(Promotion.region == region, Promotion.ends_at > at, targets)
    return list((await session.scalars(stmt.order_by(Promotion.id))).all())


async def quote(session: AsyncSession, *, region: str, skus: Sequence[str], at: datetime) -> dict[str, Any]:
    book = await session.get(PriceBook, region)
    if book is None:
        raise LookupError(region)
    prices = (await session.scalars(select(Price).where(Price.region == region, Price.sku.in_(skus)))).all()
    promos = await _promotions_touching(session, region, prices, at)
    live = [p for p in promos if p.starts_at <= at < p.ends_at and p.scope != "order"]
    by_sku = {p.sku: p for p in prices}
    lines = []
    for sku in skus:
        price = by_sku.get(sku)
        if price is None:
            continue
        base = price.sale_minor or price.list_minor
        best, best_off = None, 0
        for promo in live:
            if _applies(promo, price) and (off := _discount(promo, base)) > best_off:
                best, best_off = promo, off
        lines.append(
            {
                "sku": sku,
                "list": money(price.list_minor, book.currency),
                "sale": money(price.sale_minor, book.currency) if price.sale_minor else None,
                "final": money(base - best_off, book.currency),
                "final_minor": base - best_off,
                "promotions": [_promo_info(best, best_off, book.currency)] if best else [],
            }
        )
    next_change = _next_change(promos, at)
    return {
        "region": region,
        "currency": book.currency,
        "tax_inclusive": book.tax_inclusive,
        "at": at.isoformat(),
        "prices": lines,
        "missing": [s for s in skus if s not in by_sku],
        "next_change_at": next_change.isoformat() if next_change else None,
    }


async def order_total(
    session: AsyncSession,
    *,
    region: str,
    lines: Sequence[tuple[str, int]],
    at: datetime,
    codes: Sequence[str] = (),
) -> dict[str, Any]:
    """Price order lines, then apply the best order promotion the subtotal qualifies for.

    Promotions with a code compete only when one of `codes` names them; codes that name no live
    promotion in the region come back in `unknown_codes`.
    """
    skus = list(dict.fromkeys(sku for sku, _ in lines))
    priced = await quote(session, region=region, skus=skus, at=at)
    unit = {p["sku"]: p["final_minor"] for p in priced["prices"]}
    currency = priced["currency"]
    out_lines = [
        {
            "sku": sku,
            "quantity": qty,
            "unit": money(unit[sku], currency),
            "total": money(unit[sku] * qty, currency),
        }
        for sku, qty in lines
        if sku in unit
    ]
    subtotal = sum(unit[sku] * qty for sku, qty in lines if sku in unit)
    stmt = select(Promotion).where(
        Promotion.region == region,
        Promotion.scope == "order",
        Promotion.starts_at <= at,
        Promotion.ends_at > at,
    )
    wanted = {c.upper() for c in codes}
    best, best_off, known = None, 0, set()
    for promo in (await session.scalars(stmt.order_by(Promotion.id))).all():
        if promo.code is not None:
            if promo.code not in wanted:
                continue
            known.add(promo.code)
        if promo.min_order_minor <= subtotal and (off := _discount(promo, subtotal)) > best_off:
            best, best_off = promo, off
    return {
        "region": region,
        "currency": currency,
        "tax_inclusive": priced["tax_inclusive"],
        "lines": out_lines,
        "missing": priced["missing"],
        "subtotal": money(subtotal, currency),
        "order_promotions": [_promo_info(best, best_off, currency)] if best else [],
        "unknown_codes": sorted(wanted - known),
        "total": money(subtotal - best_off, currency),
        "next_change_at": priced["next_change_at"],
    }


async def set_price(
    session: AsyncSession, *, region: str, sku: str, list_minor: int, sale_minor: int | None
) -> dict[str, Any] | None:
    async with session.begin():
        price = await session.get(Price, (sku, region), with_for_update=True)
        if price is None:
            return None
        before = (price.list_minor, price.sale_minor)
        if before == (list_minor, sale_minor):
            return {"sku": sku, "region": region, "changed": False}
        price.list_minor, price.sale_minor = list_minor, sale_minor
        add_event(
            session,
            PricingEvent,
            "price.changed",
            [region],
            {
                "sku": sku,
                "product_id": price.product_id,
                "region": region,
                "before": {"list_minor": before[0], "sale_minor": before[1]},
                "after": {"list_minor": list_minor, "sale_minor": sale_minor},
            },
        )
        return {"sku": sku, "region": region, "changed": True}


class PromotionConflict(ValueError):
    pass


async def create_promotion(session: AsyncSession, fields: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Create a promotion; repeating the same request (same slug, same fields) returns the first one."""
    async with session.begin():
        existing = await session.scalar(select(Promotion).where(Promotion.slug == fields["slug"]))
        if existing is not None:
            if any(getattr(existing, k) != v for k, v in fields.items()):
                raise PromotionConflict(fields["slug"])
            return promotion_dict(existing), False
        promo = Promotion(**fields)
        session.add(promo)
        await session.flush()
        add_event(
            session,
            PricingEvent,
            "promotion.scheduled",
            [promo.region],
            {
                "promotion_id": promo.id,
                "slug": promo.slug,
                "scope": promo.scope,
                "target": promo.target,
                "starts_at": promo.starts_at.isoformat(),
                "ends_at": promo.ends_at.isoformat(),
            },
        )
        return promotion_dict(promo), True


def promotion_dict(p: Promotion) -> dict[str, Any]:
    return {
        "id": p.id,
        "slug": p.slug,
        "name": p.name,
        "region": p.region,
        "kind": p.kind,
        "value": p.value,
        "scope": p.scope,
        "target": p.target,
        "min_order_minor": p.min_order_minor,
        "code": p.code,
        "starts_at": p.starts_at.isoformat(),
        "ends_at": p.ends_at.isoformat(),
    }


async def list_promotions(session: AsyncSession, *, region: str, at: datetime) -> list[dict[str, Any]]:
    stmt = select(Promotion).where(Promotion.region == region, Promotion.ends_at > at).order_by(Promotion.starts_at)
    return [promotion_dict(p) for p in (await session.scalars(stmt)).all()]

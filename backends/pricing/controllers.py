"""Pricing HTTP API: price many SKUs at an instant, price an order, promotions, admin writes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Response, get, post, put
from litestar.datastructures import State
from litestar.exceptions import HTTPException, NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from backends.common import invalid, require_token, utcnow
from backends.common.money import parse_amount
from backends.common.openapi import problems
from backends.common.params import AMOUNT, MAX_ID, PRINTABLE, REGION_CODE, RegionPath, RegionQuery, instant
from backends.common.validation import PROMO_CODE, SKU, SLUG, region_of
from backends.pricing.schemas import OrderPrice, PriceQuote, PriceWrite, Promotion, Promotions
from backends.pricing.service import (
    PromotionConflict,
    create_promotion,
    list_promotions,
    order_total,
    quote,
    set_price,
)

MAX_SKUS = 200
SkuPath = Annotated[str, Parameter(max_length=64, pattern=SKU.pattern)]
Region = Annotated[str, msgspec.Meta(max_length=16, pattern=REGION_CODE)]


def _instant(at: datetime | None, field: str = "at", source: str = "query") -> datetime:
    return utcnow() if at is None else instant(at, field, source=source)


def _skus(raw: str) -> list[str]:
    skus = list(dict.fromkeys(s for s in raw.split(",") if s))
    if not skus:
        raise invalid("skus", "name at least one SKU")
    if len(skus) > MAX_SKUS:
        raise invalid("skus", f"at most {MAX_SKUS} SKUs per call")
    if not all(SKU.match(s) for s in skus):
        raise invalid("skus", "must be comma-separated SKUs")
    return skus


def _amount(raw: str, field: str, currency: str, *, allow_zero: bool = False) -> int:
    try:
        minor = parse_amount(raw, currency)
    except ValueError as exc:
        raise invalid(field, str(exc), source="body") from exc
    if minor < 0 or (minor == 0 and not allow_zero):
        raise invalid(field, "must be positive", source="body")
    if minor > MAX_ID:  # the minor-unit columns are 32-bit on PostgreSQL
        raise invalid(field, f"at most {MAX_ID} minor units", source="body")
    return minor


def _basis_points(raw: str) -> int:
    try:
        percent = Decimal(raw)
    except InvalidOperation:
        raise invalid("value", "a percentage such as 15 or 12.5", source="body") from None
    if not percent.is_finite() or not 0 < percent <= 100 or percent != percent.quantize(Decimal("0.01")):
        raise invalid("value", "a percentage above 0 and at most 100, with at most two decimals", source="body")
    return int(percent * 100)


Amount = Annotated[str, msgspec.Meta(max_length=20, pattern=AMOUNT)]


class PriceUpdate(msgspec.Struct, forbid_unknown_fields=True):
    list: Amount
    sale: Amount | None = None


class OrderLine(msgspec.Struct, forbid_unknown_fields=True):
    sku: Annotated[str, msgspec.Meta(pattern=SKU.pattern)]
    quantity: Annotated[int, msgspec.Meta(ge=1, le=999)]


class OrderQuote(msgspec.Struct, forbid_unknown_fields=True):
    region: Region
    lines: Annotated[list[OrderLine], msgspec.Meta(min_length=1, max_length=100)]
    at: datetime | None = None
    codes: Annotated[list[Annotated[str, msgspec.Meta(pattern=PROMO_CODE)]], msgspec.Meta(max_length=5)] = []


class PromotionIn(msgspec.Struct, forbid_unknown_fields=True):
    slug: Annotated[str, msgspec.Meta(pattern=SLUG.pattern, max_length=80)]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120, pattern=PRINTABLE)]
    region: Region
    kind: Literal["percent", "amount"]
    value: Amount
    scope: Literal["sku", "category", "brand", "order"]
    starts_at: datetime
    ends_at: datetime
    target: Annotated[str, msgspec.Meta(max_length=80, pattern=PRINTABLE)] = ""
    min_order: Amount = "0"
    code: Annotated[str, msgspec.Meta(pattern=PROMO_CODE)] | None = None


class PricingController(Controller):
    @get("/prices", responses=problems(404))
    async def prices(
        self,
        state: State,
        read_session: AsyncSession,
        region: RegionQuery,
        skus: Annotated[str, Parameter(max_length=MAX_SKUS * 65, pattern=r"^[A-Za-z0-9_.,-]+$")],
        at: datetime | None = None,
    ) -> PriceQuote:
        """Price many SKUs in one region at one instant (default now), with applied promotions."""
        region_of(state, region)
        try:
            return await quote(read_session, region=region, skus=_skus(skus), at=_instant(at))  # type: ignore[return-value]
        except LookupError as exc:
            raise NotFoundException(detail=f"No price book for region {region!r}.") from exc

    @post("/prices/order", status_code=200, responses=problems(404))
    async def order(self, state: State, db_session: AsyncSession, data: OrderQuote) -> OrderPrice:
        """Price order lines and apply order-threshold promotions; prices sent by clients never count."""
        region_of(state, data.region)
        lines = [(line.sku, line.quantity) for line in data.lines]
        try:
            return await order_total(  # type: ignore[return-value]
                db_session, region=data.region, lines=lines, at=_instant(data.at, source="body"), codes=data.codes
            )
        except LookupError as exc:
            raise NotFoundException(detail=f"No price book for region {data.region!r}.") from exc

    @get("/promotions")
    async def promotions(
        self,
        state: State,
        read_session: AsyncSession,
        region: RegionQuery,
        at: datetime | None = None,
    ) -> Promotions:
        """Promotions live at `at` or scheduled after it."""
        region_of(state, region)
        return {"promotions": await list_promotions(read_session, region=region, at=_instant(at))}  # type: ignore[return-value]

    @put("/admin/prices/{region:str}/{sku:str}", guards=[require_token])
    async def set_price(
        self, state: State, db_session: AsyncSession, region: RegionPath, sku: SkuPath, data: PriceUpdate
    ) -> PriceWrite:
        """Set a SKU's list and sale price in one region; a change writes a `price.changed` event."""
        currency = region_of(state, region).currency
        if not SKU.match(sku):
            raise invalid("sku", "not a SKU", source="path")
        list_minor = _amount(data.list, "list", currency)
        sale_minor = _amount(data.sale, "sale", currency) if data.sale is not None else None
        if sale_minor is not None and sale_minor > list_minor:
            raise invalid("sale", "must not exceed the list price", source="body")
        result = await set_price(db_session, region=region, sku=sku, list_minor=list_minor, sale_minor=sale_minor)
        if result is None:
            raise NotFoundException(detail=f"No price for {sku!r} in {region!r}.")
        return result  # type: ignore[return-value]  # encoded as is; PriceWrite documents it

    @post(
        "/admin/promotions",
        guards=[require_token],
        responses={
            **problems(409),
            200: ResponseSpec(Promotion, description="A retry: the original promotion.", generate_examples=False),
        },
    )
    async def create_promotion(self, state: State, db_session: AsyncSession, data: PromotionIn) -> Response[Promotion]:
        """Create a promotion; a retry with the same slug and fields answers 200 with the original."""
        currency = region_of(state, data.region).currency
        value = _basis_points(data.value) if data.kind == "percent" else _amount(data.value, "value", currency)
        if data.code is not None and data.scope != "order":
            raise invalid("code", "only order promotions take a code", source="body")
        if data.scope != "order" and not data.target:
            raise invalid("target", f"a {data.scope} promotion needs a target", source="body")
        starts, ends = _instant(data.starts_at, "starts_at", "body"), _instant(data.ends_at, "ends_at", "body")
        if ends <= starts:
            raise invalid("ends_at", "must be after starts_at", source="body")
        fields = {
            "slug": data.slug,
            "name": data.name,
            "region": data.region,
            "kind": data.kind,
            "value": value,
            "scope": data.scope,
            "target": data.target if data.scope != "order" else "",
            "min_order_minor": _amount(data.min_order, "min_order", currency, allow_zero=True)
            if data.scope == "order"
            else 0,
            "starts_at": starts,
            "ends_at": ends,
            "code": data.code.upper() if data.code else None,
        }
        try:
            promo, created = await create_promotion(db_session, fields)
        except PromotionConflict as exc:
            raise HTTPException(
                status_code=409, detail=f"Promotion {exc.args[0]!r} exists with different fields."
            ) from exc
        return Response(promo, status_code=201 if created else 200)

"""Catalog HTTP API: categories, product listing/search/facets, product detail, admin writes."""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, patch
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from backends.catalog.search import MAX_QUERY_CHARS
from backends.catalog.service import (
    ProductQuery,
    Sort,
    UnknownCategory,
    category_tree,
    get_product,
    list_products,
    related_products,
    update_product,
    variants_by_sku,
)
from backends.common import invalid, require_token
from backends.common.money import parse_amount
from backends.common.validation import SKU, SLUG, region_of

_ATTR_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_IDS = 100
MAX_ATTR_FILTERS = 8

SlugParam = Annotated[str | None, Parameter(max_length=80, pattern=SLUG.pattern)]


def _parse_ids(raw: str) -> tuple[int, ...]:
    parts = [p for p in raw.split(",") if p]
    if len(parts) > MAX_IDS:
        raise invalid("ids", f"at most {MAX_IDS} ids per call")
    if not all(p.isdigit() and len(p) <= 12 for p in parts):
        raise invalid("ids", "must be comma-separated positive integers")
    return tuple(dict.fromkeys(int(p) for p in parts))


def _attribute_filters(request: Request[Any, Any, Any]) -> dict[str, tuple[str, ...]]:
    filters: dict[str, tuple[str, ...]] = {}
    for key in request.query_params:
        if not key.startswith("attr."):
            continue
        name = key[5:]
        values = tuple(v for v in request.query_params.getall(key) if v)
        if not _ATTR_NAME.match(name) or any(len(v) > 80 for v in values) or len(values) > 20:
            raise invalid(key, "attribute filters are attr.<name>=<value> with short names and values")
        if values:
            filters[name] = values
    if len(filters) > MAX_ATTR_FILTERS:
        raise invalid("attr", f"at most {MAX_ATTR_FILTERS} attribute filters")
    return filters


def _price(raw: str | None, field: str, currency: str) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        minor = parse_amount(raw, currency)
    except ValueError as exc:
        raise invalid(field, str(exc)) from exc
    if minor < 0:
        raise invalid(field, "must not be negative")
    return minor


def _ref(ref: str) -> tuple[int | None, str | None]:
    """A product reference is a numeric id or a slug."""
    if ref.isdigit() and len(ref) <= 12:
        return int(ref), None
    if SLUG.match(ref) and len(ref) <= 120:
        return None, ref
    raise invalid("ref", "must be a numeric product id or a lowercase slug", source="path")


class ProductUpdate(msgspec.Struct, forbid_unknown_fields=True):
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    description: Annotated[str, msgspec.Meta(max_length=10_000)] | None = None
    brand: Annotated[str, msgspec.Meta(min_length=1, max_length=80)] | None = None
    attributes: (
        Annotated[
            dict[
                Annotated[str, msgspec.Meta(pattern=_ATTR_NAME.pattern)],
                Annotated[str, msgspec.Meta(min_length=1, max_length=80)],
            ],
            msgspec.Meta(max_length=20),
        ]
        | None
    ) = None


class CatalogController(Controller):
    @get("/categories")
    async def categories(self, db_session: AsyncSession) -> dict[str, Any]:
        return {"categories": await category_tree(db_session)}

    @get(["/products", "/search"])
    async def products(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db_session: AsyncSession,
        region: Annotated[str, Parameter(max_length=16)],
        category: SlugParam = None,
        brand: Annotated[list[str] | None, Parameter(max_items=20)] = None,
        q: Annotated[str | None, Parameter(max_length=MAX_QUERY_CHARS)] = None,
        min_price: Annotated[str | None, Parameter(max_length=20)] = None,
        max_price: Annotated[str | None, Parameter(max_length=20)] = None,
        in_stock: bool | None = None,
        ids: Annotated[str | None, Parameter(max_length=MAX_IDS * 13)] = None,
        sort: Sort | None = None,
        page: Annotated[int, Parameter(ge=1, le=10_000)] = 1,
        page_size: Annotated[int, Parameter(ge=1, le=100)] = 24,
        facets: bool = True,
    ) -> dict[str, Any]:
        """List, filter, search and facet products; `ids=1,2,3` fetches many by id in one call."""
        found = region_of(state, region)
        query = ProductQuery(
            region=region,
            category=category,
            brands=tuple(b[:80] for b in brand or ()),
            q=q,
            min_price=_price(min_price, "min_price", found.currency),
            max_price=_price(max_price, "max_price", found.currency),
            in_stock=in_stock,
            attributes=_attribute_filters(request),
            ids=_parse_ids(ids) if ids else (),
            sort=sort or ("relevance" if q else "featured"),
            page=page,
            page_size=page_size,
        )
        if query.min_price is not None and query.max_price is not None and query.min_price > query.max_price:
            raise invalid("min_price", "must not exceed max_price")
        try:
            return await list_products(
                db_session, query, low_threshold=state.settings.low_stock_threshold, with_facets=facets
            )
        except UnknownCategory as exc:
            raise NotFoundException(detail=f"No category {exc.args[0]!r}.") from exc

    @get("/variants")
    async def variants(
        self, db_session: AsyncSession, skus: Annotated[str, Parameter(max_length=MAX_IDS * 65)]
    ) -> dict[str, Any]:
        """Many SKUs in one call, with their product, options, image and shipping weight (for checkout)."""
        wanted = list(dict.fromkeys(s for s in skus.split(",") if s))
        if not wanted or len(wanted) > MAX_IDS or not all(SKU.match(s) for s in wanted):
            raise invalid("skus", f"1 to {MAX_IDS} comma-separated SKUs")
        return {"items": await variants_by_sku(db_session, wanted)}

    @get("/products/{ref:str}")
    async def product(
        self,
        state: State,
        db_session: AsyncSession,
        ref: str,
        region: Annotated[str, Parameter(max_length=16)],
    ) -> dict[str, Any]:
        """One product by numeric id or by slug, with its variants and their stock in `region`."""
        region_of(state, region)
        if ref.isdigit() and len(ref) <= 12:
            found = await get_product(
                db_session,
                region=region,
                low_threshold=state.settings.low_stock_threshold,
                product_id=int(ref),
            )
        elif SLUG.match(ref) and len(ref) <= 120:
            found = await get_product(
                db_session, region=region, low_threshold=state.settings.low_stock_threshold, slug=ref
            )
        else:
            raise invalid("ref", "must be a numeric product id or a lowercase slug", source="path")
        if found is None:
            raise NotFoundException(detail=f"No product {ref!r}.")
        return found

    @get("/products/{ref:str}/related")
    async def related(
        self,
        state: State,
        db_session: AsyncSession,
        ref: str,
        region: Annotated[str, Parameter(max_length=16)],
        limit: Annotated[int, Parameter(ge=1, le=24)] = 4,
    ) -> dict[str, Any]:
        """Products to show beside this one, in one call (a product page must not chain catalog reads)."""
        region_of(state, region)
        product_id, slug = _ref(ref)
        items = await related_products(
            db_session,
            ref_id=product_id,
            ref_slug=slug,
            region=region,
            limit=limit,
            low_threshold=state.settings.low_stock_threshold,
        )
        if items is None:
            raise NotFoundException(detail=f"No product {ref!r}.")
        return {"items": items}

    @patch("/admin/products/{product_id:int}", guards=[require_token])
    async def update(self, db_session: AsyncSession, product_id: int, data: ProductUpdate) -> dict[str, Any]:
        changes = {f: getattr(data, f) for f in data.__struct_fields__ if getattr(data, f) is not None}
        if not changes:
            raise invalid("body", "name at least one field to change", source="body")
        result = await update_product(db_session, product_id, changes)
        if result is None:
            raise NotFoundException(detail=f"No product {product_id}.")
        return result

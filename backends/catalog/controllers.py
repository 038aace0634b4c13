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

from backends.catalog.schemas import CategoryTree, ProductDetail, ProductPage, ProductWrite, RelatedProducts, Variants
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
from backends.common.openapi import problems
from backends.common.params import AMOUNT, MAX_ID, NO_NUL, PRINTABLE, IdPath, RegionQuery, is_ascii_int
from backends.common.validation import SKU, SLUG, region_of

_ATTR_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_IDS = 100
MAX_ATTR_FILTERS = 8

SlugParam = Annotated[str | None, Parameter(max_length=80, pattern=SLUG.pattern)]
# A numeric id or a slug; the pattern documents both, `_ref` still decides which and bounds the id.
RefPath = Annotated[str, Parameter(max_length=120, pattern=r"^(?:[0-9]{1,10}|[a-z0-9]+(?:-[a-z0-9]+)*)$")]
Printable80 = Annotated[str, Parameter(max_length=80, pattern=PRINTABLE)]
_PRINTABLE = re.compile(PRINTABLE)


def _parse_ids(raw: str) -> tuple[int, ...]:
    parts = [p for p in raw.split(",") if p]
    if len(parts) > MAX_IDS:
        raise invalid("ids", f"at most {MAX_IDS} ids per call")
    if not all(is_ascii_int(p) and 1 <= int(p) <= MAX_ID for p in parts):
        raise invalid("ids", f"must be comma-separated integers from 1 to {MAX_ID}")
    return tuple(dict.fromkeys(int(p) for p in parts))


def _brands(raw: list[str]) -> tuple[str, ...]:
    # Litestar does not apply the item pattern of a list parameter; a NUL would reach PostgreSQL.
    if not all(len(b) <= 80 and _PRINTABLE.match(b) for b in raw):
        raise invalid("brand", "brands are up to 80 printable characters")
    return tuple(raw)


def _attribute_filters(request: Request[Any, Any, Any]) -> dict[str, tuple[str, ...]]:
    filters: dict[str, tuple[str, ...]] = {}
    for key in request.query_params:
        if not key.startswith("attr."):
            continue
        name = key[5:]
        values = tuple(v for v in request.query_params.getall(key) if v)
        too_long = any(len(v) > 80 or not _PRINTABLE.match(v) for v in values)
        if not _ATTR_NAME.match(name) or too_long or len(values) > 20:
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
    if not 0 <= minor <= MAX_ID:
        raise invalid(field, f"must be between 0 and {MAX_ID} minor units")
    return minor


def _ref(ref: str) -> tuple[int | None, str | None]:
    """A product reference is a numeric id (ASCII digits, within the id column) or a slug."""
    if is_ascii_int(ref):
        if not 1 <= int(ref) <= MAX_ID:
            raise invalid("ref", f"a product id is from 1 to {MAX_ID}", source="path")
        return int(ref), None
    if SLUG.match(ref) and len(ref) <= 120:
        return None, ref
    raise invalid("ref", "must be a numeric product id or a lowercase slug", source="path")


class ProductUpdate(msgspec.Struct, forbid_unknown_fields=True):
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=PRINTABLE)] | None = None
    description: Annotated[str, msgspec.Meta(max_length=10_000, pattern=NO_NUL)] | None = None
    brand: Annotated[str, msgspec.Meta(min_length=1, max_length=80, pattern=PRINTABLE)] | None = None
    attributes: (
        Annotated[
            dict[
                Annotated[str, msgspec.Meta(pattern=_ATTR_NAME.pattern)],
                Annotated[str, msgspec.Meta(min_length=1, max_length=80, pattern=PRINTABLE)],
            ],
            msgspec.Meta(max_length=20),
        ]
        | None
    ) = None


class CatalogController(Controller):
    @get("/categories")
    async def categories(self, read_session: AsyncSession) -> CategoryTree:
        return {"categories": await category_tree(read_session)}  # type: ignore[return-value]

    @get(["/products", "/search"], responses=problems(404))
    async def products(
        self,
        request: Request[Any, Any, Any],
        state: State,
        read_session: AsyncSession,
        region: RegionQuery,
        category: SlugParam = None,
        brand: Annotated[list[Printable80] | None, Parameter(max_items=20)] = None,
        q: Annotated[str | None, Parameter(max_length=MAX_QUERY_CHARS, pattern=PRINTABLE)] = None,
        min_price: Annotated[str | None, Parameter(max_length=20, pattern=f"(?:{AMOUNT})?")] = None,
        max_price: Annotated[str | None, Parameter(max_length=20, pattern=f"(?:{AMOUNT})?")] = None,
        in_stock: bool | None = None,
        ids: Annotated[str | None, Parameter(max_length=MAX_IDS * 11, pattern=r"^[0-9,]*$")] = None,
        sort: Sort | None = None,
        page: Annotated[int, Parameter(ge=1, le=10_000)] = 1,
        page_size: Annotated[int, Parameter(ge=1, le=100)] = 24,
        facets: bool = True,
    ) -> ProductPage:
        """List, filter, search and facet products; `ids=1,2,3` fetches many by id in one call."""
        found = region_of(state, region)
        query = ProductQuery(
            region=region,
            category=category,
            brands=_brands(brand or []),
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
            return await list_products(  # type: ignore[return-value]  # encoded as is; ProductPage documents it
                read_session, query, low_threshold=state.settings.low_stock_threshold, with_facets=facets
            )
        except UnknownCategory as exc:
            raise NotFoundException(detail=f"No category {exc.args[0]!r}.") from exc

    @get("/variants")
    async def variants(
        self,
        read_session: AsyncSession,
        skus: Annotated[str, Parameter(max_length=MAX_IDS * 65, pattern=r"^[A-Za-z0-9_.,-]+$")],
    ) -> Variants:
        """Many SKUs in one call, with their product, options, image and shipping weight (for checkout)."""
        wanted = list(dict.fromkeys(s for s in skus.split(",") if s))
        if not wanted or len(wanted) > MAX_IDS or not all(SKU.match(s) for s in wanted):
            raise invalid("skus", f"1 to {MAX_IDS} comma-separated SKUs")
        return {"items": await variants_by_sku(read_session, wanted)}  # type: ignore[return-value]

    @get("/products/{ref:str}")
    async def product(
        self,
        state: State,
        read_session: AsyncSession,
        ref: RefPath,
        region: RegionQuery,
    ) -> ProductDetail:
        """One product by numeric id or by slug, with its variants and their stock in `region`."""
        region_of(state, region)
        product_id, slug = _ref(ref)
        if product_id is not None:
            found = await get_product(
                read_session,
                region=region,
                low_threshold=state.settings.low_stock_threshold,
                product_id=product_id,
            )
        else:
            found = await get_product(
                read_session, region=region, low_threshold=state.settings.low_stock_threshold, slug=slug
            )
        if found is None:
            raise NotFoundException(detail=f"No product {ref!r}.")
        return found  # type: ignore[return-value]

    @get("/products/{ref:str}/related")
    async def related(
        self,
        state: State,
        read_session: AsyncSession,
        ref: RefPath,
        region: RegionQuery,
        limit: Annotated[int, Parameter(ge=1, le=24)] = 4,
    ) -> RelatedProducts:
        """Products to show beside this one, in one call (a product page must not chain catalog reads)."""
        region_of(state, region)
        product_id, slug = _ref(ref)
        items = await related_products(
            read_session,
            ref_id=product_id,
            ref_slug=slug,
            region=region,
            limit=limit,
            low_threshold=state.settings.low_stock_threshold,
        )
        if items is None:
            raise NotFoundException(detail=f"No product {ref!r}.")
        return {"items": items}  # type: ignore[return-value]

    @patch("/admin/products/{product_id:int}", guards=[require_token])
    async def update(self, db_session: AsyncSession, product_id: IdPath, data: ProductUpdate) -> ProductWrite:
        """Change a product's text or attributes; its version goes up and a `product.updated` event is written."""
        changes = {f: getattr(data, f) for f in data.__struct_fields__ if getattr(data, f) is not None}
        if not changes:
            raise invalid("body", "name at least one field to change", source="body")
        result = await update_product(db_session, product_id, changes)
        if result is None:
            raise NotFoundException(detail=f"No product {product_id}.")
        return result  # type: ignore[return-value]  # encoded as is; ProductWrite documents it

"""Catalog reads (listing, facets, search, detail) and admin writes with their outbox events."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Select, and_, case, delete, func, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, joinedload, selectinload
from sqlalchemy.sql.elements import ColumnElement

from backends.catalog.models import (
    CatalogEvent,
    Category,
    Inventory,
    PriceIndex,
    Product,
    ProductAttribute,
    Variant,
)
from backends.catalog.search import ranked_matches, tokens
from backends.common import add_event

Sort = Literal["relevance", "featured", "price_asc", "price_desc", "newest", "title"]
Availability = Literal["in_stock", "low_stock", "sold_out"]


def availability(quantity: int, low_threshold: int) -> Availability:
    if quantity <= 0:
        return "sold_out"
    return "low_stock" if quantity <= low_threshold else "in_stock"


@dataclass(frozen=True, slots=True)
class ProductQuery:
    region: str
    category: str | None = None
    brands: tuple[str, ...] = ()
    q: str | None = None
    min_price: int | None = None
    max_price: int | None = None
    in_stock: bool | None = None
    attributes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ids: tuple[int, ...] = ()
    sort: Sort = "featured"
    page: int = 1
    page_size: int = 24


class UnknownCategory(LookupError):
    pass


_MAX_CATEGORY_DEPTH = 64  # a cycle in the tree must not make a product's path endless

# Filters' own names for the tables they look into, so they never correlate with a facet query's FROM. Made
# once: each aliased() builds proxies of every column, which cost more than a listing's SQL on PostgreSQL.
_ATTR = aliased(ProductAttribute, name="attr_filter")
_PRICE = aliased(PriceIndex, name="price_filter")
_VARIANT = aliased(Variant, name="variant_filter")
_STOCK = aliased(Inventory, name="stock_filter")
_CHILD = aliased(Category, name="child")
_PARENT = aliased(Category, name="parent")


async def category_tree(session: AsyncSession) -> list[dict[str, Any]]:
    rows = (await session.scalars(select(Category).order_by(Category.position, Category.id))).all()
    nodes = {c.id: {"id": c.id, "slug": c.slug, "name": c.name, "children": []} for c in rows}
    roots = []
    for c in rows:
        (nodes[c.parent_id]["children"] if c.parent_id in nodes else roots).append(nodes[c.id])
    return roots


async def _category_with_descendants(session: AsyncSession, slug: str) -> list[int]:
    tree = select(Category.id).where(Category.slug == slug).cte("category_tree", recursive=True)
    # UNION (not UNION ALL) drops rows already seen, so a cycle in the tree still ends.
    tree = tree.union(select(_CHILD.id).where(_CHILD.parent_id == tree.c.id))
    ids = sorted((await session.scalars(select(tree.c.id))).all())
    if not ids:
        raise UnknownCategory(slug)
    return ids


def _conditions(
    query: ProductQuery, category_ids: list[int] | None, search_ids: Select[Any] | None, skip: str = ""
) -> list[ColumnElement[bool]]:
    """WHERE clauses on `Product` for a listing; `skip` leaves one facet's own filter out so its counts stay useful.

    Per-product filters are correlated EXISTS on primary keys, so they cost a few lookups per product in
    scope (a category, a search) rather than a pass over the whole catalog per query. Subqueries use their
    own aliases and correlate only `Product`, so the clauses also fit facet queries that join these tables
    (two attribute filters reuse one alias, each in its own subquery's scope).
    """
    where: list[ColumnElement[bool]] = []
    if query.ids:
        where.append(Product.id.in_(query.ids))
    if category_ids is not None:
        where.append(Product.category_id.in_(category_ids))
    if search_ids is not None:
        where.append(Product.id.in_(search_ids))
    if query.brands and skip != "brand":
        where.append(Product.brand.in_(query.brands))
    for name, values in query.attributes.items():
        if skip != f"attr:{name}":
            where.append(
                select(literal(1))
                .where(_ATTR.product_id == Product.id, _ATTR.name == name, _ATTR.value.in_(values))
                .correlate(Product)
                .exists()
            )
    if (query.min_price is not None or query.max_price is not None) and skip != "price":
        bounds = [_PRICE.product_id == Product.id, _PRICE.region == query.region]
        if query.min_price is not None:
            bounds.append(_PRICE.amount_minor >= query.min_price)
        if query.max_price is not None:
            bounds.append(_PRICE.amount_minor <= query.max_price)
        where.append(select(literal(1)).where(*bounds).correlate(Product).exists())
    if query.in_stock is not None and skip != "availability":
        stocked = (
            select(literal(1))
            .select_from(_VARIANT)
            .join(_STOCK, _STOCK.sku == _VARIANT.sku)
            .where(_VARIANT.product_id == Product.id, _STOCK.region == query.region, _STOCK.quantity > 0)
            .correlate(Product)
            .exists()
        )
        where.append(stocked if query.in_stock else ~stocked)
    return where


async def stock_by_product(session: AsyncSession, product_ids: Iterable[int], region: str) -> dict[int, int]:
    rows = await session.execute(
        select(Variant.product_id, func.coalesce(func.sum(Inventory.quantity), 0))
        .outerjoin(Inventory, and_(Inventory.sku == Variant.sku, Inventory.region == region))
        .where(Variant.product_id.in_(list(product_ids)))
        .group_by(Variant.product_id)
    )
    return {pid: int(total) for pid, total in rows.all()}


async def list_products(
    session: AsyncSession, query: ProductQuery, *, low_threshold: int, with_facets: bool = True
) -> dict[str, Any]:
    dialect = session.bind.dialect.name
    if dialect == "postgresql" and ((await session.connection()).dialect.server_version_info or ()) >= (12,):
        # asyncpg prepares every statement, and after five runs PostgreSQL may reuse one generic plan for it,
        # made blind to the region and category: for facets that is a hash over the whole catalog and twice
        # the time. Planning each listing's statements for their own parameters costs far less. LOCAL: only
        # this read's transaction.
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    category_ids = await _category_with_descendants(session, query.category) if query.category else None
    words = tokens(query.q) if query.q else []
    matches = ranked_matches(dialect, words).subquery() if words else None
    search_ids = select(matches.c.product_id) if matches is not None else None
    if query.q is not None and not words:
        return {"items": [], "total": 0, "page": query.page, "page_size": query.page_size, "facets": {}}

    where = _conditions(query, category_ids, search_ids)
    total = await session.scalar(select(func.count()).select_from(Product).where(*where))

    # The page is ordered and cut on ids alone (from indexes, where one fits), then only its rows are read:
    # sorting whole product rows (descriptions, images) of a large category costs far more.
    stmt = select(Product.id).where(*where)
    if query.sort == "relevance" and matches is not None:
        # Joining the matches already keeps only them; matching a second time through `IN` would make
        # PostgreSQL rebuild every match's tsvector twice.
        stmt = select(Product.id).where(*_conditions(query, category_ids, None))
        stmt = stmt.join(matches, matches.c.product_id == Product.id).order_by(matches.c.rank.desc(), Product.id)
    elif query.sort in ("price_asc", "price_desc"):
        price = (
            select(PriceIndex.product_id, PriceIndex.amount_minor).where(PriceIndex.region == query.region).subquery()
        )
        stmt = stmt.outerjoin(price, price.c.product_id == Product.id)
        order = price.c.amount_minor.asc() if query.sort == "price_asc" else price.c.amount_minor.desc()
        stmt = stmt.order_by(order.nulls_last(), Product.id)
    elif query.sort == "newest":
        stmt = stmt.order_by(Product.created_at.desc(), Product.id.desc())
    elif query.sort == "title":
        stmt = stmt.order_by(Product.title, Product.id)
    else:
        stmt = stmt.order_by(Product.id)
    stmt = stmt.offset((query.page - 1) * query.page_size).limit(query.page_size)
    ids = list((await session.scalars(stmt)).all())
    # Each statement is a round trip (through a thread, on SQLite): the page's rows come with their category
    # and price hint in one, their SKUs and stock in another.
    rows = await session.execute(
        select(Product, PriceIndex.amount_minor)
        .outerjoin(PriceIndex, and_(PriceIndex.product_id == Product.id, PriceIndex.region == query.region))
        .where(Product.id.in_(ids))
        .options(joinedload(Product.category, innerjoin=True))
    )
    by_id = {p.id: (p, price) for p, price in rows.all()}
    skus, stock = await _skus_and_stock(session, ids, query.region)
    items = [
        _summary(p, stock.get(p.id, 0), price, skus.get(p.id, []), low_threshold)
        for p, price in (by_id[i] for i in ids if i in by_id)
    ]
    facets = await _facets(session, query, category_ids, search_ids, low_threshold) if with_facets else {}
    return {
        "items": items,
        "total": total or 0,
        "page": query.page,
        "page_size": query.page_size,
        "facets": facets,
    }


async def _skus_and_stock(
    session: AsyncSession, ids: list[int], region: str
) -> tuple[dict[int, list[str]], dict[int, int]]:
    """Each product's SKUs in their order, and its total stock in `region` (as `stock_by_product` counts it)."""
    rows = await session.execute(
        select(Variant.product_id, Variant.sku, Inventory.quantity)
        .outerjoin(Inventory, and_(Inventory.sku == Variant.sku, Inventory.region == region))
        .where(Variant.product_id.in_(ids))
        .order_by(Variant.position)
    )
    skus: dict[int, list[str]] = {}
    stock: dict[int, int] = {}
    for pid, sku, quantity in rows.all():
        skus.setdefault(pid, []).append(sku)
        stock[pid] = stock.get(pid, 0) + (quantity or 0)
    return skus, stock


def _summary(p: Product, quantity: int, price_hint: int | None, skus: list[str], low_threshold: int) -> dict[str, Any]:
    return {
        "id": p.id,
        "slug": p.slug,
        "title": p.title,
        "brand": p.brand,
        "category": p.category.slug,
        "image": p.images[0] if p.images else None,
        "skus": skus,
        "availability": availability(quantity, low_threshold),
        "price_hint_minor": price_hint,
        "version": p.version,
        "updated_at": p.updated_at.isoformat(),  # sitemaps' <lastmod>
    }


async def _facets(
    session: AsyncSession,
    query: ProductQuery,
    category_ids: list[int] | None,
    search_ids: Select[Any] | None,
    low_threshold: int,
) -> dict[str, Any]:
    """Facet counts over the products in scope, each aggregated by the database in one query.

    Each query filters the rows it counts directly (joined to `Product` when anything is filtered) rather
    than through `IN (SELECT id ...)`, and stock is summed and bucketed in SQL, so nothing scales with the
    catalog and no list of ids comes back to Python.
    """

    def scoped(stmt: Select[Any], product_id: ColumnElement[int], skip: str) -> Select[Any]:
        where = _conditions(query, category_ids, search_ids, skip=skip)
        return stmt.join(Product, Product.id == product_id).where(*where) if where else stmt

    brands = await session.execute(
        select(Product.brand, func.count())
        .where(*_conditions(query, category_ids, search_ids, skip="brand"))
        .group_by(Product.brand)
        .order_by(func.count().desc(), Product.brand)
    )
    attr_rows = (
        await session.execute(
            scoped(select(ProductAttribute.name, ProductAttribute.value, func.count()), ProductAttribute.product_id, "")
            .group_by(ProductAttribute.name, ProductAttribute.value)
            .order_by(ProductAttribute.name, func.count().desc(), ProductAttribute.value)
        )
    ).all()
    attributes: dict[str, list[dict[str, Any]]] = {}
    for name, value, count in attr_rows:
        attributes.setdefault(name, []).append({"value": value, "count": count})
    # Counts for a selected attribute ignore its own filter, so the shopper can widen the choice.
    for name in query.attributes:
        rows = await session.execute(
            scoped(select(ProductAttribute.value, func.count()), ProductAttribute.product_id, f"attr:{name}")
            .where(ProductAttribute.name == name)
            .group_by(ProductAttribute.value)
            .order_by(func.count().desc(), ProductAttribute.value)
        )
        attributes[name] = [{"value": v, "count": c} for v, c in rows.all()]
    low, high = (
        await session.execute(
            scoped(
                select(func.min(PriceIndex.amount_minor), func.max(PriceIndex.amount_minor)),
                PriceIndex.product_id,
                "price",
            ).where(PriceIndex.region == query.region)
        )
    ).one()
    return {
        "brand": [{"value": b, "count": c} for b, c in brands.all()],
        "attributes": attributes,
        "price": {"min_minor": low, "max_minor": high},
        "availability": await _availability_counts(
            session, _conditions(query, category_ids, search_ids, skip="availability"), query.region, low_threshold
        ),
    }


async def _availability_counts(
    session: AsyncSession, where: list[ColumnElement[bool]], region: str, low_threshold: int
) -> dict[str, int]:
    """How many products with variants in scope are in stock, low or sold out (as `availability` says)."""
    per_product = select(
        Variant.product_id, func.coalesce(func.sum(Inventory.quantity), 0).label("quantity")
    ).select_from(Variant)
    if where:
        per_product = per_product.join(Product, Product.id == Variant.product_id).where(*where)
    per_product = per_product.outerjoin(
        Inventory, and_(Inventory.sku == Variant.sku, Inventory.region == region)
    ).group_by(Variant.product_id)
    quantity = per_product.subquery().c.quantity

    def count_where(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    sold_out, low_stock, in_stock = (
        await session.execute(
            select(
                count_where(quantity <= 0),
                count_where(and_(quantity > 0, quantity <= low_threshold)),
                count_where(and_(quantity > 0, quantity > low_threshold)),
            )
        )
    ).one()
    return {"in_stock": int(in_stock), "low_stock": int(low_stock), "sold_out": int(sold_out)}


async def get_product(
    session: AsyncSession,
    *,
    region: str,
    low_threshold: int,
    product_id: int | None = None,
    slug: str | None = None,
) -> dict[str, Any] | None:
    stmt = select(Product).options(joinedload(Product.category, innerjoin=True))
    stmt = stmt.where(Product.id == product_id) if product_id is not None else stmt.where(Product.slug == slug)
    product = await session.scalar(stmt)
    if product is None:
        return None
    # The variants (in the relationship's order) come with their stock here in one round trip.
    rows = await session.execute(
        select(Variant, Inventory.quantity)
        .outerjoin(Inventory, and_(Inventory.sku == Variant.sku, Inventory.region == region))
        .where(Variant.product_id == product.id)
        .order_by(Variant.position)
    )
    variants: list[Variant] = []
    stock: dict[str, int] = {}
    for variant, quantity in rows.all():
        variants.append(variant)
        stock[variant.sku] = quantity or 0
    total = sum(stock.values())
    path = await _category_path(session, product.category_id)
    return {
        "id": product.id,
        "slug": product.slug,
        "title": product.title,
        "description": product.description,
        "brand": product.brand,
        "category": product.category.slug,
        "category_path": path,
        "attributes": product.attributes,
        "images": product.images,
        "version": product.version,
        "availability": availability(total, low_threshold),
        "variants": [
            {
                "sku": v.sku,
                "options": v.options,
                "stock": stock.get(v.sku, 0),
                "availability": availability(stock.get(v.sku, 0), low_threshold),
            }
            for v in variants
        ],
    }


async def related_products(
    session: AsyncSession, *, ref_id: int | None, ref_slug: str | None, region: str, limit: int, low_threshold: int
) -> list[dict[str, Any]] | None:
    """In-stock products from the same category as the given one (newest first), excluding itself."""
    stmt = select(Product.id, Product.category_id)
    stmt = stmt.where(Product.id == ref_id) if ref_id is not None else stmt.where(Product.slug == ref_slug)
    found = (await session.execute(stmt)).first()
    if found is None:
        return None
    query = ProductQuery(region=region, in_stock=True, page_size=limit + 1, sort="newest")
    where = [*_conditions(query, [found.category_id], None), Product.id != found.id]
    products = (
        await session.scalars(
            select(Product)
            .where(*where)
            .order_by(Product.created_at.desc(), Product.id.desc())
            .limit(limit)
            .options(joinedload(Product.category, innerjoin=True))
        )
    ).all()
    skus, stock = await _skus_and_stock(session, [p.id for p in products], region)
    return [_summary(p, stock.get(p.id, 0), None, skus.get(p.id, []), low_threshold) for p in products]


async def _category_path(session: AsyncSession, category_id: int) -> list[dict[str, str]]:
    """The category and its ancestors, root first: only those rows, however big the tree."""
    up = (
        select(Category.slug, Category.name, Category.parent_id, literal(0).label("depth"))
        .where(Category.id == category_id)
        .cte("category_path", recursive=True)
    )
    up = up.union_all(
        select(_PARENT.slug, _PARENT.name, _PARENT.parent_id, up.c.depth + 1).where(
            _PARENT.id == up.c.parent_id, up.c.depth < _MAX_CATEGORY_DEPTH
        )
    )
    rows = (await session.execute(select(up.c.slug, up.c.name).order_by(up.c.depth.desc()))).all()
    return [{"slug": slug, "name": name} for slug, name in rows]


async def update_product(session: AsyncSession, product_id: int, changes: dict[str, Any]) -> dict[str, Any] | None:
    """Apply an admin edit and its `product.updated` event in one transaction; a no-op edit emits nothing."""
    async with session.begin():
        product = await session.get(Product, product_id, options=[selectinload(Product.category)])
        if product is None:
            return None
        changed = [name for name, value in changes.items() if getattr(product, name) != value]
        if changed:
            for name in changed:
                setattr(product, name, changes[name])
            if "attributes" in changed:
                await _replace_attributes(session, product.id, changes["attributes"])
            product.version += 1
            add_event(
                session,
                CatalogEvent,
                "product.updated",
                ["*"],
                {
                    "product_id": product.id,
                    "slug": product.slug,
                    "category": product.category.slug,
                    "fields": changed,
                    "version": product.version,
                },
            )
        return {"id": product.id, "version": product.version, "changed": changed}


async def _replace_attributes(session: AsyncSession, product_id: int, attributes: dict[str, str]) -> None:
    await session.execute(delete(ProductAttribute).where(ProductAttribute.product_id == product_id))
    session.add_all(ProductAttribute(product_id=product_id, name=k, value=v) for k, v in attributes.items())


async def set_stock(
    session: AsyncSession, *, sku: str, region: str, quantity: int, low_threshold: int
) -> dict[str, Any] | None:
    """Set one SKU's displayed stock in one region, in the caller's transaction.

    The event says whether the shopper-visible state changed. Checkout owns sellable stock; this
    copy follows it (see `stock_feed`).
    """
    variant = await session.get(Variant, sku)
    if variant is None:
        return None
    product_stock = (await stock_by_product(session, [variant.product_id], region)).get(variant.product_id, 0)
    row = await session.get(Inventory, (sku, region), with_for_update=True)
    before = row.quantity if row else 0
    if row is None:
        session.add(Inventory(sku=sku, region=region, quantity=quantity))
    else:
        row.quantity = quantity
    if before == quantity:
        return {"sku": sku, "region": region, "quantity": quantity, "changed": False}
    after_total = product_stock - before + quantity
    state_before = availability(product_stock, low_threshold)
    state_after = availability(after_total, low_threshold)
    add_event(
        session,
        CatalogEvent,
        "inventory.changed",
        [region],
        {
            "sku": sku,
            "product_id": variant.product_id,
            "region": region,
            "quantity_before": before,
            "quantity": quantity,
            "state_before": state_before,
            "state_after": state_after,
            "visible_change": state_before != state_after,
        },
    )
    return {
        "sku": sku,
        "region": region,
        "quantity": quantity,
        "changed": True,
        "availability": state_after,
    }


async def variants_by_sku(session: AsyncSession, skus: Sequence[str]) -> list[dict[str, Any]]:
    """What checkout needs to show and ship a SKU: its product, options, first image and weight."""
    rows = await session.execute(
        select(Variant, Product).join(Product, Product.id == Variant.product_id).where(Variant.sku.in_(skus))
    )
    return [
        {
            "sku": variant.sku,
            "product_id": product.id,
            "slug": product.slug,
            "title": product.title,
            "brand": product.brand,
            "options": variant.options,
            "weight_grams": variant.weight_grams,
            "image": product.images[0] if product.images else None,
        }
        for variant, product in rows.all()
    ]

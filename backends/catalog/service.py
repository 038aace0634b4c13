"""Catalog reads (listing, facets, search, detail) and admin writes with their outbox events."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Select, and_, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
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


async def category_tree(session: AsyncSession) -> list[dict[str, Any]]:
    rows = (await session.scalars(select(Category).order_by(Category.position, Category.id))).all()
    nodes = {c.id: {"id": c.id, "slug": c.slug, "name": c.name, "children": []} for c in rows}
    roots = []
    for c in rows:
        (nodes[c.parent_id]["children"] if c.parent_id in nodes else roots).append(nodes[c.id])
    return roots


async def _category_with_descendants(session: AsyncSession, slug: str) -> list[int]:
    rows = (await session.execute(select(Category.id, Category.slug, Category.parent_id))).all()
    root = next((r.id for r in rows if r.slug == slug), None)
    if root is None:
        raise UnknownCategory(slug)
    ids, frontier = {root}, [root]
    while frontier:
        children = [r.id for r in rows if r.parent_id in frontier and r.id not in ids]
        ids.update(children)
        frontier = children
    return sorted(ids)


def _conditions(
    query: ProductQuery, category_ids: list[int] | None, search_ids: Select[Any] | None, skip: str = ""
) -> list[ColumnElement[bool]]:
    """WHERE clauses for a listing; `skip` leaves one facet's own filter out so its counts stay useful."""
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
                Product.id.in_(
                    select(ProductAttribute.product_id).where(
                        ProductAttribute.name == name, ProductAttribute.value.in_(values)
                    )
                )
            )
    if (query.min_price is not None or query.max_price is not None) and skip != "price":
        price = select(PriceIndex.product_id).where(PriceIndex.region == query.region)
        if query.min_price is not None:
            price = price.where(PriceIndex.amount_minor >= query.min_price)
        if query.max_price is not None:
            price = price.where(PriceIndex.amount_minor <= query.max_price)
        where.append(Product.id.in_(price))
    if query.in_stock is not None and skip != "availability":
        stocked = (
            select(Variant.product_id)
            .join(Inventory, Inventory.sku == Variant.sku)
            .where(Inventory.region == query.region, Inventory.quantity > 0)
        )
        where.append(Product.id.in_(stocked) if query.in_stock else Product.id.not_in(stocked))
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
    category_ids = await _category_with_descendants(session, query.category) if query.category else None
    words = tokens(query.q) if query.q else []
    matches = ranked_matches(dialect, words).subquery() if words else None
    search_ids = select(matches.c.product_id) if matches is not None else None
    if query.q is not None and not words:
        return {"items": [], "total": 0, "page": query.page, "page_size": query.page_size, "facets": {}}

    where = _conditions(query, category_ids, search_ids)
    total = await session.scalar(select(func.count()).select_from(Product).where(*where))

    stmt = select(Product).where(*where)
    price = None
    if query.sort in ("price_asc", "price_desc"):
        price = (
            select(PriceIndex.product_id, PriceIndex.amount_minor).where(PriceIndex.region == query.region).subquery()
        )
        stmt = stmt.outerjoin(price, price.c.product_id == Product.id)
        order = price.c.amount_minor.asc() if query.sort == "price_asc" else price.c.amount_minor.desc()
        stmt = stmt.order_by(order.nulls_last(), Product.id)
    elif query.sort == "relevance" and matches is not None:
        stmt = stmt.join(matches, matches.c.product_id == Product.id).order_by(matches.c.rank.desc(), Product.id)
    elif query.sort == "newest":
        stmt = stmt.order_by(Product.created_at.desc(), Product.id.desc())
    elif query.sort == "title":
        stmt = stmt.order_by(Product.title, Product.id)
    else:
        stmt = stmt.order_by(Product.id)
    stmt = stmt.offset((query.page - 1) * query.page_size).limit(query.page_size)
    products = (await session.scalars(stmt.options(selectinload(Product.category)))).all()

    ids = [p.id for p in products]
    stock = await stock_by_product(session, ids, query.region)
    prices = dict(
        (
            await session.execute(
                select(PriceIndex.product_id, PriceIndex.amount_minor).where(
                    PriceIndex.region == query.region, PriceIndex.product_id.in_(ids)
                )
            )
        ).all()
    )
    skus = await _skus_by_product(session, ids)
    items = [_summary(p, stock.get(p.id, 0), prices.get(p.id), skus.get(p.id, []), low_threshold) for p in products]
    facets = await _facets(session, query, category_ids, search_ids, low_threshold) if with_facets else {}
    return {
        "items": items,
        "total": total or 0,
        "page": query.page,
        "page_size": query.page_size,
        "facets": facets,
    }


async def _skus_by_product(session: AsyncSession, ids: list[int]) -> dict[int, list[str]]:
    rows = await session.execute(
        select(Variant.product_id, Variant.sku).where(Variant.product_id.in_(ids)).order_by(Variant.position)
    )
    out: dict[int, list[str]] = {}
    for pid, sku in rows.all():
        out.setdefault(pid, []).append(sku)
    return out


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
    }


async def _facets(
    session: AsyncSession,
    query: ProductQuery,
    category_ids: list[int] | None,
    search_ids: Select[Any] | None,
    low_threshold: int,
) -> dict[str, Any]:
    def scoped(skip: str) -> Select[Any]:
        return select(Product.id).where(*_conditions(query, category_ids, search_ids, skip=skip))

    brands = await session.execute(
        select(Product.brand, func.count())
        .where(Product.id.in_(scoped("brand")))
        .group_by(Product.brand)
        .order_by(func.count().desc(), Product.brand)
    )
    attr_rows = (
        await session.execute(
            select(ProductAttribute.name, ProductAttribute.value, func.count())
            .where(ProductAttribute.product_id.in_(scoped("")))
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
            select(ProductAttribute.value, func.count())
            .where(ProductAttribute.name == name, ProductAttribute.product_id.in_(scoped(f"attr:{name}")))
            .group_by(ProductAttribute.value)
            .order_by(func.count().desc(), ProductAttribute.value)
        )
        attributes[name] = [{"value": v, "count": c} for v, c in rows.all()]
    low, high = (
        await session.execute(
            select(func.min(PriceIndex.amount_minor), func.max(PriceIndex.amount_minor)).where(
                PriceIndex.region == query.region, PriceIndex.product_id.in_(scoped("price"))
            )
        )
    ).one()
    stock = await stock_by_product(session, (await session.scalars(scoped("availability"))).all(), query.region)
    counts = {"in_stock": 0, "low_stock": 0, "sold_out": 0}
    for quantity in stock.values():
        counts[availability(quantity, low_threshold)] += 1
    return {
        "brand": [{"value": b, "count": c} for b, c in brands.all()],
        "attributes": attributes,
        "price": {"min_minor": low, "max_minor": high},
        "availability": counts,
    }


async def get_product(
    session: AsyncSession,
    *,
    region: str,
    low_threshold: int,
    product_id: int | None = None,
    slug: str | None = None,
) -> dict[str, Any] | None:
    stmt = select(Product).options(selectinload(Product.category), selectinload(Product.variants))
    stmt = stmt.where(Product.id == product_id) if product_id is not None else stmt.where(Product.slug == slug)
    product = await session.scalar(stmt)
    if product is None:
        return None
    stock = dict(
        (
            await session.execute(
                select(Inventory.sku, Inventory.quantity).where(
                    Inventory.region == region, Inventory.sku.in_([v.sku for v in product.variants])
                )
            )
        ).all()
    )
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
            for v in product.variants
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
            .options(selectinload(Product.category))
        )
    ).all()
    ids = [p.id for p in products]
    stock = await stock_by_product(session, ids, region)
    skus = await _skus_by_product(session, ids)
    return [_summary(p, stock.get(p.id, 0), None, skus.get(p.id, []), low_threshold) for p in products]


async def _category_path(session: AsyncSession, category_id: int) -> list[dict[str, str]]:
    rows = {
        r.id: r
        for r in (await session.execute(select(Category.id, Category.slug, Category.name, Category.parent_id))).all()
    }
    path, current = [], rows.get(category_id)
    while current is not None:
        path.append({"slug": current.slug, "name": current.name})
        current = rows.get(current.parent_id) if current.parent_id else None
    return list(reversed(path))


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

"""The catalog's response shapes, as its OpenAPI document states them (handlers build plain dicts)."""

from __future__ import annotations

import msgspec

from backends.common.events import Availability, payloads


class ImageRef(msgspec.Struct):
    """An original in the origin's image store; `/img/{hash}/{width}.{avif,webp,jpg}` serves its variants."""

    hash: str
    width: int
    height: int
    alt: str = ""


class Category(msgspec.Struct):
    id: int
    slug: str
    name: str
    children: list[Category]


class CategoryTree(msgspec.Struct):
    categories: list[Category]


class ProductSummary(msgspec.Struct):
    id: int
    slug: str
    title: str
    brand: str
    category: str
    image: ImageRef | None
    skus: list[str]
    availability: Availability
    price_hint_minor: int | None
    version: int
    updated_at: str  # for sitemaps' <lastmod>


class FacetValue(msgspec.Struct):
    value: str
    count: int


class PriceRange(msgspec.Struct):
    min_minor: int | None
    max_minor: int | None


class AvailabilityCounts(msgspec.Struct):
    in_stock: int
    low_stock: int
    sold_out: int


class Facets(msgspec.Struct):
    """Empty when `facets=false` or a search has no words to match."""

    brand: list[FacetValue] = []
    attributes: dict[str, list[FacetValue]] = {}
    price: PriceRange | None = None
    availability: AvailabilityCounts | None = None


class ProductPage(msgspec.Struct):
    items: list[ProductSummary]
    total: int
    page: int
    page_size: int
    facets: Facets


class CategoryRef(msgspec.Struct):
    slug: str
    name: str


class VariantStock(msgspec.Struct):
    sku: str
    options: dict[str, str]
    stock: int
    availability: Availability


class ProductDetail(msgspec.Struct):
    id: int
    slug: str
    title: str
    description: str
    brand: str
    category: str
    category_path: list[CategoryRef]
    attributes: dict[str, str]
    images: list[ImageRef]
    version: int
    availability: Availability
    variants: list[VariantStock]


class RelatedProducts(msgspec.Struct):
    items: list[ProductSummary]


class ProductWrite(msgspec.Struct):
    """An admin edit's outcome: `changed` names the fields that differed (none: no new version, no event)."""

    id: int
    version: int
    changed: list[str]


class Variant(msgspec.Struct):
    """What checkout needs to show and ship a SKU."""

    sku: str
    product_id: int
    slug: str
    title: str
    brand: str
    options: dict[str, str]
    weight_grams: int
    image: ImageRef | None


class Variants(msgspec.Struct):
    items: list[Variant]


# The outbox's event types and their payloads, as `/admin/outbox` documents them.
OUTBOX_PAYLOADS = payloads("product.updated", "inventory.changed")

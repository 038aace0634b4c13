"""The catalog's response shapes, as its OpenAPI document states them (handlers build plain dicts)."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

Availability = Literal["in_stock", "low_stock", "sold_out"]


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
    image: dict[str, Any] | None
    skus: list[str]
    availability: Availability
    price_hint_minor: int | None
    version: int


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
    images: list[dict[str, Any]]
    version: int
    availability: Availability
    variants: list[VariantStock]


class RelatedProducts(msgspec.Struct):
    items: list[ProductSummary]

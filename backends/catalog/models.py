"""Catalog tables: categories, products, attributes, variants, inventory per region, price index."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from backends.common import OutboxEventMixin, UTCDateTime, utcnow


class CatalogBase(DeclarativeBase):
    pass


class Category(CatalogBase):
    __tablename__ = "catalog_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_categories.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)


class Product(CatalogBase):
    __tablename__ = "catalog_products"
    __table_args__ = (
        # The brand facet counts a category from this index alone, without reading each product's row.
        Index("ix_catalog_products_category_brand", "category_id", "brand"),
        # "Newest" pages and related products read these in order instead of sorting whole product rows.
        Index("ix_catalog_products_category_created", "category_id", "created_at"),
        Index("ix_catalog_products_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    brand: Mapped[str] = mapped_column(String(80), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("catalog_categories.id"), index=True)
    attributes: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    images: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Bumped on every visible edit; content-versioned cache keys and ETags hang off it.
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    category: Mapped[Category] = relationship(lazy="raise")
    variants: Mapped[list[Variant]] = relationship(
        lazy="raise", order_by="Variant.position", cascade="all, delete-orphan"
    )


class ProductAttribute(CatalogBase):
    """One row per attribute value, so facets and filters are plain indexed SQL on any database."""

    __tablename__ = "catalog_product_attributes"
    __table_args__ = (
        # Filters and facets reach attributes by product (the primary key). Without statistics SQLite's planner
        # takes `name = ?` on this index for selective and walks every product with that attribute instead,
        # so it is PostgreSQL's alone (whose planner knows better).
        Index("ix_catalog_attr_name_value", "name", "value").ddl_if(dialect="postgresql"),
        # WITHOUT ROWID (SQLite): a lookup by product finds the value in the primary key's b-tree itself.
        {"sqlite_with_rowid": False},
    )

    product_id: Mapped[int] = mapped_column(ForeignKey("catalog_products.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(80))


class Variant(CatalogBase):
    __tablename__ = "catalog_variants"
    # Stock per product goes product -> SKUs -> inventory; with the SKU in the index it never reads the row.
    __table_args__ = (Index("ix_catalog_variants_product_sku", "product_id", "sku"),)

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("catalog_products.id", ondelete="CASCADE"))
    options: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    position: Mapped[int] = mapped_column(default=0)
    weight_grams: Mapped[int] = mapped_column(default=500)  # shipping weight, for checkout's rates


class Inventory(CatalogBase):
    __tablename__ = "catalog_inventory"
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="ck_catalog_inventory_nonnegative"),
        # Stock facets and filters look up (sku, region) for every SKU in scope: PostgreSQL can answer from this
        # index alone (once vacuumed); on SQLite, WITHOUT ROWID keeps the quantity in the primary key's b-tree.
        Index("ix_catalog_inventory_sku_region_quantity", "sku", "region", "quantity").ddl_if(dialect="postgresql"),
        {"sqlite_with_rowid": False},
    )

    sku: Mapped[str] = mapped_column(ForeignKey("catalog_variants.sku", ondelete="CASCADE"), primary_key=True)
    region: Mapped[str] = mapped_column(String(16), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer, default=0)


class PriceIndex(CatalogBase):
    """The product's lowest shelf price per region in minor units: a read model for price facets and sort.

    Pricing owns prices; this copy only orders and filters listings (the page shows pricing's answer).
    """

    __tablename__ = "catalog_price_index"
    # Facets and sorts look prices up by product. An index led by region would look selective to SQLite's
    # planner (it has no statistics) and make it scan a whole region's prices instead: keep it out.
    __table_args__ = ({"sqlite_with_rowid": False},)

    product_id: Mapped[int] = mapped_column(ForeignKey("catalog_products.id", ondelete="CASCADE"), primary_key=True)
    region: Mapped[str] = mapped_column(String(16), primary_key=True)
    amount_minor: Mapped[int] = mapped_column(Integer, index=True)


class FeedCursor(CatalogBase):
    """How far the catalog has followed another service's outbox (moved in the same transaction as its effect)."""

    __tablename__ = "catalog_feed_cursors"

    source: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_seq: Mapped[int] = mapped_column(default=0)


class CatalogEvent(OutboxEventMixin, CatalogBase):
    __tablename__ = "catalog_outbox"

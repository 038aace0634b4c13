"""The catalog's schema for migrations: its tables (with full-text search) and where their revisions live."""

from pathlib import Path

from backends.catalog import search as _search  # noqa: F401 - adds the full-text index and DDL to the metadata
from backends.catalog.models import CatalogBase
from backends.common.migrations import Schema

SCHEMA = Schema(
    name="catalog",
    metadata=CatalogBase.metadata,
    directory=Path(__file__).parent,
    prefixes=("catalog_",),
    unmanaged=("catalog_products_fts",),  # SQLite's FTS5 table and its shadow tables, made by raw DDL
)

"""Full-text search with ranking: SQLite FTS5 (kept in step by triggers) or PostgreSQL tsvector + GIN."""

from __future__ import annotations

import re

import sqlalchemy.dialects.postgresql  # noqa: F401 - registers its typed to_tsvector() before the index is built
from sqlalchemy import DDL, Index, Select, Table, column, event, func, literal_column, select, table
from sqlalchemy.sql.elements import ColumnElement

from backends.catalog.models import CatalogBase, Product

MAX_QUERY_CHARS = 200
_TOKEN = re.compile(r"\w+", re.UNICODE)

_FTS_DDL = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS catalog_products_fts USING fts5("
    "title, brand, description, content='catalog_products', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS catalog_products_fts_ai AFTER INSERT ON catalog_products BEGIN "
    "INSERT INTO catalog_products_fts(rowid, title, brand, description) "
    "VALUES (new.id, new.title, new.brand, new.description); END",
    "CREATE TRIGGER IF NOT EXISTS catalog_products_fts_ad AFTER DELETE ON catalog_products BEGIN "
    "INSERT INTO catalog_products_fts(catalog_products_fts, rowid, title, brand, description) "
    "VALUES ('delete', old.id, old.title, old.brand, old.description); END",
    "CREATE TRIGGER IF NOT EXISTS catalog_products_fts_au AFTER UPDATE ON catalog_products BEGIN "
    "INSERT INTO catalog_products_fts(catalog_products_fts, rowid, title, brand, description) "
    "VALUES ('delete', old.id, old.title, old.brand, old.description); "
    "INSERT INTO catalog_products_fts(rowid, title, brand, description) "
    "VALUES (new.id, new.title, new.brand, new.description); END",
]
for _statement in _FTS_DDL:
    event.listen(CatalogBase.metadata, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
event.listen(
    CatalogBase.metadata,
    "before_drop",
    DDL("DROP TABLE IF EXISTS catalog_products_fts").execute_if(dialect="sqlite"),
)


def _pg_document() -> ColumnElement[object]:
    def weighted(col: ColumnElement[str], weight: str) -> ColumnElement[object]:
        return func.setweight(
            func.to_tsvector(literal_column("'simple'::regconfig"), col), literal_column(f"'{weight}'")
        )

    return (
        weighted(Product.title, "A").op("||")(weighted(Product.brand, "B")).op("||")(weighted(Product.description, "C"))
    )


# An Index over expressions alone is bound to no table (the leading 'simple' literal has none), so it was
# never created; appended to the table it is, and `models` adds it to databases made before.
Product.__table__.append_constraint(
    Index("ix_catalog_products_fts", _pg_document(), postgresql_using="gin").ddl_if(dialect="postgresql")
)

_fts: Table = table("catalog_products_fts", column("rowid"))


def tokens(query: str) -> list[str]:
    """Words of the shopper's query; everything else (quotes, operators, SQL) is dropped, not escaped."""
    return _TOKEN.findall(query.lower())[:12]


def ranked_matches(dialect: str, words: list[str]) -> Select[tuple[int, float]]:
    """`(product_id, rank)` rows matching every word as a prefix; a higher rank is a better match."""
    if dialect == "sqlite":
        match = " ".join(f'"{w}"*' for w in words)
        rank = -func.bm25(literal_column("catalog_products_fts"), 10.0, 5.0, 1.0)
        return (
            select(_fts.c.rowid.label("product_id"), rank.label("rank"))
            .select_from(_fts)
            .where(literal_column("catalog_products_fts").op("MATCH")(match))
        )
    query = func.to_tsquery(literal_column("'simple'::regconfig"), " & ".join(f"{w}:*" for w in words))
    document = _pg_document()
    return select(Product.id.label("product_id"), func.ts_rank(document, query).label("rank")).where(
        document.op("@@")(query)
    )

"""Baseline: the catalog schema as `create_all` made it before migrations.

Tables: categories, products (with full-text search), attributes, variants, inventory, price index, feed
cursors, outbox.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# As `backends/catalog/search.py` wrote it when this revision was made (a revision never changes).
_SQLITE_FTS = [
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


def upgrade() -> None:
    op.create_table(
        "catalog_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["catalog_categories.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_index(op.f("ix_catalog_categories_parent_id"), "catalog_categories", ["parent_id"], unique=False)
    op.create_table(
        "catalog_feed_cursors",
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("source"),
    )
    op.create_table(
        "catalog_outbox",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("regions", sa.JSON(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    op.create_index(op.f("ix_catalog_outbox_type"), "catalog_outbox", ["type"], unique=False)
    op.create_table(
        "catalog_products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=120), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("brand", sa.String(length=80), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("images", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["catalog_categories.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_index(op.f("ix_catalog_products_brand"), "catalog_products", ["brand"], unique=False)
    op.create_index("ix_catalog_products_category_brand", "catalog_products", ["category_id", "brand"], unique=False)
    op.create_index(
        "ix_catalog_products_category_created", "catalog_products", ["category_id", "created_at"], unique=False
    )
    op.create_index(op.f("ix_catalog_products_category_id"), "catalog_products", ["category_id"], unique=False)
    op.create_index("ix_catalog_products_created", "catalog_products", ["created_at"], unique=False)
    op.create_table(
        "catalog_price_index",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=False),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["catalog_products.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("product_id", "region"),
        sqlite_with_rowid=False,
    )
    op.create_index(op.f("ix_catalog_price_index_amount_minor"), "catalog_price_index", ["amount_minor"], unique=False)
    op.create_table(
        "catalog_product_attributes",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["catalog_products.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("product_id", "name"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "catalog_variants",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("weight_grams", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["catalog_products.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("sku"),
    )
    op.create_index("ix_catalog_variants_product_sku", "catalog_variants", ["product_id", "sku"], unique=False)
    op.create_table(
        "catalog_inventory",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity >= 0", name="ck_catalog_inventory_nonnegative"),
        sa.ForeignKeyConstraint(["sku"], ["catalog_variants.sku"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("sku", "region"),
        sqlite_with_rowid=False,
    )

    if op.get_bind().dialect.name == "postgresql":
        # Full-text search: a GIN index over the weighted document (`backends/catalog/search.py`).
        op.create_index(
            "ix_catalog_products_fts",
            "catalog_products",
            [
                sa.literal_column(
                    "((setweight(to_tsvector('simple'::regconfig, title), 'A') || "
                    "setweight(to_tsvector('simple'::regconfig, brand), 'B')) || "
                    "setweight(to_tsvector('simple'::regconfig, description), 'C'))"
                )
            ],
            unique=False,
            postgresql_using="gin",
        )
        op.create_index("ix_catalog_attr_name_value", "catalog_product_attributes", ["name", "value"], unique=False)
        op.create_index(
            "ix_catalog_inventory_sku_region_quantity", "catalog_inventory", ["sku", "region", "quantity"], unique=False
        )
    else:
        # SQLite: an FTS5 table over the products, kept in step by triggers.
        for statement in _SQLITE_FTS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS catalog_products_fts")  # its triggers go with catalog_products
    op.drop_table("catalog_inventory")
    op.drop_table("catalog_variants")
    op.drop_table("catalog_product_attributes")
    op.drop_table("catalog_price_index")
    op.drop_table("catalog_products")
    op.drop_table("catalog_outbox")
    op.drop_table("catalog_feed_cursors")
    op.drop_table("catalog_categories")

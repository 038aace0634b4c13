"""The migration runner: a failed upgrade leaves the schema and data as they were, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, inspect, text

from backends.common import Database
from backends.common.migrations import Schema, current, upgrade

_ENV = """from alembic import context

from backends.common.migrations import run_env

run_env(context.config.attributes["schema"])
"""
_REVISION = """from alembic import op
import sqlalchemy as sa

revision = "{revision}"
down_revision = {down!r}


def upgrade() -> None:
{body}
"""


def _schema(folder: Path) -> Schema:
    """A scratch service: 0001 makes an item and a child row that cascades from it; 0002 rebuilds the items table
    (SQLite's batch copy); 0003 rebuilds it again, makes another table, then fails."""
    (folder / "versions").mkdir(parents=True)
    (folder / "env.py").write_text(_ENV)
    # A table copy on SQLite (as a change SQLite cannot ALTER makes); PostgreSQL alters the table in place.
    copy = '"always" if op.get_bind().dialect.name == "sqlite" else "auto"'
    rebuild = f'with op.batch_alter_table("scratch_items", recreate={copy}) as batch:'
    steps = {
        "0001": (None, ['op.create_table("scratch_items", sa.Column("id", sa.Integer, primary_key=True))',
                        'op.create_table("scratch_children", sa.Column("id", sa.Integer, primary_key=True),'
                        ' sa.Column("item_id", sa.Integer, sa.ForeignKey("scratch_items.id", ondelete="CASCADE")))',
                        'op.execute("INSERT INTO scratch_items (id) VALUES (7)")',
                        'op.execute("INSERT INTO scratch_children (id, item_id) VALUES (1, 7)")']),
        "0002": ("0001", [rebuild, '    batch.add_column(sa.Column("name", sa.String(20)))']),
        "0003": ("0002", [rebuild, '    batch.add_column(sa.Column("note", sa.String(20)))',
                          'op.create_table("scratch_more", sa.Column("id", sa.Integer, primary_key=True))',
                          'op.execute("INSERT INTO scratch_items (id) VALUES (7)")  # a duplicate key: fails']),
    }  # fmt: skip
    for revision, (down, body) in steps.items():
        lines = "\n".join(f"    {line}" for line in body)
        (folder / "versions" / f"{revision}.py").write_text(_REVISION.format(revision=revision, down=down, body=lines))
    return Schema(name="scratch", metadata=MetaData(), directory=folder, prefixes=("scratch_",))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"
    return request.getfixturevalue("postgres_url")


async def _look(url: str, sql: str) -> list[Any]:
    db = Database.connect(url)  # the services' own connection: foreign keys on
    try:
        async with db.engine.connect() as conn:
            return list((await conn.execute(text(sql))).all())
    finally:
        await db.dispose()


async def _columns(url: str, table: str) -> list[str]:
    db = Database.connect(url)
    try:
        async with db.engine.connect() as conn:
            return await conn.run_sync(lambda c: [col["name"] for col in inspect(c).get_columns(table)])
    finally:
        await db.dispose()


async def test_rebuilding_a_table_keeps_the_rows_that_cascade_from_it(tmp_path: Path, url: str) -> None:
    schema = _schema(tmp_path / "migrations")
    assert (await upgrade(schema, url, "0002")).after == "0002"
    assert await _columns(url, "scratch_items") == ["id", "name"]
    # With foreign keys on, SQLite's DROP of the old copy would have deleted the child through its cascade.
    assert await _look(url, "SELECT id, item_id FROM scratch_children") == [(1, 7)]


async def test_a_failed_upgrade_is_rolled_back_whole(tmp_path: Path, url: str) -> None:
    schema = _schema(tmp_path / "migrations")
    await upgrade(schema, url, "0002")

    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        await upgrade(schema, url)

    assert await current(schema, url) == "0002"
    assert not await _look(url, "SELECT 1 FROM scratch_items WHERE id = 8")  # (nothing new either)
    assert await _columns(url, "scratch_items") == ["id", "name"]  # the rebuild with `note` undone
    assert "scratch_more" not in {name for (name,) in await _look(url, _TABLES[url.split(":")[0].split("+")[0]])}
    assert await _look(url, "SELECT id FROM scratch_items") == [(7,)]
    assert await _look(url, "SELECT id, item_id FROM scratch_children") == [(1, 7)]


_TABLES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table'",
    "postgresql": "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
}

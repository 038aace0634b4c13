"""The migration runner: a failed upgrade leaves the schema and data as they were, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, text

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
    """A scratch service: 0001 makes a table with a row; 0002 changes it, makes another table, then fails."""
    (folder / "versions").mkdir(parents=True)
    (folder / "env.py").write_text(_ENV)
    steps = {
        "0001": (None, ['op.create_table("scratch_items", sa.Column("id", sa.Integer, primary_key=True))',
                        'op.execute("INSERT INTO scratch_items (id) VALUES (7)")']),
        "0002": ("0001", ['with op.batch_alter_table("scratch_items") as batch:',
                          '    batch.add_column(sa.Column("name", sa.String(20)))',
                          'op.create_table("scratch_more", sa.Column("id", sa.Integer, primary_key=True))',
                          'op.execute("INSERT INTO scratch_items (id) VALUES (7)")  # a duplicate key: fails']),
    }  # fmt: skip
    for revision, (down, body) in steps.items():
        lines = "\n".join(f"    {line}" for line in body)
        (folder / "versions" / f"{revision}.py").write_text(_REVISION.format(revision=revision, down=down, body=lines))
    metadata = MetaData()
    Table("scratch_items", metadata, Column("id", Integer, primary_key=True), Column("name", String(20)))
    Table("scratch_more", metadata, Column("id", Integer, primary_key=True))
    return Schema(name="scratch", metadata=metadata, directory=folder, prefixes=("scratch_",))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"
    return request.getfixturevalue("postgres_url")


async def test_a_failed_upgrade_is_rolled_back_whole(tmp_path: Path, url: str) -> None:
    schema = _schema(tmp_path / "migrations")
    assert (await upgrade(schema, url, "0001")).after == "0001"

    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        await upgrade(schema, url)

    assert await current(schema, url) == "0001"
    db = Database.connect(url)
    try:
        async with db.engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(c.dialect.get_table_names(c)))
            assert "scratch_more" not in tables  # made by the failed revision, undone with it
            columns = await conn.run_sync(lambda c: [col["name"] for col in c.dialect.get_columns(c, "scratch_items")])
            assert columns == ["id"]  # SQLite's batch copy of the table, undone too
            assert (await conn.execute(text("SELECT id FROM scratch_items"))).scalars().all() == [7]
    finally:
        await db.dispose()

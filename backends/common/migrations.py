"""Schema migrations with Alembic: each service's script directory and version table, on SQLite and PostgreSQL.

Each service names its `Schema` (its metadata, the folder holding `env.py` and `versions/`, the prefixes of its
table names) and its `env.py` calls `run_env`. Migrations run on their own short-lived connection, in one
transaction: PostgreSQL's DDL is transactional, and SQLite's is too once the transaction is begun explicitly
(pysqlite begins one only before DML), so an upgrade that fails half-way leaves the schema as it was. SQLite
runs them with foreign keys off (batch mode copies tables, and dropping a table with foreign keys on deletes its
rows, cascading) and checks the keys before committing. Concurrent upgrades (several workers starting at once)
take turns: a PostgreSQL advisory lock, SQLite's write lock (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Index, MetaData, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

BASELINE = "0001"  # the schema `create_all` made before migrations: what an unversioned database is stamped with
_LOCK_KEY = 7_301_401  # pg_advisory_xact_lock key: one upgrade at a time per PostgreSQL database
_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Schema:
    """A service's tables and where their migrations live."""

    name: str
    metadata: MetaData
    directory: Path  # holds env.py and versions/
    prefixes: tuple[str, ...]  # its tables' names start with one of these (a shared database holds several services)
    unmanaged: tuple[str, ...] = ()  # tables its migrations make with raw DDL (SQLite's FTS5 table and its shadows)

    @property
    def version_table(self) -> str:
        # Per service: with STOREFRONT_DATABASE_URL every backend shares one database.
        return f"alembic_version_{self.name}"

    def owns(self, table: str) -> bool:
        return table.startswith(self.prefixes) and not table.startswith(self.unmanaged)


@dataclass(frozen=True, slots=True)
class Upgrade:
    """What an upgrade did: the revision before (None: empty or unversioned), whether an unversioned database
    made by `create_all` was stamped with the baseline first, and the revision after."""

    service: str
    before: str | None
    stamped: bool
    after: str | None

    def describe(self) -> str:
        if self.stamped:
            return f"{self.service}: unversioned (made by create_all), stamped {BASELINE}, upgraded to {self.after}"
        if self.before == self.after:
            return f"{self.service}: at {self.after}, nothing to do"
        return f"{self.service}: {self.before or 'empty'} -> {self.after}"


def run_env(schema: Schema) -> None:
    """The body of a service's `env.py`: run the migrations on the connection `upgrade` and friends hand over."""
    from alembic import context

    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations with `storefront db upgrade`, which hands env.py its connection")
    context.configure(connection=connection, **_context_options(schema, connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


def _context_options(schema: Schema, dialect: str) -> dict[str, Any]:
    def include_name(name: str | None, type_: str, _parents: dict[str, str | None]) -> bool:
        return type_ != "table" or (name is not None and schema.owns(name))

    def include_object(obj: Any, _name: str | None, type_: str, reflected: bool, _other: Any) -> bool:
        # An index made only on some dialects (`Index.ddl_if`) is no difference where it is not made.
        return reflected or type_ != "index" or _made_on(obj, dialect)

    return {
        "target_metadata": schema.metadata,
        "version_table": schema.version_table,
        "render_as_batch": dialect == "sqlite",  # SQLite alters most things by copying the table
        "transactional_ddl": True,
        "include_name": include_name,
        "include_object": include_object,
        "compare_type": True,
    }


def _made_on(index: Index, dialect: str) -> bool:
    condition = getattr(index, "_ddl_if", None)
    if condition is None or condition.dialect is None:
        return True
    dialects = (condition.dialect,) if isinstance(condition.dialect, str) else tuple(condition.dialect)
    return dialect in dialects


def _config(schema: Schema, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(schema.directory))
    config.attributes["connection"] = connection
    config.attributes["schema"] = schema  # for an env.py that serves more than one schema (the tests' own)
    return config


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite opens transactions only before DML, so DDL would autocommit; we issue BEGIN ourselves instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")  # another process's upgrade holds the write lock: wait for it
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock first: concurrent upgrades queue, then see the result


def _engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, poolclass=NullPool)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


async def _in_transaction(url: str, work: Callable[..., Any], *args: Any) -> Any:
    engine = _engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_transaction, work, *args)
    finally:
        await engine.dispose()


def _transaction(connection: Connection, work: Callable[..., Any], *args: Any) -> Any:
    with connection.begin():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        return work(connection, *args)


def _current(connection: Connection, schema: Schema) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": schema.version_table})
    return context.get_current_revision()


def _unversioned(connection: Connection, schema: Schema) -> bool:
    """Tables of the service but no version table: a database made by `create_all` before migrations."""
    names = inspect(connection).get_table_names()
    return schema.version_table not in names and any(schema.owns(name) for name in names)


def _upgrade(connection: Connection, schema: Schema, revision: str) -> Upgrade:
    config = _config(schema, connection)
    before = _current(connection, schema)
    stamped = before is None and _unversioned(connection, schema)
    if stamped:
        command.stamp(config, BASELINE)
    command.upgrade(config, revision)
    if connection.dialect.name == "sqlite":
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"{schema.name}: the upgrade broke foreign keys (rolled back): {broken[:5]}")
    result = Upgrade(schema.name, before, stamped, _current(connection, schema))
    if result.before != result.after:
        _log.info(result.describe())
    return result


async def upgrade(schema: Schema, url: str, revision: str = "head") -> Upgrade:
    """Bring the service's database to `revision`; an unversioned one made by `create_all` is stamped with the
    baseline first. Safe to run from several processes at once."""
    return await _in_transaction(url, _upgrade, schema, revision)


def _drop(connection: Connection, schema: Schema) -> None:
    schema.metadata.drop_all(connection)
    connection.execute(text(f'DROP TABLE IF EXISTS "{schema.version_table}"'))


async def reset(schema: Schema, url: str) -> Upgrade:
    """Drop the service's tables (its data with them) and build them again at head."""
    await _in_transaction(url, _drop, schema)
    return await upgrade(schema, url)


async def current(schema: Schema, url: str) -> str | None:
    """The database's revision; None when empty or unversioned."""
    return await _in_transaction(url, _current, schema)


async def unversioned(schema: Schema, url: str) -> bool:
    """Whether the database holds the service's tables without a version: made by `create_all` before migrations."""
    return await _in_transaction(url, _unversioned, schema)


def _drift(connection: Connection, schema: Schema) -> list[Any]:
    context = MigrationContext.configure(connection, opts=_context_options(schema, connection.dialect.name))
    with warnings.catch_warnings():
        # SQLite cannot reflect expression indexes; the only one is PostgreSQL's full-text index, never made there.
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
        return compare_metadata(context, schema.metadata)


async def drift(schema: Schema, url: str) -> list[Any]:
    """What Alembic's autogenerate finds between the models and the database: empty when they agree."""
    return await _in_transaction(url, _drift, schema)


def heads(schema: Schema) -> tuple[str, ...]:
    return tuple(ScriptDirectory.from_config(_config(schema)).get_heads())


def history(schema: Schema) -> list[tuple[str, str | None, str]]:
    """(revision, down revision, message) from the baseline up."""
    scripts = ScriptDirectory.from_config(_config(schema)).walk_revisions()
    return [(s.revision, s.down_revision, s.doc) for s in reversed(list(scripts))]  # type: ignore[misc]

"""Shared fixtures: settings on a temporary data dir, real SQLite and PostgreSQL databases, seeded apps."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from edge_config.ports import free_port
from stack.settings import Settings

PG_ADMIN_DSN = os.environ.get("STOREFRONT_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI") == "true"


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The machine's PostgreSQL; a missing server fails under CI and skips elsewhere."""
    try:
        asyncio.run(_pg_admin("SELECT 1"))
    except Exception as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true and is not reachable at {PG_ADMIN_DSN}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_DSN}: {exc}")
    return PG_ADMIN_DSN


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh database for one test, dropped afterwards."""
    name = f"storefront_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    base = postgres_server.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every storage test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return ""  # settings fall back to one SQLite file per service under the data dir
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    env = {"STOREFRONT_DATA_DIR": str(tmp_path / "var"), "STOREFRONT_ADMIN_TOKEN": "test-admin"}
    env |= {"STOREFRONT_EDITOR_TOKEN": "test-editor", "STOREFRONT_PREVIEW_TOKEN": "test-preview"}
    if database_url:
        env["STOREFRONT_DATABASE_URL"] = database_url
    return Settings.from_env(env)


@pytest.fixture
async def seeded(settings: Settings) -> AsyncIterator[Settings]:
    from backends.seed import seed_all

    await seed_all(settings, products=60, seed=7, images=3)
    yield settings


ADMIN = {"Authorization": "Bearer test-admin"}
EDITOR = {"Authorization": "Bearer test-editor"}
PREVIEW = {"Authorization": "Bearer test-preview"}


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """One real Redis for the whole run, on a free loopback port; use `redis_url`, which empties it first."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is required under CI=true (apt-get install redis-server)")
        pytest.skip("redis-server is not installed")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="redis-")
    process = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def redis_url(redis_server: str) -> str:
    """The run's Redis, emptied for each test module: a module never inherits another's cursors or streams
    (the invalidator's default key prefix is the same in every test that runs one)."""
    client = redis.Redis.from_url(redis_server)
    try:
        client.flushdb()
    finally:
        client.close()
    return redis_server

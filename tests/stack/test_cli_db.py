"""`storefront db upgrade|current|history`: every service reaches head, and a create_all database is adopted."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from sqlalchemy import text

from backends.common import Database
from backends.common.migrations import BASELINE, heads
from stack import cli
from stack.migrations import SCHEMAS
from stack.settings import Settings


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, settings: Settings, database_url: str) -> Settings:
    """The CLI reads the same databases as `settings` (SQLite files, or the throwaway PostgreSQL database)."""
    for name in list(os.environ):
        if name.startswith("STOREFRONT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("STOREFRONT_DATA_DIR", str(settings.data_dir))
    if database_url:
        monkeypatch.setenv("STOREFRONT_DATABASE_URL", database_url)
    return settings


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    assert cli.main(["db", *argv]) == 0, capsys.readouterr().err
    return capsys.readouterr().out.splitlines()


def test_upgrade_then_current_prints_head_for_every_service(env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert tuple(SCHEMAS) == cli._MIGRATED  # the CLI's --service choices are the services with a schema
    head = {name: heads(schema)[0] for name, schema in SCHEMAS.items()}
    assert _run(capsys, "current") == [f"{name}: empty; head is {head[name]}" for name in SCHEMAS]

    assert _run(capsys, "upgrade", "--service", "cms", "--revision", BASELINE) == [f"cms: empty -> {BASELINE}"]
    assert _run(capsys, "current", "--service", "cms") == [f"cms: {BASELINE} (head is {head['cms']})"]
    assert _run(capsys, "upgrade") == [
        f"{name}: {BASELINE if name == 'cms' else 'empty'} -> {head[name]}" for name in SCHEMAS
    ]
    assert _run(capsys, "current") == [f"{name}: {head[name]} (head)" for name in SCHEMAS]
    assert _run(capsys, "upgrade", "--service", "checkout") == [f"checkout: at {head['checkout']}, nothing to do"]

    history = _run(capsys, "history", "--service", "invalidator")
    assert history[0] == "invalidator:" and history[1].startswith(f"  base -> {BASELINE}  Baseline")
    assert history[2].startswith(f"  {BASELINE} -> 0002  ")
    assert history[3].startswith("  0002 -> 0003  Purge causes")
    assert history[-1].startswith(f"  0003 -> {head['invalidator']}  A purge request's `traceparent`")


def test_a_database_made_by_create_all_is_stamped_and_upgraded(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    # The baseline revision is the DDL create_all ran; without its version table that is the old release's database.
    _run(capsys, "upgrade", "--revision", BASELINE)

    async def drop_versions() -> None:
        for name, schema in SCHEMAS.items():
            db = Database.connect(getattr(env, name).database_url)
            try:
                async with db.engine.begin() as conn:
                    await conn.execute(text(f"DROP TABLE {schema.version_table}"))
            finally:
                await db.dispose()

    asyncio.run(drop_versions())
    assert all("unversioned (made by create_all" in line for line in _run(capsys, "current"))

    head = {name: heads(schema)[0] for name, schema in SCHEMAS.items()}
    assert _run(capsys, "upgrade") == [
        f"{name}: unversioned (made by create_all), stamped {BASELINE}, upgraded to {head[name]}" for name in SCHEMAS
    ]
    assert _run(capsys, "current") == [f"{name}: {head[name]} (head)" for name in SCHEMAS]


def test_an_unknown_revision_or_an_unreachable_database_fails_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STOREFRONT_DATA_DIR", str(tmp_path))
    assert cli.main(["db", "upgrade", "--revision", "nope"]) == 1
    assert "db upgrade failed" in capsys.readouterr().err
    monkeypatch.setenv("STOREFRONT_DATABASE_URL", "postgresql+asyncpg://nobody@127.0.0.1:1/none")
    assert cli.main(["db", "upgrade", "--service", "cms"]) == 1
    assert "db upgrade failed" in capsys.readouterr().err

"""Settings come from STOREFRONT_* variables, with loopback defaults and clear errors."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from backends.common.settings import DATABASE_REPLICA_URL, DATABASE_URL, ENV, UNSET, WORKERS, Var, declared_vars
from stack.settings import Settings
from storefront.settings import ENCODING_VARS

README = Path(__file__).resolve().parents[2] / "README.md"
# Read outside the settings dataclasses: by the locust scenario, and the CloudFront edge module (its row
# abbreviates `..._SECRET_ACCESS_KEY`, `..._SESSION_TOKEN`, `..._API` after the prefix).
READ_ELSEWHERE = {"LOADTEST_*", "CLOUDFRONT_ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "SESSION_TOKEN", "API"}


def test_defaults_are_loopback_sqlite_per_service(tmp_path: Path) -> None:
    settings = Settings.from_env({"STOREFRONT_DATA_DIR": str(tmp_path)})
    assert (settings.catalog.host, settings.catalog.port) == ("127.0.0.1", 8101)
    assert (settings.pricing.port, settings.cms.port, settings.origin.port) == (8102, 8103, 8000)
    assert settings.catalog.database_url.endswith(f"{tmp_path}/catalog.db")
    assert settings.cms.database_url != settings.catalog.database_url
    assert settings.regions.codes == ("us", "eu", "apac")


def test_overrides(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "STOREFRONT_DATA_DIR": str(tmp_path),
            "STOREFRONT_DATABASE_URL": "postgresql+asyncpg://db/shop",
            "STOREFRONT_CMS_DATABASE_URL": "postgresql+asyncpg://db/cms",
            "STOREFRONT_CATALOG_URL": "http://127.0.0.1:9999",
            "STOREFRONT_LOW_STOCK_THRESHOLD": "3",
        }
    )
    assert settings.catalog.database_url == "postgresql+asyncpg://db/shop"
    assert settings.cms.database_url == "postgresql+asyncpg://db/cms"
    assert settings.catalog.port == 9999 and settings.origin.catalog_url == "http://127.0.0.1:9999"
    assert settings.catalog.low_stock_threshold == 3


def test_bad_numbers_name_the_variable() -> None:
    with pytest.raises(ValueError, match="STOREFRONT_LOW_STOCK_THRESHOLD"):
        Settings.from_env({"STOREFRONT_LOW_STOCK_THRESHOLD": "many"})


def test_production_refuses_development_and_missing_secrets_and_names_them() -> None:
    strong = {f"STOREFRONT_{name}": "x" * 24 for name in ("ADMIN_TOKEN", "EDITOR_TOKEN", "PREVIEW_TOKEN", "SECRET_KEY")}
    with pytest.raises(ValueError, match="STOREFRONT_WEBHOOK_SECRET") as refused:
        Settings.from_env({"STOREFRONT_ENV": "production", **strong})  # the webhook secret left unset
    assert "STOREFRONT_ADMIN_TOKEN" not in str(refused.value)
    with pytest.raises(ValueError, match="STOREFRONT_ADMIN_TOKEN"):
        Settings.from_env(
            {
                "STOREFRONT_ENV": "production",
                **strong,
                "STOREFRONT_WEBHOOK_SECRET": "y" * 24,
                "STOREFRONT_ADMIN_TOKEN": "dev-admin-token-but-longer",
            }
        )
    settings = Settings.from_env({"STOREFRONT_ENV": "production", **strong, "STOREFRONT_WEBHOOK_SECRET": "y" * 24})
    assert settings.origin.admin_token == "x" * 24
    assert Settings.from_env({}).origin.admin_token.startswith("dev-")  # development keeps its defaults


def test_a_service_refuses_to_start_in_production_with_development_secrets() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOREFRONT_")} | {"STOREFRONT_ENV": "production"}
    started = subprocess.run(
        [sys.executable, "-m", "storefront", "serve", "catalog"], env=env, capture_output=True, text=True, timeout=60
    )
    assert started.returncode == 2
    assert "STOREFRONT_ADMIN_TOKEN" in started.stderr and "STOREFRONT_WEBHOOK_SECRET" in started.stderr


def _declared() -> dict[str, Var]:
    kinds = [Settings, *(kind for kind in typing.get_type_hints(Settings).values() if dataclasses.is_dataclass(kind))]
    found = {var.name: var for kind in kinds for var in declared_vars(kind)}
    return found | {
        var.name: var for var in (*ENCODING_VARS.values(), DATABASE_URL, DATABASE_REPLICA_URL, ENV, WORKERS)
    }


def _readme_rows() -> list[tuple[list[str], list[str]]]:
    """The configuration table: each row's variable names (`..._X` expanded) and its default cell's values."""
    table = README.read_text(encoding="utf-8").split("| variable | default | meaning |", 1)[1].split("\n\n", 1)[0]
    rows = []
    for line in table.splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        names = re.findall(r"`([^`]+)`", cells[0])
        first = names[0].removeprefix("STOREFRONT_")
        expanded = [first]
        for short in names[1:]:
            if short.endswith("_..."):  # `..._PRICING_...` after `STOREFRONT_CATALOG_DATABASE_URL`
                expanded.append(short[4:-4] + "_" + first.split("_", 1)[1])
            else:
                expanded.append(short.removeprefix("..._"))
        rows.append((expanded, re.findall(r"`([^`]+)`", cells[1])))
    return rows


def test_the_readme_table_lists_every_variable_with_its_default() -> None:
    declared = _declared()
    rows = _readme_rows()
    documented = {name for names, _ in rows for name in names}
    assert set(declared) - documented == set()
    assert documented - set(declared) == READ_ELSEWHERE
    for names, defaults in rows:
        if len(defaults) != len(names):
            continue  # a default in words ("the origin's URL", "first region")
        for name, written in zip(names, defaults, strict=True):
            var = declared.get(name)
            if var is None or var.parse is not None or var.default is UNSET:
                continue
            if isinstance(var.default, int | float):
                assert float(written) == var.default, name
            else:
                assert written == var.default, name

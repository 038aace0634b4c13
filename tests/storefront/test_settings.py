"""Settings come from STOREFRONT_* variables, with loopback defaults and clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from storefront.settings import Settings


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

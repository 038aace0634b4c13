"""Settings come from STOREFRONT_* variables, with loopback defaults and clear errors."""

from __future__ import annotations

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

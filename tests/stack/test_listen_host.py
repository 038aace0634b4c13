"""`STOREFRONT_LISTEN_HOST`: where `serve` binds, apart from the URL the other services reach it at."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from stack import processes
from stack.settings import Settings

CONTAINER = {
    "STOREFRONT_CATALOG_URL": "http://catalog:8101",
    "STOREFRONT_ORIGIN_URL": "http://origin:8000",
    "STOREFRONT_PAGE_CACHE": "off",
}


def test_by_default_a_service_binds_the_host_of_its_own_url() -> None:
    settings = Settings.from_env({})
    assert settings.listen_host == ""
    assert processes.listen_host(settings, "catalog") == "127.0.0.1"
    assert processes.listen_host(Settings.from_env(CONTAINER), "catalog") == "catalog"


def test_listen_host_changes_the_bind_address_not_the_url() -> None:
    settings = Settings.from_env(CONTAINER | {"STOREFRONT_LISTEN_HOST": "0.0.0.0"})
    assert processes.listen_host(settings, "catalog") == "0.0.0.0"
    assert settings.catalog.url == "http://catalog:8101" and settings.origin.catalog_url == "http://catalog:8101"


def test_serve_binds_the_listen_host_with_one_worker_or_several(monkeypatch: pytest.MonkeyPatch) -> None:
    bound: list[tuple[str, Any, int]] = []
    monkeypatch.setattr("uvicorn.run", lambda app, host, port, **_kw: bound.append(("uvicorn", host, port)))
    monkeypatch.setattr(processes, "_logged_app", lambda *args: None)

    class FakeGranian:
        def __init__(self, target: str, *, address: str, port: int, **_kw: Any) -> None:
            bound.append(("granian", address, port))

        def serve(self, **_kw: Any) -> None:
            pass

    monkeypatch.setitem(sys.modules, "granian.server", types.SimpleNamespace(Server=FakeGranian))
    monkeypatch.setattr(processes, "_configure_logging", lambda *args: None)
    env = CONTAINER | {"STOREFRONT_LISTEN_HOST": "0.0.0.0"}
    processes.serve(Settings.from_env(env), "catalog")
    processes.serve(Settings.from_env(env | {"STOREFRONT_WORKERS": "2"}), "origin")
    assert bound == [("uvicorn", "0.0.0.0", 8101), ("granian", "0.0.0.0", 8000)]

"""Typed reads from the catalog and pricing services over the app's one shared httpx client."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx
from cachetools import TTLCache

from cache import keys as k
from storefront.loader import PageLoad, UpstreamError
from storefront.settings import OriginSettings
from storefront.upstream_client import UpstreamClient


class Upstreams:
    def __init__(self, catalog: UpstreamClient, pricing: UpstreamClient, settings: OriginSettings) -> None:
        self._clients = {"catalog": catalog, "pricing": pricing}
        self._settings = settings
        # Off by default (TTL 0): the edge is the cache. Benchmarks turn it on to isolate rendering.
        self._cache: TTLCache[str, Any] | None = (
            TTLCache(maxsize=10_000, ttl=settings.upstream_cache_ttl) if settings.upstream_cache_ttl > 0 else None
        )

    async def _get(self, upstream: str, url: str, params: Mapping[str, Any]) -> Any:
        cache_key = f"{url}?{sorted(params.items())}"
        if self._cache is not None and cache_key in self._cache:
            return self._cache[cache_key]
        try:
            response = await self._clients[upstream].get(url, params=params)
        except httpx.HTTPError as exc:
            raise UpstreamError(upstream, type(exc).__name__) from exc
        if response.status_code == 404:
            raise UpstreamError(upstream, "not found", not_found=True)
        if response.status_code != 200:
            refused = 400 <= response.status_code < 500
            raise UpstreamError(upstream, f"HTTP {response.status_code}", refused=refused)
        data = response.json()
        if self._cache is not None:
            self._cache[cache_key] = data
        return data

    async def categories(self, load: PageLoad) -> list[dict[str, Any]]:
        data = await load.read(
            "catalog-categories",
            self._settings.catalog_timeout,
            lambda: self._get("catalog", f"{self._settings.catalog_url}/categories", {}),
        )
        return data["categories"]

    async def product(self, load: PageLoad, region: str, slug: str) -> dict[str, Any]:
        product = await load.read(
            "catalog-product",
            self._settings.catalog_timeout,
            lambda: self._get("catalog", f"{self._settings.catalog_url}/products/{slug}", {"region": region}),
        )
        load.keys.add(k.product(product["id"]), k.category(product["category"]))
        return product

    async def related(self, load: PageLoad, region: str, slug: str, limit: int) -> list[dict[str, Any]]:
        data = await load.read(
            "catalog-related",
            self._settings.catalog_timeout,
            lambda: self._get(
                "catalog", f"{self._settings.catalog_url}/products/{slug}/related", {"region": region, "limit": limit}
            ),
        )
        load.keys.add(*(k.product(item["id"]) for item in data["items"]))
        return data["items"]

    async def products(self, load: PageLoad, name: str, params: Mapping[str, Any]) -> dict[str, Any]:
        listing = await load.read(
            name,
            self._settings.catalog_timeout,
            lambda: self._get("catalog", f"{self._settings.catalog_url}/products", params),
        )
        load.keys.add(*(k.product(item["id"]) for item in listing["items"]))
        return listing

    async def prices(self, load: PageLoad, name: str, region: str, skus: Iterable[str]) -> dict[str, Any]:
        wanted = list(dict.fromkeys(skus))
        if not wanted:
            return {"prices": {}, "currency": None}
        quote = await load.read(
            name,
            self._settings.pricing_timeout,
            lambda: self._get(
                "pricing", f"{self._settings.pricing_url}/prices", {"region": region, "skus": ",".join(wanted)}
            ),
        )
        load.keys.add(*(k.price(sku) for sku in wanted))
        load.changes_at(quote.get("next_change_at"))
        return {**quote, "prices": {line["sku"]: line for line in quote["prices"]}}

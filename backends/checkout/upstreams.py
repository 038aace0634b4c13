"""Checkout's reads from the catalog (what a SKU is, what it weighs) and pricing (what it costs now)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx


class UpstreamUnavailable(Exception):
    """Catalog or pricing did not answer; checkout must not guess a price."""


class Upstreams:
    def __init__(self, client: httpx.AsyncClient, *, catalog_url: str, pricing_url: str) -> None:
        self._client = client
        self._catalog = catalog_url
        self._pricing = pricing_url

    async def _call(self, name: str, request: httpx.Request) -> Any:
        try:
            response = await self._client.send(request)
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(f"{name}: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise UpstreamUnavailable(f"{name}: HTTP {response.status_code}")
        return response.json()

    async def variants(self, skus: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not skus:
            return {}
        request = self._client.build_request("GET", f"{self._catalog}/variants", params={"skus": ",".join(skus)})
        data = await self._call("catalog", request)
        return {item["sku"]: item for item in data["items"]}

    async def order_prices(
        self, region: str, lines: Sequence[tuple[str, int]], codes: Sequence[str] = ()
    ) -> dict[str, Any]:
        body = {"region": region, "lines": [{"sku": s, "quantity": q} for s, q in lines], "codes": list(codes)}
        request = self._client.build_request("POST", f"{self._pricing}/prices/order", json=body)
        return await self._call("pricing", request)

    async def describe(
        self, region: str, lines: Sequence[tuple[str, int]], codes: Sequence[str] = ()
    ) -> tuple[dict[str, dict[str, Any]], dict[str, Any] | None]:
        """Variants and prices for a cart's lines, fetched in parallel."""
        if not lines:
            return {}, None
        variants, prices = await asyncio.gather(
            self.variants([sku for sku, _ in lines]), self.order_prices(region, lines, codes)
        )
        return variants, prices

"""Purge adapters, one per kind of edge: Varnish (xkey), the origin page cache, Fastly, Cloudflare.

Each takes the keys (and URLs) of one region's purge and answers how many objects it removed, or raises
EdgeError to have the delivery retried with backoff.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from cache.keys import qualified

FASTLY_BATCH = 256
CLOUDFLARE_BATCH = 100


class EdgeError(Exception):
    pass


class EdgeAdapter(Protocol):
    name: str

    async def purge(self, region: str, keys: Sequence[str], urls: Sequence[str], *, soft: bool) -> int: ...


def _check(response: httpx.Response, edge: str) -> None:
    if response.status_code >= 300:
        raise EdgeError(f"{edge}: HTTP {response.status_code} {response.text[:120]}")


@dataclass
class VarnishAdapter:
    """A region's own Varnish: plain keys through `xkey.purge`/`xkey.softpurge`, URLs through PURGE."""

    url: str
    client: httpx.AsyncClient

    @property
    def name(self) -> str:
        return f"varnish {self.url}"

    async def purge(self, region: str, keys: Sequence[str], urls: Sequence[str], *, soft: bool) -> int:
        removed = 0
        try:
            if keys:
                headers = {"xkey-purge": " ".join(keys), "xkey-soft": "1" if soft else "0"}
                response = await self.client.request("PURGE", f"{self.url}/", headers=headers)
                _check(response, self.name)
                removed += int(response.headers.get("x-purged", "0") or 0)
            for path in urls:
                response = await self.client.request("PURGE", f"{self.url}{path}")
                _check(response, self.name)
                removed += 1
        except httpx.HTTPError as exc:
            raise EdgeError(f"{self.name}: {type(exc).__name__}") from exc
        return removed


@dataclass
class OriginCacheAdapter:
    """The origin's own page cache (the embedded default edge)."""

    url: str
    token: str
    client: httpx.AsyncClient

    @property
    def name(self) -> str:
        return f"origin {self.url}"

    async def purge(self, region: str, keys: Sequence[str], urls: Sequence[str], *, soft: bool) -> int:
        try:
            response = await self.client.post(
                f"{self.url}/internal/purge",
                json={"keys": [qualified(k, region) for k in keys], "urls": list(urls), "soft": soft},
                headers={"Authorization": f"Bearer {self.token}"},
            )
        except httpx.HTTPError as exc:
            raise EdgeError(f"{self.name}: {type(exc).__name__}") from exc
        _check(response, self.name)
        return int(response.json().get("purged", 0))


@dataclass
class FastlyAdapter:
    """Fastly purge-by-key: up to 256 keys a request, `Fastly-Soft-Purge: 1` for soft purges."""

    service_id: str
    token: str
    client: httpx.AsyncClient
    api: str = "https://api.fastly.com"

    @property
    def name(self) -> str:
        return f"fastly {self.service_id}"

    async def purge(self, region: str, keys: Sequence[str], urls: Sequence[str], *, soft: bool) -> int:
        tagged = [qualified(k, region) for k in keys]  # one Fastly cache serves every region
        headers = {"Fastly-Key": self.token, "Accept": "application/json"} | (
            {"Fastly-Soft-Purge": "1"} if soft else {}
        )
        try:
            for start in range(0, len(tagged), FASTLY_BATCH):
                batch = tagged[start : start + FASTLY_BATCH]
                response = await self.client.post(
                    f"{self.api}/service/{self.service_id}/purge", json={"surrogate_keys": batch}, headers=headers
                )
                _check(response, self.name)
        except httpx.HTTPError as exc:
            raise EdgeError(f"{self.name}: {type(exc).__name__}") from exc
        return len(tagged)


@dataclass
class CloudflareAdapter:
    """Cloudflare purge-by-tag: up to 100 tags a request, hard purges only, paced by a token bucket."""

    zone_id: str
    token: str
    client: httpx.AsyncClient
    api: str = "https://api.cloudflare.com/client/v4"
    rate_per_second: float = 5.0
    burst: int = 5
    _tokens: float = field(default=0.0, init=False)
    _last: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self._tokens, self._last = float(self.burst), time.monotonic()

    @property
    def name(self) -> str:
        return f"cloudflare {self.zone_id}"

    async def _take(self) -> None:
        while True:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate_per_second)
            self._last = now
            if self._tokens >= 1:
                self._tokens -= 1
                return
            await asyncio.sleep((1 - self._tokens) / self.rate_per_second)

    async def purge(self, region: str, keys: Sequence[str], urls: Sequence[str], *, soft: bool) -> int:
        tagged = [qualified(k, region) for k in keys]
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            for start in range(0, len(tagged), CLOUDFLARE_BATCH):
                await self._take()
                response = await self.client.post(
                    f"{self.api}/zones/{self.zone_id}/purge_cache",
                    json={"tags": tagged[start : start + CLOUDFLARE_BATCH]},
                    headers=headers,
                )
                if response.status_code == 429:
                    raise EdgeError(f"{self.name}: rate limited")
                _check(response, self.name)
        except httpx.HTTPError as exc:
            raise EdgeError(f"{self.name}: {type(exc).__name__}") from exc
        return len(tagged)

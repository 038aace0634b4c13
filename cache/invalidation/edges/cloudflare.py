"""Cloudflare (`STOREFRONT_CLOUDFLARE_TOKEN`): purge by cache tag, region-scoped, paced by a token bucket."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Self

import httpx

from cache.invalidation.edges.base import EdgeError, EdgeKind, check_response, register
from cache.invalidation.settings import InvalidatorSettings
from cache.invalidation.targets import EdgeId
from cache.keys import ScopedKey

CLOUDFLARE_BATCH = 100


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
        tagged = [str(ScopedKey(k, region)) for k in keys]
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
                check_response(response, self.name)
        except httpx.HTTPError as exc:
            raise EdgeError(f"{self.name}: {type(exc).__name__}") from exc
        return len(tagged)


@register
@dataclass(frozen=True)
class Cloudflare(EdgeKind):
    """`{ kind = "cloudflare", zone_id = "…" }`; on when the invalidator has a Cloudflare token."""

    token: str
    api: str
    kind = "cloudflare"
    ref_field = "zone_id"

    @classmethod
    def configure(cls, settings: InvalidatorSettings, env: Mapping[str, str]) -> Self | None:
        return cls(settings.cloudflare_token, settings.cloudflare_api) if settings.cloudflare_token else None

    def adapter(self, edge: EdgeId, client: httpx.AsyncClient) -> CloudflareAdapter:
        # One adapter per zone (the fan-out builds each edge once): regions sharing a zone share its bucket.
        return CloudflareAdapter(edge.ref, self.token, client, self.api)

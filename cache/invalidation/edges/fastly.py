"""Fastly (`STOREFRONT_FASTLY_TOKEN`): purge by surrogate key, region-scoped, in batches of 256."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Self

import httpx

from cache.invalidation.edges.base import EdgeError, EdgeKind, check_response, register
from cache.invalidation.settings import InvalidatorSettings
from cache.invalidation.targets import EdgeId
from cache.keys import ScopedKey

FASTLY_BATCH = 256


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
        tagged = [str(ScopedKey(k, region)) for k in keys]  # one Fastly cache serves every region
        headers = {"Fastly-Key": self.token, "Accept": "application/json"} | (
            {"Fastly-Soft-Purge": "1"} if soft else {}
        )
        try:
            for start in range(0, len(tagged), FASTLY_BATCH):
                batch = tagged[start : start + FASTLY_BATCH]
                response = await self.client.post(
                    f"{self.api}/service/{self.service_id}/purge", json={"surrogate_keys": batch}, headers=headers
                )
                check_response(response, self.name)
        except httpx.HTTPError as exc:
            raise EdgeError(f"{self.name}: {type(exc).__name__}") from exc
        return len(tagged)


@register
@dataclass(frozen=True)
class Fastly(EdgeKind):
    """`{ kind = "fastly", service_id = "…" }`; on when the invalidator has a Fastly token."""

    token: str
    api: str
    kind = "fastly"
    ref_field = "service_id"

    @classmethod
    def configure(cls, settings: InvalidatorSettings, env: Mapping[str, str]) -> Self | None:
        return cls(settings.fastly_token, settings.fastly_api) if settings.fastly_token else None

    def adapter(self, edge: EdgeId, client: httpx.AsyncClient) -> FastlyAdapter:
        return FastlyAdapter(edge.ref, self.token, client, self.api)

"""The origin's own page cache, the edge when no other is chosen: purged through its `/internal/purge`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Self

import httpx

from cache.invalidation.edges.base import EdgeError, EdgeKind, check_response, register
from cache.invalidation.settings import InvalidatorSettings
from cache.invalidation.targets import EdgeId
from cache.keys import ScopedKey
from edge_config import Edge, Region


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
                json={"keys": [str(ScopedKey(k, region)) for k in keys], "urls": list(urls), "soft": soft},
                headers={"Authorization": f"Bearer {self.token}"},
            )
        except httpx.HTTPError as exc:
            raise EdgeError(f"{self.name}: {type(exc).__name__}") from exc
        check_response(response, self.name)
        return int(response.json().get("purged", 0))


@register
@dataclass(frozen=True)
class Origin(EdgeKind):
    """Not listed in `regions.toml`: every region's purges go to the one origin when Varnish is not chosen."""

    url: str
    token: str
    kind = "origin"
    # The page cache marks a render that straddled a purge stale: no second delivery needed.
    followup = False

    @classmethod
    def configure(cls, settings: InvalidatorSettings, env: Mapping[str, str]) -> Self | None:
        return cls(settings.origin_url, settings.admin_token) if settings.edge != "varnish" else None

    @classmethod
    def check(cls, region: str, edge: Edge) -> None:
        raise ValueError(f"region {region}: the origin page cache is not an edge to list in regions.toml")

    def edge_ids(self, region: Region) -> tuple[EdgeId, ...]:
        return (EdgeId(self.kind),)

    def adapter(self, edge: EdgeId, client: httpx.AsyncClient) -> OriginCacheAdapter:
        return OriginCacheAdapter(self.url, self.token, client)

    def page_url(self, edge: EdgeId) -> str:
        return self.url

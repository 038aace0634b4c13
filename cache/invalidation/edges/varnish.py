"""The regions' own Varnish (`STOREFRONT_EDGE=varnish`): keys through xkey, URLs through PURGE."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Self

import httpx

from cache.invalidation.edges.base import EdgeError, EdgeKind, check_response, register
from cache.invalidation.settings import InvalidatorSettings
from cache.invalidation.targets import EdgeId


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
                check_response(response, self.name)
                removed += int(response.headers.get("x-purged", "0") or 0)
            for path in urls:
                response = await self.client.request("PURGE", f"{self.url}{path}")
                check_response(response, self.name)
                removed += 1
        except httpx.HTTPError as exc:
            raise EdgeError(f"{self.name}: {type(exc).__name__}") from exc
        return removed


@register
class Varnish(EdgeKind):
    """`{ kind = "varnish", url = "http://…" }`; purged only when Varnish is the chosen edge."""

    kind = "varnish"
    ref_field = "url"
    # The generated VCL stores nothing whose fetch started before the last purge: no second delivery needed.
    followup = False

    @classmethod
    def configure(cls, settings: InvalidatorSettings, env: Mapping[str, str]) -> Self | None:
        return cls() if settings.edge == "varnish" else None

    def adapter(self, edge: EdgeId, client: httpx.AsyncClient) -> VarnishAdapter:
        return VarnishAdapter(edge.ref, client)

    def page_url(self, edge: EdgeId) -> str:
        return edge.ref

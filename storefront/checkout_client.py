"""The origin's calls to the checkout service, for the private cart and checkout pages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from storefront.upstream_client import UpstreamClient


@dataclass
class CheckoutProblem(Exception):
    """The checkout service refused (4xx) or could not answer (status 503)."""

    status: int
    title: str
    detail: str = ""
    body: dict[str, Any] = field(default_factory=dict)

    def field_errors(self) -> dict[str, str]:
        return {p["name"].split(".")[-1]: p["reason"] for p in self.body.get("invalid-params", [])}


class CheckoutClient:
    def __init__(self, client: UpstreamClient, base_url: str, *, order_timeout: float) -> None:
        self._client = client
        self._base = base_url
        self._order_timeout = order_timeout

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        budget: float = 5.0,
    ) -> tuple[int, dict[str, Any]]:
        try:
            response = await self._client.request(
                method,
                f"{self._base}{path}",
                json=body,
                headers=headers,
                params=params,
                timeout=budget,
            )
        except httpx.HTTPError as exc:
            raise CheckoutProblem(503, "Checkout unavailable", "Checkout is not answering; please try again.") from exc
        data = response.json() if response.content else {}
        if response.status_code >= 400:
            if response.status_code >= 500 and response.status_code not in (502, 503):
                raise CheckoutProblem(503, "Checkout unavailable", "Checkout had a problem; please try again.")
            raise CheckoutProblem(response.status_code, data.get("title", "Refused"), data.get("detail", ""), data)
        return response.status_code, data

    async def cart(self, cart_id: str) -> dict[str, Any]:
        return (await self.call("GET", f"/carts/{cart_id}"))[1]

    async def new_cart(self, region: str) -> dict[str, Any]:
        return (await self.call("POST", "/carts", {"region": region}))[1]

    async def place_order(self, body: dict[str, Any], key: str) -> tuple[int, dict[str, Any]]:
        return await self.call("POST", "/orders", body, headers={"Idempotency-Key": key}, budget=self._order_timeout)

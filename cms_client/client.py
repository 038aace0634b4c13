"""Reads published CMS content with a short fresh cache, a last-good copy for errors, and single flight."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from cachetools import LRUCache

from cache.single_flight import SingleFlight


class HttpGetter(Protocol):
    """What the client needs of an HTTP client: `httpx.AsyncClient` or the origin's guarded upstream client."""

    async def get(self, url: str, **kwargs: Any) -> httpx.Response: ...


OnStale = Callable[[], None] | None


class CmsUnavailable(Exception):
    """The CMS did not answer and there is no earlier copy to fall back on."""


class CmsNotFound(Exception):
    pass


@dataclass(slots=True)
class _Copy:
    data: dict[str, Any]
    fetched_at: float
    keys: frozenset[str]


class CmsClient:
    """`fresh_ttl` seconds of reuse; past it, refetch, and on failure serve the last good copy.

    Copies are tagged with the entries' `cms:{id}` keys so a purge can drop them at once.
    """

    def __init__(
        self,
        client: HttpGetter,
        base_url: str,
        *,
        fresh_ttl: float = 1.0,
        max_entries: int = 2048,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self._fresh_ttl = fresh_ttl
        self._copies: LRUCache[str, _Copy] = LRUCache(maxsize=max_entries)
        self._fetches: SingleFlight[str, dict[str, Any]] = SingleFlight()
        self._clock = clock
        self.served_stale = 0

    async def entries(
        self, locale: str, *, type: str, placement: str | None = None, on_stale: OnStale = None
    ) -> dict[str, Any]:
        """Published entries of one type; `on_stale` is called when the answer is a last-good copy."""
        params = {"locale": locale, "type": type} | ({"placement": placement} if placement else {})
        return await self._read("/delivery/entries", params, on_stale)

    async def entry(self, locale: str, *, type: str, key: str, on_stale: OnStale = None) -> dict[str, Any]:
        """One entry; raises CmsNotFound when it is not published for that locale."""
        found = await self._read("/delivery/entries", {"locale": locale, "type": type, "key": key}, on_stale)
        if not found["items"]:
            raise CmsNotFound(f"{type}/{key}")
        return {**found["items"][0], "next_change_at": found.get("next_change_at")}

    async def _read(self, path: str, params: dict[str, str], on_stale: OnStale) -> dict[str, Any]:
        cache_key = f"{path}?{sorted(params.items())}"
        copy = self._copies.get(cache_key)
        if copy is not None and self._clock() - copy.fetched_at < self._fresh_ttl:
            return copy.data
        try:
            data, _ = await self._fetches.run(cache_key, lambda: self._fetch(cache_key, path, params))
            return data
        except (httpx.HTTPError, CmsUnavailable):
            if copy is not None:
                self.served_stale += 1
                if on_stale is not None:
                    on_stale()
                return copy.data
            raise CmsUnavailable(path) from None

    async def _fetch(self, cache_key: str, path: str, params: dict[str, str]) -> dict[str, Any]:
        response = await self._client.get(f"{self._base}{path}", params=params)
        if response.status_code != 200:
            raise CmsUnavailable(f"{path}: HTTP {response.status_code}")
        data = response.json()
        keys = frozenset(f"cms:{item['id']}" for item in data.get("items", []))
        self._copies[cache_key] = _Copy(data, self._clock(), keys)
        return data

    def purge(self, keys: Iterable[str]) -> int:
        """Forget fresh copies tagged with any of `keys` (the last-good copy stays for errors)."""
        wanted = set(keys)
        count = 0
        for copy in list(self._copies.values()):
            if copy.keys & wanted:
                copy.fetched_at = float("-inf")
                count += 1
        return count

"""The origin's page cache: size-bounded LRU, TTL with stale-while-revalidate and stale-if-error,
purge by surrogate key (soft or hard), and request coalescing (one render per page however many wait)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from cachetools import LRUCache

from cache.single_flight import SingleFlight

_log = logging.getLogger(__name__)
Outcome = Literal["HIT", "MISS", "STALE", "STALE-IF-ERROR", "PASS"]
_ENTRY_OVERHEAD = 512


@dataclass
class CachedPage:
    """A rendered response as stored: the identity body plus pre-compressed copies."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: str
    keys: frozenset[str] = frozenset()
    ttl: int = 0
    stale_while_revalidate: int = 0
    stale_if_error: int = 0
    compressible: bool = False
    # Compressed copies, made on first request for each encoding and kept with the page.
    encoded: dict[str, bytes] = field(default_factory=dict)
    stored_at: float = 0.0
    soft_purged: bool = False
    degraded: bool = False  # rendered without some optional data: replaces a good copy only once purged

    @property
    def size(self) -> int:
        # Counted up front for the identity body plus room for its compressed copies (each smaller).
        return len(self.body) * (2 if self.compressible else 1) + _ENTRY_OVERHEAD

    @property
    def cacheable(self) -> bool:
        return self.ttl > 0

    def age(self, now: float) -> float:
        return now - self.stored_at

    def fresh(self, now: float) -> bool:
        return not self.soft_purged and self.age(now) < self.ttl

    def within_grace(self, now: float) -> bool:
        """Whether it may be served while a background render refreshes it: an expired copy may, a purged one
        may not (it shows something that changed, a price: shoppers wait for the render, unless that fails)."""
        return not self.soft_purged and self.age(now) < self.ttl + self.stale_while_revalidate

    def usable_on_error(self, now: float) -> bool:
        return self.age(now) < self.ttl + self.stale_if_error


class _IndexedLRU(LRUCache[str, CachedPage]):
    """An LRU that keeps the surrogate-key index in step when it evicts."""

    def __init__(self, maxsize: int, on_evict: Callable[[str, CachedPage], None]) -> None:
        super().__init__(maxsize=maxsize, getsizeof=lambda page: page.size)
        self._on_evict = on_evict

    def popitem(self) -> tuple[str, CachedPage]:
        key, page = super().popitem()
        self._on_evict(key, page)
        return key, page


class PageCache:
    def __init__(self, max_bytes: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries = _IndexedLRU(max_bytes, self._unindex)
        self._by_key: dict[str, set[str]] = {}
        self._renders: SingleFlight[str, CachedPage] = SingleFlight()
        self._revalidations: set[asyncio.Task[Any]] = set()
        # Recent purges, so a render that started before a purge and finishes after it is stored stale.
        self._purges: deque[tuple[int, frozenset[str]]] = deque(maxlen=4096)
        self._purge_seq = 0
        self._clock = clock
        self.stats: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes_used(self) -> int:
        return int(self._entries.currsize)

    def age(self, page: CachedPage) -> float:
        """Seconds since `page` was stored (0 for a page that never was)."""
        return page.age(self._clock()) if page.stored_at else 0.0

    def _unindex(self, cache_key: str, page: CachedPage) -> None:
        for key in page.keys:
            members = self._by_key.get(key)
            if members is not None:
                members.discard(cache_key)
                if not members:
                    del self._by_key[key]

    def _store(self, cache_key: str, page: CachedPage, started_seq: int) -> None:
        if not page.cacheable or page.size > self._entries.maxsize:
            return
        page.stored_at = self._clock()
        if any(seq > started_seq and keys & page.keys for seq, keys in self._purges):
            page.soft_purged = True  # purged while we rendered: kept only to stand in if the next render fails
        old = self._entries.get(cache_key)
        if old is not None:
            self._unindex(cache_key, old)
        self._entries[cache_key] = page
        for key in page.keys:
            self._by_key.setdefault(key, set()).add(cache_key)

    async def get_or_render(
        self, cache_key: str, render: Callable[[], Awaitable[CachedPage]]
    ) -> tuple[CachedPage, Outcome]:
        now = self._clock()
        entry = self._entries.get(cache_key)
        if entry is not None and entry.fresh(now):
            self.stats["hit"] += 1
            return entry, "HIT"
        if entry is not None and entry.within_grace(now):
            self.stats["stale"] += 1
            self._revalidate_in_background(cache_key, render)
            return entry, "STALE"
        try:
            page = await self._render_once(cache_key, render)
        except Exception:
            if entry is not None and entry.usable_on_error(now):
                self.stats["stale_if_error"] += 1
                return entry, "STALE-IF-ERROR"
            raise
        if self._stands_in(entry, page, now):
            self.stats["stale_if_error"] += 1
            assert entry is not None  # _stands_in checked it
            return entry, "STALE-IF-ERROR"
        return page, "MISS"

    @staticmethod
    def _stands_in(entry: CachedPage | None, page: CachedPage, now: float) -> bool:
        """Whether a complete earlier copy is served instead of this render: for an error, and for a degraded
        render unless a purge marked the copy stale (it shows something that changed, such as a price)."""
        if entry is None or entry.degraded or not entry.usable_on_error(now):
            return False
        return page.status >= 500 or (page.degraded and not entry.soft_purged)

    async def _render_once(self, cache_key: str, render: Callable[[], Awaitable[CachedPage]]) -> CachedPage:
        started_seq = self._purge_seq

        async def render_and_store() -> CachedPage:
            self.stats["miss"] += 1
            self.stats["render"] += 1
            page = await render()
            if page.status < 500 and not self._stands_in(self._entries.get(cache_key), page, self._clock()):
                self._store(cache_key, page, started_seq)
            return page

        page, produced = await self._renders.run(cache_key, render_and_store)
        if not produced:
            self.stats["coalesced"] += 1
        return page

    def _revalidate_in_background(self, cache_key: str, render: Callable[[], Awaitable[CachedPage]]) -> None:
        if cache_key in self._renders:
            return

        async def revalidate() -> None:
            try:
                await self._render_once(cache_key, render)
            except Exception as exc:  # the stale copy stays; the next request tries again
                _log.warning("background revalidation of %s failed: %s", cache_key, type(exc).__name__)
                _log.debug("background revalidation of %s failed", cache_key, exc_info=True)

        task = asyncio.create_task(revalidate())
        self._revalidations.add(task)
        task.add_done_callback(self._revalidations.discard)

    def purge(self, keys: Iterable[str], *, soft: bool = True) -> int:
        """Mark stale (soft) or drop (hard) every page tagged with any of `keys`; returns how many."""
        wanted = frozenset(keys)
        self._purge_seq += 1
        self._purges.append((self._purge_seq, wanted))
        affected = {cache_key for key in wanted for cache_key in self._by_key.get(key, ())}
        for cache_key in affected:
            page = self._entries.get(cache_key)
            if page is None:
                continue
            if soft:
                page.soft_purged = True
            else:
                self._unindex(cache_key, page)
                del self._entries[cache_key]
        self.stats["purged"] += len(affected)
        return len(affected)

    def purge_urls(self, paths: Iterable[str]) -> int:
        """Drop the pages at these paths, with any query string."""
        wanted = {path.split("?")[0] for path in paths}
        doomed = [key for key in list(self._entries.keys()) if key.split("?")[0] in wanted]
        for cache_key in doomed:
            page = self._entries.pop(cache_key)
            self._unindex(cache_key, page)
        return len(doomed)

    def clear(self) -> None:
        self._entries.clear()
        self._by_key.clear()

    async def drain(self) -> None:
        """Wait for background revalidations (at shutdown, and in tests)."""
        if self._revalidations:
            await asyncio.gather(*self._revalidations, return_exceptions=True)

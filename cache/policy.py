"""The cache contract's headers: public pages for shared caches, private pages for nobody."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

PRIVATE_HEADERS = {"Cache-Control": "private, no-store"}
# Names the optional reads a cacheable page went without; edges keep a good stale copy over such a page.
DEGRADED_HEADER = "Storefront-Degraded"
# Set by an edge on a fetch that refreshes a copy it already holds (a background revalidation, or a
# conditional fetch of a kept copy): a saturated origin admits these before new misses. The edge removes it
# from shoppers' requests.
REFRESH_HEADER = "Storefront-Refresh"
# Its value when the copy being refreshed was made stale by a purge (or came from a fetch straddling one):
# admitted before every other refresh, since it is the one showing something that changed.
REFRESH_PURGED = "purged"


@dataclass(frozen=True, slots=True)
class CachePolicy:
    ttl: int = 60
    stale_while_revalidate: int = 30
    stale_if_error: int = 86_400
    min_ttl: int = 1
    degraded_ttl: int = 5  # a page missing optional data is kept briefly, so it heals soon after its upstream

    def ttl_until(self, now: datetime, next_change: datetime | None, *, degraded: bool = False) -> int:
        """The TTL, shortened so no cached copy outlives the next scheduled price or content change, and
        to `degraded_ttl` for a page rendered without some of its optional data."""
        ttl = min(self.ttl, self.degraded_ttl) if degraded else self.ttl
        if next_change is None:
            return ttl
        seconds = int((next_change - now).total_seconds())
        return max(self.min_ttl, min(ttl, seconds))

    def headers(self, ttl: int | None = None) -> dict[str, str]:
        ttl = self.ttl if ttl is None else ttl
        stale = f"stale-while-revalidate={self.stale_while_revalidate}, stale-if-error={self.stale_if_error}"
        return {
            "Cache-Control": f"public, max-age=0, s-maxage={ttl}, {stale}",
            "Surrogate-Control": f"max-age={ttl}, {stale}",
        }

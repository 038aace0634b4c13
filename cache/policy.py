"""The cache contract's headers: public pages for shared caches, private pages for nobody."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

PRIVATE_HEADERS = {"Cache-Control": "private, no-store"}


@dataclass(frozen=True, slots=True)
class CachePolicy:
    ttl: int = 60
    stale_while_revalidate: int = 30
    stale_if_error: int = 86_400
    min_ttl: int = 1

    def ttl_until(self, now: datetime, next_change: datetime | None) -> int:
        """The TTL, shortened so no cached copy outlives the next scheduled price or content change."""
        if next_change is None:
            return self.ttl
        seconds = int((next_change - now).total_seconds())
        return max(self.min_ttl, min(self.ttl, seconds))

    def headers(self, ttl: int | None = None) -> dict[str, str]:
        ttl = self.ttl if ttl is None else ttl
        stale = f"stale-while-revalidate={self.stale_while_revalidate}, stale-if-error={self.stale_if_error}"
        return {
            "Cache-Control": f"public, max-age=0, s-maxage={ttl}, {stale}",
            "Surrogate-Control": f"max-age={ttl}, {stale}",
        }

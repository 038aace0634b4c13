"""The surrogate-key vocabulary and the one builder of `Surrogate-Key`, `xkey` and `Cache-Tag` headers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Fastly: 16 KB per header and 1 KB per key; Cloudflare: 16 KB of Cache-Tag in total.
MAX_HEADER_BYTES = 16 * 1024
MAX_KEY_BYTES = 1024
_SAFE = re.compile(r"[^A-Za-z0-9:_.@-]")


def product(product_id: int) -> str:
    return f"product:{product_id}"


def category(slug: str) -> str:
    return f"category:{slug}"


def cms(entry_id: int) -> str:
    return f"cms:{entry_id}"


def price(sku: str) -> str:
    return f"price:{sku}"


def page(kind: str) -> str:
    return f"page:{kind}"


NAV = "nav"
SEARCH = "search"
DEPLOY = "deploy"


@dataclass(frozen=True, slots=True)
class ScopedKey:
    """A key as one region's pages carry it, for edges where one cache serves every region (`product:9@eu`)."""

    key: str
    region: str

    def __str__(self) -> str:
        return f"{self.key}@{self.region}"


@dataclass
class SurrogateKeys:
    """Keys collected while one page is built; rendered region-qualified and bounded to CDN limits.

    When the header would be too large, per-SKU `price:` keys are dropped first (a price change also
    purges its `product:` key), then `product:` keys in favour of `page:{kind}`.
    """

    region: str
    kind: str
    _keys: set[str] = field(default_factory=set)

    def add(self, *keys: str) -> None:
        for key in keys:
            clean = _SAFE.sub("_", key)[: MAX_KEY_BYTES // 2]
            if clean:
                self._keys.add(clean)

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(self._keys)

    def _bounded(self) -> list[str]:
        base = {page(self.kind), DEPLOY, *self._keys}
        for drop in ("price:", "product:"):
            rendered = self._render(base)
            if len(" ".join(rendered)) <= MAX_HEADER_BYTES:
                return rendered
            base = {k for k in base if not k.startswith(drop)}
        return self._render(base)

    def _render(self, keys: set[str]) -> list[str]:
        ordered = sorted(keys)
        return ordered + [str(ScopedKey(k, self.region)) for k in ordered]

    def headers(self) -> dict[str, str]:
        keys = self._bounded()
        return {"Surrogate-Key": " ".join(keys), "xkey": " ".join(keys), "Cache-Tag": ",".join(keys)}

"""The one spelling of a page URL: each page kind's path and query allow-list, shared by the origin and the edge.

The origin keys its page cache and renders on the canonical form; the edge's VCL is generated from the same
table, so a tracking parameter, a reordered query or a doubled slash can never split a cache or force a render.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

LISTING_QUERY = ("page", "sort", "brand", "min_price", "max_price", "in_stock", "attr.*")
SEARCH_QUERY = ("q", *LISTING_QUERY)

# Path segments never contain "?", so these expressions work on a bare path and on a URL with its query.
_SEG = "[^/?]+"
_SHOP = "/[a-z][a-z0-9-]{0,15}/[a-z]{2}"


@dataclass(frozen=True, slots=True)
class PageKind:
    """A cacheable page kind: the path it answers (a regular expression, anchored at the start) and the
    query parameters it reads (`attr.*` allows every parameter with that prefix)."""

    name: str
    path: str
    query: tuple[str, ...] = ()

    def matches(self, path: str) -> bool:
        return re.fullmatch(self.path, path) is not None


PAGE_KINDS: tuple[PageKind, ...] = (
    PageKind("home", f"{_SHOP}/"),
    PageKind("category", f"{_SHOP}/c/{_SEG}", LISTING_QUERY),
    PageKind("search", f"{_SHOP}/search", SEARCH_QUERY),
    PageKind("product", f"{_SHOP}/p/{_SEG}"),
    PageKind("content", f"{_SHOP}/pages/{_SEG}"),
    PageKind("regions", "/regions"),
    PageKind("image", f"/img/{_SEG}/{_SEG}"),
    PageKind("robots", r"/robots\.txt"),
    PageKind("sitemap", r"(?:/sitemap|/sitemaps/[a-z][a-z0-9-]{0,15}/(?:index|pages|products-[1-9][0-9]{0,4}))\.xml"),
    PageKind("asset", r"/(?:favicon\.svg|favicon\.ico|apple-touch-icon\.png)"),
)
_HOME_WITHOUT_SLASH = re.compile(f"{_SHOP}")

# `/{region}/{lang}`: a region's home page without its trailing slash, as the edge's VCL spells the same rule.
SHOP_PREFIX = _SHOP

# Answered per shopper and never stored by a shared cache: the edge passes them with their cookies. Matched on
# the canonical path; any region and language spelling counts, like the origin's routes.
PRIVATE_PATHS: tuple[str, ...] = (
    "/[^/?]+/[^/?]+/(?:cart|checkout|account)(?:/[^?]*)?",
    "/(?:cart|checkout|account)(?:/[^?]*)?",
    "/fragments/[^?]*",
)

# Operators' routes (admin writes, metrics, the origin cache's purge): reached on the origin's own address,
# never through an edge.
INTERNAL_PATHS: tuple[str, ...] = ("/admin(?:/[^?]*)?", "/internal(?:/[^?]*)?")


def kind_of(path: str) -> PageKind | None:
    """The page kind a canonical path belongs to, if it is a cacheable page."""
    return next((kind for kind in PAGE_KINDS if kind.matches(path)), None)


def is_private(path: str) -> bool:
    """Whether a canonical path is answered per shopper (cart, checkout, account, fragments)."""
    return any(re.fullmatch(pattern, path) for pattern in PRIVATE_PATHS)


def is_internal(path: str) -> bool:
    """Whether a canonical path is an operators' route that no edge forwards."""
    return any(re.fullmatch(pattern, path) for pattern in INTERNAL_PATHS)


def canonical_path(path: str) -> str:
    """Repeated slashes collapsed, and a trailing slash only on a region's home page (`/us/en/`)."""
    path = re.sub("/{2,}", "/", path) or "/"
    if _HOME_WITHOUT_SLASH.fullmatch(path):
        return path + "/"
    if len(path) > 1 and path.endswith("/") and not _HOME_WITHOUT_SLASH.fullmatch(path[:-1]):
        return path.rstrip("/") or "/"
    return path


def canonical_query(raw: bytes | str, allowed: Iterable[str]) -> str:
    """Sorted, de-duplicated, non-empty query parameters from an allow-list (`attr.*` allows a prefix)."""
    allow = set(allowed)
    prefixes = tuple(a[:-1] for a in allow if a.endswith("*"))
    text = raw.decode("latin-1") if isinstance(raw, bytes) else raw
    pairs = {
        (k, v)
        for k, v in parse_qsl(text, keep_blank_values=False)
        if k in allow or (prefixes and k.startswith(prefixes))
    }
    return urlencode(sorted(pairs))

"""Search engines' view of the shop: head links, JSON-LD, robots.txt, sitemaps, and the favicon and touch icon."""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from litestar import Request, Response, get

from backends.common import utcnow
from cache import keys as k
from cache.canonical import canonical_path, canonical_query, kind_of
from cache.keys import SurrogateKeys
from storefront.loader import PageLoad, UpstreamError
from storefront.pages.common import PageError, Shop, cms_keys, cms_read, upstream_failure, upstreams

SITE_NAME = "Northwind Supply"
STATIC_DIR = Path(__file__).resolve().parent.parent.parent / "static"
# Products per sitemap file: two catalog pages of 100, and few enough `product:` keys to fit the key header,
# so an edited product purges the one sitemap that lists it.
SITEMAP_CHUNK = 200
CATALOG_PAGE = 100
AVAILABILITY = {
    "in_stock": "https://schema.org/InStock",
    "low_stock": "https://schema.org/LimitedAvailability",
    "sold_out": "https://schema.org/OutOfStock",
}
XML = "text/xml; charset=utf-8"  # text/*: the origin's page cache compresses it
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
_SITEMAP_FILE = re.compile(r"(index|pages|products-([1-9][0-9]{0,4}))\.xml")


def site(request: Request[Any, Any, Any]) -> str:
    """The configured public base URL: never the Host header, which a cached page must not depend on."""
    return str(request.app.state.settings.site)


def head_links(request: Request[Any, Any, Any], shop: Shop | None) -> dict[str, Any]:
    """The page's canonical URL (its path and allow-listed query, as the cache keys it) and one alternate per
    region and locale that has the same page, with the default region's as `x-default`."""
    base, path = site(request), canonical_path(request.scope["path"])
    kind = kind_of(path)
    query = canonical_query(request.scope.get("query_string", b""), kind.query if kind else ())
    suffix = f"?{query}" if query else ""
    head: dict[str, Any] = {"site": base, "canonical": f"{base}{path}{suffix}", "alternates": [], "x_default": None}
    if shop is None or not path.startswith(shop.base + "/"):
        return head
    rest = path[len(shop.base) :] + suffix
    settings = request.app.state.settings
    for region in settings.regions:
        for locale in region.locales:
            head["alternates"].append((locale, f"{base}/{region.code}/{locale.split('-')[0]}{rest}"))
    default = settings.regions.get(settings.default_region)
    head["x_default"] = f"{base}/{default.code}/{default.default_locale.split('-')[0]}{rest}"
    return head


def image_url(base: str, image: dict[str, Any] | None, widest: int = 1280) -> str | None:
    """An absolute JPEG variant on the ladder, no wider than the original (which would be a 404)."""
    if not image:
        return None
    width = next((w for w in (widest, 960, 640, 480, 320, 160) if w <= image["width"]), 160)
    return f"{base}/img/{image['hash']}/{width}.jpg"


def breadcrumbs_ld(crumbs: list[tuple[str, str]]) -> dict[str, Any]:
    """schema.org BreadcrumbList from (name, absolute URL) pairs, home first."""
    return {
        "@context": "https://schema.org",
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": i, "name": name, "item": url}
            for i, (name, url) in enumerate(crumbs, start=1)
        ],
    }


def product_ld(product: dict[str, Any], canonical: str, base: str) -> dict[str, Any]:
    """schema.org Product with one Offer per priced variant, from the same reads (and surrogate keys) as the
    page: a price or stock purge refreshes it with the page."""
    offers = []
    for variant in product["variants"]:
        price = variant.get("price")
        if not price:
            continue
        offer = {
            "@type": "Offer",
            "sku": variant["sku"],
            "price": price["final"]["amount"],
            "priceCurrency": price["final"]["currency"],
            "availability": AVAILABILITY.get(variant["availability"], AVAILABILITY["in_stock"]),
            "itemCondition": "https://schema.org/NewCondition",
            "url": canonical,
        }
        if variant.get("options"):
            offer["name"] = " / ".join(str(v) for v in variant["options"].values())
        offers.append(offer)
    images = [url for url in (image_url(base, image) for image in product["images"]) if url]
    return {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product["title"],
        "description": product["description"],
        "sku": product["variants"][0]["sku"] if product["variants"] else str(product["id"]),
        "brand": {"@type": "Brand", "name": product["brand"]},
        "image": images,
        "url": canonical,
        "offers": offers,
    }


def organization_ld(base: str, home: str) -> dict[str, Any]:
    return {
        "@context": "https://schema.org",
        "@type": "Organization",
        "name": SITE_NAME,
        "url": home,
        "logo": f"{base}/apple-touch-icon.png",
    }


def category_path(nodes: list[dict[str, Any]], slug: str) -> list[dict[str, Any]]:
    """The categories from the top of the tree down to `slug` (empty when it is not in the tree)."""
    for node in nodes:
        if node["slug"] == slug:
            return [node]
        below = category_path(node.get("children", []), slug)
        if below:
            return [node, *below]
    return []


# --- robots.txt, sitemaps, icons -------------------------------------------------------------------------


def _response(
    request: Request[Any, Any, Any], render: Callable[[], str], media_type: str, load: PageLoad
) -> Response[str]:
    """A cacheable machine-readable page: the same cache contract as HTML pages."""
    started = time.perf_counter()
    body = render()
    load.timed("render", started)
    policy = request.app.state.policy
    ttl = policy.ttl_until(utcnow(), load.next_change, degraded=bool(load.degraded))
    headers = {**policy.headers(ttl), **load.keys.headers()}
    timing = load.server_timing()
    if timing:
        headers["Server-Timing"] = timing
    return Response(body, media_type=media_type, headers=headers)


def _load(request: Request[Any, Any, Any], kind: str, region: str = "") -> PageLoad:
    """Pages for every region carry the default region's qualified keys, like the region chooser."""
    return PageLoad(keys=SurrogateKeys(region=region or request.app.state.settings.default_region, kind=kind))


@get("/robots.txt", opt={"page": True, "query": ()}, name="robots")
async def robots(request: Request[Any, Any, Any]) -> Response[str]:
    base = site(request)
    lines = [
        "User-agent: *",
        # Personal pages and machine endpoints; search pages stay crawlable so their noindex is seen.
        *(f"Disallow: {path}" for path in ("/*/*/cart", "/*/*/checkout", "/fragments/", "/admin/", "/internal/")),
        "Allow: /",
        "",
        f"Sitemap: {base}/sitemap.xml",
        "",
    ]
    return _response(request, lambda: "\n".join(lines), "text/plain; charset=utf-8", _load(request, "robots"))


async def _product_total(request: Request[Any, Any, Any], load: PageLoad, region: str) -> int:
    params = {"region": region, "page_size": 1, "facets": "false"}
    try:
        listing = await upstreams(request).products(load, "catalog-count", params)
    except UpstreamError as exc:
        raise upstream_failure(exc, "sitemap") from None
    return int(listing["total"])


def _sitemap_index(locations: list[str]) -> str:
    entries = "".join(f"<sitemap><loc>{escape(loc)}</loc></sitemap>\n" for loc in locations)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="{SITEMAP_NS}">\n{entries}</sitemapindex>\n'


def _urlset(urls: list[tuple[str, str | None]]) -> str:
    entries = "".join(
        f"<url><loc>{escape(loc)}</loc>{f'<lastmod>{escape(mod)}</lastmod>' if mod else ''}</url>\n"
        for loc, mod in urls
    )
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{SITEMAP_NS}">\n{entries}</urlset>\n'


async def _region_files(request: Request[Any, Any, Any], load: PageLoad, code: str) -> list[str]:
    chunks = max(1, math.ceil(await _product_total(request, load, code) / SITEMAP_CHUNK))
    base = f"{site(request)}/sitemaps/{code}"
    return [f"{base}/pages.xml", *(f"{base}/products-{n}.xml" for n in range(1, chunks + 1))]


@get("/sitemap.xml", opt={"page": True, "query": ()}, name="sitemap")
async def sitemap(request: Request[Any, Any, Any]) -> Response[str]:
    """Every region's sitemaps in one index (a sitemap index cannot list other indexes)."""
    load = _load(request, "sitemap")
    codes = request.app.state.settings.regions.codes
    files = await asyncio.gather(*(_region_files(request, load, code) for code in codes))
    return _response(request, lambda: _sitemap_index([f for group in files for f in group]), XML, load)


@get("/sitemaps/{region:str}/{name:str}", opt={"page": True, "query": ()}, name="region-sitemap")
async def region_sitemap(request: Request[Any, Any, Any], region: str, name: str) -> Response[str]:
    """`index.xml` (this region's sitemaps), `pages.xml` (home, categories, content pages) and
    `products-N.xml` (products in catalog order, SITEMAP_CHUNK to a file)."""
    found = request.app.state.settings.regions.get(region)
    match = _SITEMAP_FILE.fullmatch(name)
    if found is None or match is None:
        raise PageError(404, "Not found", "There is no sitemap at this address.")
    load = _load(request, "sitemap", region)
    if match.group(1) == "index":
        files = await _region_files(request, load, region)
        return _response(request, lambda: _sitemap_index(files), XML, load)
    if match.group(1) == "pages":
        urls = await _page_urls(request, load, found.code)
    else:
        urls = await _product_urls(request, load, found.code, int(match.group(2)))
    return _response(request, lambda: _urlset(urls), XML, load)


def _locale_bases(request: Request[Any, Any, Any], code: str) -> list[str]:
    region = request.app.state.settings.regions.get(code)
    return [f"{site(request)}/{code}/{locale.split('-')[0]}" for locale in region.locales]


async def _product_urls(request: Request[Any, Any, Any], load: PageLoad, code: str, chunk: int) -> list[Any]:
    per_chunk = SITEMAP_CHUNK // CATALOG_PAGE
    pages = range((chunk - 1) * per_chunk + 1, chunk * per_chunk + 1)
    params = {"region": code, "page_size": CATALOG_PAGE, "facets": "false", "sort": "featured"}
    up = upstreams(request)
    try:
        listings = await asyncio.gather(*(up.products(load, f"catalog-page-{p}", params | {"page": p}) for p in pages))
    except UpstreamError as exc:
        raise upstream_failure(exc, "sitemap") from None
    items = [item for listing in listings for item in listing["items"]]
    if not items and chunk > 1:
        raise PageError(404, "Not found", "There is no sitemap at this address.")
    load.keys.add(*(k.category(item["category"]) for item in items))
    bases = _locale_bases(request, code)
    return [(f"{base}/p/{item['slug']}", item.get("updated_at")) for item in items for base in bases]


async def _page_urls(request: Request[Any, Any, Any], load: PageLoad, code: str) -> list[Any]:
    """Home, every category (lastmod: the newest change among the products its first page shows) and the
    CMS content pages published in each locale."""
    up = upstreams(request)
    region = request.app.state.settings.regions.get(code)
    try:
        categories = await up.categories(load)
    except UpstreamError as exc:
        raise upstream_failure(exc, "sitemap") from None
    slugs = _slugs(categories)
    load.keys.add(*(k.category(slug) for slug in slugs))
    params = {"region": code, "page_size": 24, "facets": "false"}
    tops = await asyncio.gather(
        *(up.products(load, f"catalog-{slug}", params | {"category": slug}) for slug in slugs), return_exceptions=True
    )
    newest = {
        slug: max((i.get("updated_at") or "" for i in top["items"]), default="") or None
        for slug, top in zip(slugs, tops, strict=True)
        if isinstance(top, dict)
    }
    home = max((mod for mod in newest.values() if mod), default=None)
    urls: list[Any] = []
    for locale, base in zip(region.locales, _locale_bases(request, code), strict=True):
        urls.append((f"{base}/", home))
        urls += [(f"{base}/c/{slug}", newest.get(slug)) for slug in slugs]
        try:
            pages = await cms_read(request, load, Shop(region, locale), f"cms-pages-{locale}", type="page")
        except UpstreamError:
            pages = None  # content pages come back when the CMS does; the rest of the sitemap stands
            load.degrade(f"cms-pages-{locale}")
        for entry in cms_keys(load, pages):
            urls.append((f"{base}/pages/{entry['key']}", entry.get("published_at") or entry.get("updated_at")))
    return urls


def _slugs(nodes: list[dict[str, Any]]) -> list[str]:
    return [slug for node in nodes for slug in (node["slug"], *_slugs(node.get("children", [])))]


_ICONS = {
    "favicon.svg": "image/svg+xml",
    "favicon.ico": "image/x-icon",
    "apple-touch-icon.png": "image/png",
}
# The icons change with a deploy (which purges `deploy`): browsers keep them a week, shared caches a year.
_ICON_CACHE = "public, max-age=604800, s-maxage=31536000, stale-while-revalidate=86400"


def _icon(request: Request[Any, Any, Any], name: str) -> Response[bytes]:
    body = (STATIC_DIR / name).read_bytes()
    keys = SurrogateKeys(region=request.app.state.settings.default_region, kind="asset").headers()
    headers = {"Cache-Control": _ICON_CACHE, "Surrogate-Control": "max-age=31536000", **keys}
    return Response(body, media_type=_ICONS[name], headers=headers)


@get("/favicon.svg", opt={"page": True, "query": ()}, name="favicon-svg", include_in_schema=False)
async def favicon_svg(request: Request[Any, Any, Any]) -> Response[bytes]:
    return _icon(request, "favicon.svg")


@get("/favicon.ico", opt={"page": True, "query": ()}, name="favicon-ico", include_in_schema=False)
async def favicon_ico(request: Request[Any, Any, Any]) -> Response[bytes]:
    return _icon(request, "favicon.ico")


@get("/apple-touch-icon.png", opt={"page": True, "query": ()}, name="touch-icon", include_in_schema=False)
async def touch_icon(request: Request[Any, Any, Any]) -> Response[bytes]:
    return _icon(request, "apple-touch-icon.png")

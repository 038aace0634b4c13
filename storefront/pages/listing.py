"""Listing pages: home, category, search. Products come from the catalog, prices from pricing, in parallel."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from backends.common.money import parse_amount
from backends.common.params import bounded_int
from cache import keys as k
from storefront.loader import PageLoad, UpstreamError
from storefront.pages.common import (
    PAGE_SIZE,
    PageError,
    Shop,
    chrome_context,
    chrome_loads,
    cms_keys,
    cms_read,
    new_load,
    shop_for,
    upstream_failure,
    upstreams,
)
from storefront.pages.seo import breadcrumbs_ld, category_path, head_links, image_url, organization_ld
from storefront.render import page_response

SORTS = {
    "featured": "Featured",
    "price_asc": "Price: low to high",
    "price_desc": "Price: high to low",
    "newest": "Newest",
    "title": "Name",
}
LISTING_QUERY = ("page", "sort", "brand", "min_price", "max_price", "in_stock", "attr.*")
SEARCH_QUERY = ("q", *LISTING_QUERY)
MAX_Q = 200


def _bad(message: str) -> PageError:
    return PageError(400, "That filter doesn't work", message)


def listing_params(request: Request[Any, Any, Any], shop: Shop) -> dict[str, Any]:
    """Validate the shopper's filters into catalog parameters; anything malformed is a 400 page."""
    query = request.query_params
    params: dict[str, Any] = {"region": shop.region.code, "page_size": PAGE_SIZE}
    page = bounded_int(query.get("page", "1"), 1, 1000)
    if page is None:
        raise _bad("The page number must be between 1 and 1000.")
    params["page"] = page
    sort = query.get("sort")
    if sort is not None:
        if sort not in SORTS and sort != "relevance":
            raise _bad("Choose one of the offered sort orders.")
        params["sort"] = sort
    brands = query.getall("brand", [])
    if len(brands) > 20 or any(len(b) > 80 for b in brands):
        raise _bad("Too many or too long brand filters.")
    if brands:
        params["brand"] = brands
    bounds = {}
    for name in ("min_price", "max_price"):
        raw = query.get(name)
        if raw:
            try:
                bounds[name] = parse_amount(raw, shop.region.currency)
            except ValueError:
                raise _bad(f"“{raw[:20]}” is not a price.") from None
            if bounds[name] < 0:
                raise _bad("Prices cannot be negative.")
            params[name] = raw
    if len(bounds) == 2 and bounds["min_price"] > bounds["max_price"]:
        raise _bad("The lowest price is above the highest price.")
    if query.get("in_stock") == "1":
        params["in_stock"] = "true"
    for key in query:
        if key.startswith("attr."):
            values = query.getall(key)
            if len(key) > 45 or len(values) > 20 or any(len(v) > 80 for v in values):
                raise _bad("That attribute filter is too long.")
            params[key] = values
    return params


async def _listing_with_prices(
    request: Request[Any, Any, Any], load: PageLoad, shop: Shop, name: str, params: dict[str, Any]
) -> dict[str, Any]:
    up = upstreams(request)
    listing = await up.products(load, name, params)
    skus = [sku for item in listing["items"] for sku in item["skus"]]
    quote = await up.prices(load, f"{name}-prices", shop.region.code, skus)
    attach_prices(listing["items"], quote)
    return listing


def attach_prices(items: list[dict[str, Any]], quote: dict[str, Any]) -> None:
    """Give each product card its lowest current price, and say whether its variants differ ("from")."""
    for item in items:
        finals = [quote["prices"][s] for s in item["skus"] if s in quote["prices"]]
        item["price"] = min(finals, key=lambda line: line["final_minor"]) if finals else None
        item["varied_prices"] = len({line["final_minor"] for line in finals}) > 1


@get("/{region:str}/{lang:str}/", opt={"page": True, "query": ()}, name="home")
async def home(request: Request[Any, Any, Any], region: str, lang: str) -> Response[str]:
    shop = shop_for(request, region, lang)
    load = new_load(shop, "home")
    up = upstreams(request)
    params = {"region": shop.region.code, "page_size": 8, "facets": "false", "in_stock": "true", "sort": "newest"}
    results = await load.gather(
        {},
        {
            **chrome_loads(request, load, shop),
            "categories": up.categories(load),
            "featured": _listing_with_prices(request, load, shop, "catalog-featured", params),
            "hero": cms_read(request, load, shop, "cms-hero", type="hero"),
            "promos": cms_read(request, load, shop, "cms-promos", type="promo", placement="home"),
        },
    )
    if results["categories"] is not None:
        load.keys.add(*(k.category(c["slug"]) for c in results["categories"]))
    head = head_links(request, shop)
    hero = next(iter(cms_keys(load, results["hero"])), None)
    hero_image = hero and hero["fields"].get("image")
    context = {
        **chrome_context(results, load, shop),
        "head": head,
        "ld": [organization_ld(head["site"], f"{head['site']}{shop.base}/")],
        "hero": hero,
        "og_image": image_url(head["site"], {"hash": hero["fields"]["image"], "width": 1600}) if hero_image else None,
        "promos": cms_keys(load, results["promos"]),
        "categories": results["categories"] or [],
        "featured": (results["featured"] or {}).get("items", []),
    }
    return page_response(request.app.state.templates, "home.html", context, load, request.app.state.policy)


@get("/{region:str}/{lang:str}/c/{slug:str}", opt={"page": True, "query": LISTING_QUERY}, name="category")
async def category(request: Request[Any, Any, Any], region: str, lang: str, slug: str) -> Response[str]:
    shop = shop_for(request, region, lang)
    params = listing_params(request, shop) | {"category": slug}
    load = new_load(shop, "category")
    load.keys.add(k.category(slug))
    try:
        results = await load.gather(
            {"listing": _listing_with_prices(request, load, shop, "catalog-listing", params)},
            {
                **chrome_loads(request, load, shop),
                "categories": upstreams(request).categories(load),
                "promos": cms_read(request, load, shop, "cms-promos", type="promo", placement="category"),
            },
        )
    except UpstreamError as exc:
        raise upstream_failure(exc, "category") from None
    node = _find_category(results["categories"] or [], slug)
    head = head_links(request, shop)
    trail = category_path(results["categories"] or [], slug) or [node or {"slug": slug, "name": slug}]
    crumbs = [("Home", f"{head['site']}{shop.base}/")]
    crumbs += [(c["name"], f"{head['site']}{shop.base}/c/{c['slug']}") for c in trail]
    context = {
        **chrome_context(results, load, shop),
        "head": head,
        "ld": [breadcrumbs_ld(crumbs)],
        "trail": trail,
        "category": node or {"slug": slug, "name": slug.replace("-", " ").title(), "children": []},
        "listing": results["listing"],
        "promos": cms_keys(load, results["promos"]),
        **_listing_view(request, params, results["listing"]),
    }
    return page_response(request.app.state.templates, "category.html", context, load, request.app.state.policy)


@get("/{region:str}/{lang:str}/search", opt={"page": True, "query": SEARCH_QUERY}, name="search")
async def search(request: Request[Any, Any, Any], region: str, lang: str) -> Response[str]:
    shop = shop_for(request, region, lang)
    q = request.query_params.get("q", "").strip()
    if len(q) > MAX_Q:
        raise _bad(f"Search for at most {MAX_Q} characters.")
    params = listing_params(request, shop)
    load = new_load(shop, "search")
    load.keys.add(k.SEARCH)
    loads: dict[str, Any] = {}
    if q:
        loads["listing"] = _listing_with_prices(request, load, shop, "catalog-search", params | {"q": q})
    try:
        results = await load.gather(loads, chrome_loads(request, load, shop))
    except UpstreamError as exc:
        raise upstream_failure(exc, "search") from None
    listing = results.get("listing") or {"items": [], "total": 0, "page": 1, "facets": {}}
    context = {
        **chrome_context(results, load, shop),
        "head": head_links(request, shop),
        "q": q,
        "listing": listing,
        **_listing_view(request, params | {"q": q}, listing),
    }
    return page_response(request.app.state.templates, "search.html", context, load, request.app.state.policy)


def _find_category(nodes: list[dict[str, Any]], slug: str) -> dict[str, Any] | None:
    for node in nodes:
        if node["slug"] == slug:
            return node
        found = _find_category(node.get("children", []), slug)
        if found:
            return found
    return None


def _listing_view(request: Request[Any, Any, Any], params: dict[str, Any], listing: dict[str, Any]) -> dict[str, Any]:
    """Pagination and active filters, as plain data for the template's links and forms."""
    total = listing.get("total", 0)
    pages = max(1, -(-total // PAGE_SIZE))
    selected_attrs = {key[5:]: set(v) for key, v in params.items() if key.startswith("attr.")}
    keep = {
        key: v
        for key, v in params.items()
        if key in {"sort", "brand", "min_price", "max_price", "q"} or key.startswith("attr.") or key == "in_stock"
    }
    return {
        "page": params.get("page", 1),
        "pages": pages,
        "sorts": SORTS,
        "sort": params.get("sort", "featured"),
        "selected_brands": set(params.get("brand", [])),
        "selected_attrs": selected_attrs,
        "min_price": params.get("min_price", ""),
        "max_price": params.get("max_price", ""),
        "in_stock": params.get("in_stock") == "true",
        "keep": keep,
    }

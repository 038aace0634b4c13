"""The product page: the product and its prices are critical; related products and CMS blocks are not."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get

from backends.common.validation import SLUG
from storefront.loader import PageLoad, UpstreamError
from storefront.pages.common import (
    PageError,
    Shop,
    chrome_context,
    chrome_loads,
    cms_keys,
    cms_read,
    new_load,
    shop_for,
    upstreams,
)
from storefront.pages.listing import _listing_with_prices, _upstream_failure
from storefront.render import page_response

RELATED = 4


async def _product_with_prices(
    request: Request[Any, Any, Any], load: PageLoad, shop: Shop, product_read: asyncio.Task[Any]
) -> Any:
    product = await product_read
    quote = await upstreams(request).prices(load, "pricing", shop.region.code, [v["sku"] for v in product["variants"]])
    for variant in product["variants"]:
        variant["price"] = quote["prices"].get(variant["sku"])
    return product


async def _related(request: Request[Any, Any, Any], load: PageLoad, shop: Shop, product_read: asyncio.Task[Any]) -> Any:
    """Other products of the same category: starts as soon as the product read tells the category."""
    product = await asyncio.shield(product_read)
    slug = product["slug"]
    params = {
        "region": shop.region.code,
        "category": product["category"],
        "page_size": RELATED + 1,
        "facets": "false",
        "in_stock": "true",
    }
    listing = await _listing_with_prices(request, load, shop, "catalog-related", params)
    return [item for item in listing["items"] if item["slug"] != slug][:RELATED]


@get("/{region:str}/{lang:str}/p/{slug:str}", opt={"page": True, "query": ()}, name="product")
async def product(request: Request[Any, Any, Any], region: str, lang: str, slug: str) -> Response[str]:
    shop = shop_for(request, region, lang)
    if not SLUG.match(slug) or len(slug) > 120:
        raise PageError(404, "Product not found", "There is no product at this address.")
    load = new_load(shop, "product")
    product_read = asyncio.ensure_future(upstreams(request).product(load, shop.region.code, slug))
    try:
        results = await load.gather(
            {"product": _product_with_prices(request, load, shop, product_read)},
            {
                **chrome_loads(request, load, shop),
                "related": _related(request, load, shop, product_read),
                "promos": cms_read(request, load, shop, "cms-promos", type="promo", placement="product"),
            },
        )
    except UpstreamError as exc:
        raise _upstream_failure(exc, "product") from None
    item = results["product"]
    prices = [v["price"] for v in item["variants"] if v.get("price")]
    context = {
        **chrome_context(results, load, shop),
        "product": item,
        "price": min(prices, key=lambda p: p["final_minor"]) if prices else None,
        "related": results["related"] or [],
        "promos": cms_keys(load, results["promos"]),
    }
    return page_response(request.app.state.templates, "product.html", context, load, request.app.state.policy)

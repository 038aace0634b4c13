"""The product page: the product and its prices are critical; related products and CMS blocks are not."""

from __future__ import annotations

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
    upstream_failure,
    upstreams,
)
from storefront.pages.listing import attach_prices
from storefront.pages.seo import breadcrumbs_ld, head_links, image_url, product_ld
from storefront.render import page_response

RELATED = 4


async def _product_with_prices(request: Request[Any, Any, Any], load: PageLoad, shop: Shop, slug: str) -> Any:
    up = upstreams(request)
    product = await up.product(load, shop.region.code, slug)
    quote = await up.prices(load, "pricing", shop.region.code, [v["sku"] for v in product["variants"]])
    for variant in product["variants"]:
        variant["price"] = quote["prices"].get(variant["sku"])
    return product


async def _related(request: Request[Any, Any, Any], load: PageLoad, shop: Shop, slug: str) -> Any:
    """Other products of the same category, priced: one catalog read and one pricing read."""
    up = upstreams(request)
    items = await up.related(load, shop.region.code, slug, RELATED)
    quote = await up.prices(load, "pricing-related", shop.region.code, [s for item in items for s in item["skus"]])
    attach_prices(items, quote)
    return items


@get("/{region:str}/{lang:str}/p/{slug:str}", opt={"page": True, "query": ()}, name="product")
async def product(request: Request[Any, Any, Any], region: str, lang: str, slug: str) -> Response[str]:
    shop = shop_for(request, region, lang)
    if not SLUG.match(slug) or len(slug) > 120:
        raise PageError(404, "Product not found", "There is no product at this address.")
    load = new_load(shop, "product")
    try:
        results = await load.gather(
            {"product": _product_with_prices(request, load, shop, slug)},
            {
                **chrome_loads(request, load, shop),
                "related": _related(request, load, shop, slug),
                "promos": cms_read(request, load, shop, "cms-promos", type="promo", placement="product"),
            },
        )
    except UpstreamError as exc:
        raise upstream_failure(exc, "product") from None
    item = results["product"]
    prices = [v["price"] for v in item["variants"] if v.get("price")]
    head = head_links(request, shop)
    crumbs = [("Home", f"{head['site']}{shop.base}/")]
    crumbs += [(c["name"], f"{head['site']}{shop.base}/c/{c['slug']}") for c in item["category_path"]]
    crumbs.append((item["title"], head["canonical"]))
    context = {
        **chrome_context(results, load, shop),
        "head": head,
        "ld": [product_ld(item, head["canonical"], head["site"]), breadcrumbs_ld(crumbs)],
        "product": item,
        "og_image": image_url(head["site"], item["images"][0] if item["images"] else None),
        "price": min(prices, key=lambda p: p["final_minor"]) if prices else None,
        "related": results["related"] or [],
        "promos": cms_keys(load, results["promos"]),
    }
    return page_response(request.app.state.templates, "product.html", context, load, request.app.state.policy)

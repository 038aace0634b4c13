"""CMS content pages, the region chooser, and `/`, which sends shoppers to their region."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.response import Redirect

from backends.common.validation import SLUG
from cache import keys as k
from cms_client import CmsClient
from cms_client.client import CmsNotFound, CmsUnavailable
from storefront.loader import UpstreamError
from storefront.pages.common import (
    PageError,
    chrome_context,
    chrome_loads,
    cms_keys,
    new_load,
    shop_for,
    stale,
    upstream_failure,
)
from storefront.pages.seo import head_links
from storefront.render import page_response


@get("/{region:str}/{lang:str}/pages/{key:str}", opt={"page": True, "query": ()}, name="content")
async def content_page(request: Request[Any, Any, Any], region: str, lang: str, key: str) -> Response[str]:
    shop = shop_for(request, region, lang)
    if not SLUG.match(key) or len(key) > 80:
        raise PageError(404, "Page not found", "There is no page at this address.")
    load = new_load(shop, "content")
    cms: CmsClient = request.app.state.cms
    budget = request.app.state.settings.cms_timeout

    async def page_entry() -> dict[str, Any]:
        try:
            return await cms.entry(shop.locale, type="page", key=key, on_stale=stale(load, "page"))
        except CmsNotFound:
            raise UpstreamError("cms", "not found", not_found=True) from None
        except CmsUnavailable:
            raise UpstreamError("cms", "unavailable") from None

    try:
        results = await load.gather(
            {"page": load.read("cms-page", budget, page_entry)}, chrome_loads(request, load, shop)
        )
    except UpstreamError as exc:
        raise upstream_failure(exc, "page") from None
    entry = results["page"]
    cms_keys(load, {"items": [entry], "next_change_at": entry.get("next_change_at")})
    context = {**chrome_context(results, load, shop), "head": head_links(request, shop), "entry": entry}
    return page_response(request.app.state.templates, "page.html", context, load, request.app.state.policy)


@get("/regions", opt={"page": True, "query": ()}, name="regions")
async def regions(request: Request[Any, Any, Any]) -> Response[str]:
    settings = request.app.state.settings
    shop = shop_for(request, settings.default_region, settings.regions.get(settings.default_region).locales[0][:2])
    load = new_load(shop, "regions")
    load.keys.add(k.NAV)
    context = {**chrome_context({}, load, shop), "head": head_links(request, None), "regions": list(settings.regions)}
    return page_response(request.app.state.templates, "regions.html", context, load, request.app.state.policy)


@get("/", name="root")
async def root(request: Request[Any, Any, Any]) -> Redirect:
    """Send the shopper to the region the edge's geo header names (or the default one)."""
    settings = request.app.state.settings
    wanted = request.headers.get(settings.geo_header, "").strip().lower()
    region = settings.regions.get(wanted) or settings.regions.get(settings.default_region)
    policy = request.app.state.policy
    return Redirect(
        f"/{region.code}/{region.default_locale.split('-')[0]}/",
        status_code=302,
        headers={**policy.headers(), "Vary": settings.geo_header.title()},
    )

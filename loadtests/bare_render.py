"""The rendering baseline: a bare Litestar handler that renders the product template from a fixed context.

It loads one product page's data once at start-up (through the origin's own loader code), so per request
it does only what any Jinja2 page must do: render and respond. The origin is measured against it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, MediaType, Request, Response, get

from cms_client import CmsClient
from image_pipeline.store import ImageStore
from stack.settings import Settings
from storefront.pages.common import Shop, chrome_context, chrome_loads, new_load
from storefront.pages.product import _product_with_prices, _related
from storefront.render import create_environment
from storefront.upstream_client import UpstreamClient
from storefront.upstreams import Upstreams


@get("/bare", media_type=MediaType.HTML)
async def bare(request: Request[Any, Any, Any]) -> Response[str]:
    state = request.app.state
    return Response(state.env.get_template("product.html").render(**state.context), media_type=MediaType.HTML)


@get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def create_app() -> Litestar:
    settings = Settings.from_env().origin
    logging.getLogger("httpx").setLevel(logging.WARNING)
    slug = os.environ["BARE_RENDER_SLUG"]

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        catalog, pricing, cms = (
            UpstreamClient(name, connections=8, timeout=5.0) for name in ("catalog", "pricing", "cms")
        )
        try:
            app.state.upstreams = Upstreams(catalog, pricing, settings)
            app.state.cms = CmsClient(cms, settings.cms_url)
            region = settings.regions.get("us")
            shop = Shop(region, region.default_locale)
            load = new_load(shop, "product")

            class _Request:  # just enough of a request for the loader helpers
                def __init__(self) -> None:
                    self.app = app

            fake: Any = _Request()
            results = await load.gather(
                {"product": _product_with_prices(fake, load, shop, slug)},
                {**chrome_loads(fake, load, shop), "related": _related(fake, load, shop, slug)},
            )
            item = results["product"]
            prices = [v["price"] for v in item["variants"] if v.get("price")]
            app.state.context = {
                **chrome_context(results, load, shop),
                "product": item,
                "price": min(prices, key=lambda p: p["final_minor"]) if prices else None,
                "related": results["related"] or [],
                "promos": [],
            }
        finally:
            for client in (catalog, pricing, cms):
                await client.aclose()
        yield

    app = Litestar(route_handlers=[bare, healthz], lifespan=[lifespan], openapi_config=None)
    app.state.settings = settings
    app.state.env = create_environment(settings.templates_dir, ImageStore(settings.images_dir))
    return app

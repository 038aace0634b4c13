"""The storefront origin's app factory: routes, shared HTTP client, CMS client, page cache, templates."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from opentelemetry.trace import Tracer

from backends.common.head import head_for_every_get
from backends.common.telemetry import instrument
from cache.page_cache import PageCache
from cache.policy import CachePolicy
from cms_client import CmsClient
from image_pipeline import ImageStore, ImageWorkers
from image_pipeline.routes import image, upload
from storefront.checkout_client import CheckoutClient
from storefront.edge import PageEdgeMiddleware
from storefront.metrics import install_origin_metrics
from storefront.openapi import finish_origin_openapi, origin_openapi_config, pages_out_of_schema
from storefront.pages.cart import add_to_cart, cart_fragment, cart_page, update_cart
from storefront.pages.checkout import checkout_page, checkout_quote, checkout_step, confirmation
from storefront.pages.common import ERROR_HANDLERS
from storefront.pages.content import content_page, regions, root
from storefront.pages.health import healthz, livez
from storefront.pages.internal import metrics, purge
from storefront.pages.listing import category, home, search
from storefront.pages.product import product
from storefront.pages.seo import favicon_ico, favicon_svg, region_sitemap, robots, sitemap, touch_icon
from storefront.render import create_environment
from storefront.settings import OriginSettings
from storefront.shedding import RenderLimit
from storefront.upstream_client import CircuitBreaker, Observer, UpstreamClient
from storefront.upstreams import Upstreams


def create_app(settings: OriginSettings | None = None) -> Litestar:
    settings = settings or OriginSettings.from_env()
    # httpx logs every request at INFO; on the hot path of every page that is noise and CPU.
    logging.getLogger("httpx").setLevel(logging.WARNING)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        clients = _upstream_clients(settings, app.state.tracing.tracer, app.state.origin_metrics.upstream_read)
        app.state.upstream_clients = clients
        app.state.upstreams = Upstreams(clients["catalog"], clients["pricing"], settings)
        app.state.checkout = CheckoutClient(
            clients["checkout"], settings.checkout_url, order_timeout=settings.checkout_timeout
        )
        app.state.cms = CmsClient(clients["cms"], settings.cms_url, fresh_ttl=settings.cms_cache_ttl)
        app.state.page_cache = PageCache(settings.page_cache_bytes) if settings.page_cache else None
        app.state.render_limit = RenderLimit(settings.max_renders, settings.shed_after)
        app.state.counters = Counter()
        await workers.start()
        try:
            yield
        finally:
            await workers.close()
            if app.state.page_cache is not None:
                await app.state.page_cache.drain()
            await asyncio.gather(*(client.aclose() for client in clients.values()))

    workers = ImageWorkers(settings.image_workers, settings.image_job_memory_mb)  # decodes run there, not here
    images = ImageStore(settings.images_dir, settings.image_encoding, workers)
    templates = create_environment(settings.templates_dir, images)
    app = Litestar(
        route_handlers=[
            root,
            healthz,
            livez,
            metrics,
            purge,
            regions,
            home,
            category,
            product,
            search,
            content_page,
            robots,
            sitemap,
            region_sitemap,
            favicon_svg,
            favicon_ico,
            touch_icon,
            image,
            upload,
            cart_fragment,
            cart_page,
            add_to_cart,
            update_cart,
            checkout_page,
            checkout_step,
            checkout_quote,
            confirmation,
        ],
        lifespan=[lifespan],
        state=State(
            {
                "settings": settings,
                "templates": templates,
                "policy": CachePolicy(ttl=settings.page_ttl),
                "page_cache": None,
                "images": images,
            }
        ),
        middleware=[DefineMiddleware(PageEdgeMiddleware)],
        on_app_init=[head_for_every_get, pages_out_of_schema],
        exception_handlers=ERROR_HANDLERS,
        request_max_body_size=64 * 1024,
        openapi_config=origin_openapi_config(),
    )
    finish_origin_openapi(app, settings.regions)  # machine endpoints only: pages are HTML, not an API
    install_origin_metrics(app)
    instrument(app, "origin", settings)  # a log line and (tracing on) a server span per request
    return app


def _upstream_clients(
    settings: OriginSettings, tracer: Tracer | None, observe: Observer | None = None
) -> dict[str, UpstreamClient]:
    """One guarded client per upstream; its timeout ends a detached read shortly after its budget; with tracing
    on, each read is a client span whose context goes with the request."""
    timeouts = {
        "catalog": settings.catalog_timeout,
        "pricing": settings.pricing_timeout,
        "cms": settings.cms_timeout,
        "checkout": settings.checkout_timeout,
    }
    return {
        name: UpstreamClient(
            name,
            connections=settings.pool_size,
            timeout=budget + 0.5,
            breaker=CircuitBreaker(threshold=settings.breaker_failures, cooldown=settings.breaker_cooldown),
            tracer=tracer,
            observe=observe,
        )
        for name, budget in timeouts.items()
    }

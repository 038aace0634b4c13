"""The origin's Prometheus metrics move with what happens: pages by kind and cache outcome, surrogate keys,
upstream reads by outcome, CMS last-good copies, load shedding; they agree with `/internal/metrics`, need the
admin token, and keep bounded labels under hostile traffic."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import string
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from litestar import Litestar

from backends.catalog.app import create_app as create_catalog
from backends.cms.app import create_app as create_cms
from backends.common.metrics import UNMATCHED
from backends.pricing.app import create_app as create_pricing
from edge_config.ports import free_port
from stack.settings import Settings
from storefront.app import create_app as create_origin
from storefront.metrics import KINDS, OTHER, PAGE_OUTCOMES, PATH, READ_OUTCOMES, UPSTREAMS
from tests.asgi import client_for, running
from tests.conftest import ADMIN
from tests.prometheus import Series, label_values, parse, value

SURROGATE = {"Surrogate-Capability": 'edge="Surrogate/1.0"'}
PRODUCT_ROUTE = "/{region}/{lang}/p/{slug}"


@pytest.fixture
def database_url() -> str:
    return ""  # SQLite only: nothing here depends on the database


@dataclasses.dataclass
class Served:
    url: str
    server: uvicorn.Server
    task: asyncio.Task[None]

    async def stop(self) -> None:
        self.server.should_exit = True
        await self.task  # the listener is closed once serve() returns


@asynccontextmanager
async def serving(app: Litestar) -> AsyncIterator[Served]:
    """`app` on a free loopback port in this event loop, until the block ends (or the caller stops it)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    served = Served(f"http://127.0.0.1:{port}", server, asyncio.create_task(server.serve()))
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and not served.task.done(), "the server did not start"
        await asyncio.sleep(0.01)
    try:
        yield served
    finally:
        await served.stop()


@dataclasses.dataclass
class Shop:
    origin: Litestar
    client: httpx.AsyncClient
    cms: Served
    slugs: list[str]

    async def scrape(self) -> Series:
        response = await self.client.get(PATH, headers=ADMIN)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        return parse(response.text)


@asynccontextmanager
async def shop(seeded: Settings, **origin: Any) -> AsyncIterator[Shop]:
    catalog = create_catalog(dataclasses.replace(seeded.catalog, checkout_url=""))
    async with (
        serving(catalog) as catalog_served,
        serving(create_pricing(seeded.pricing)) as pricing,
        serving(create_cms(dataclasses.replace(seeded.cms, webhook_url=""))) as cms,
    ):
        settings = dataclasses.replace(
            seeded.origin,
            catalog_url=catalog_served.url,
            pricing_url=pricing.url,
            cms_url=cms.url,
            checkout_url=f"http://127.0.0.1:{free_port()}",  # nothing here reaches checkout
            image_workers=1,
            **origin,
        )
        app = create_origin(settings)
        # A port in the base URL: httpx.ASGITransport puts none in the scope, and error pages read the URL.
        async with running(app), client_for(app, "http://origin.test:8000") as client, httpx.AsyncClient() as plain:
            listing = (
                await plain.get(f"{catalog_served.url}/products", params={"region": "us", "page_size": 5})
            ).json()
            yield Shop(app, client, cms, [item["slug"] for item in listing["items"]])


async def test_the_scrape_needs_the_admin_token(seeded: Settings) -> None:
    async with shop(seeded) as s:
        assert (await s.client.get(PATH)).status_code == 401
        assert (await s.client.get(PATH, headers={"Authorization": "Bearer wrong"})).status_code == 401


async def test_pages_keys_reads_and_the_page_cache_move_and_agree_with_the_json_counters(seeded: Settings) -> None:
    async with shop(seeded) as s:
        path = f"/us/en/p/{s.slugs[0]}"
        first = await s.client.get(path, headers=SURROGATE)
        second = await s.client.get(path, headers=SURROGATE)
        assert (first.headers["x-cache"], second.headers["x-cache"]) == ("MISS", "HIT")
        keys = first.headers["surrogate-key"]
        series = await s.scrape()
        status = (await s.client.get("/internal/metrics", headers=ADMIN)).json()
    assert value(series, "storefront_page_responses_total", kind="product", cache="MISS") == 1
    assert value(series, "storefront_page_responses_total", kind="product", cache="HIT") == 1
    assert value(series, "storefront_page_surrogate_keys_count", kind="product") == 1
    assert value(series, "storefront_page_surrogate_keys_sum", kind="product") == len(keys.split(" "))
    assert value(series, "storefront_page_surrogate_key_bytes_sum", kind="product") == len(keys)
    for upstream in ("catalog", "pricing", "cms"):
        assert value(series, "storefront_upstream_read_duration_seconds_count", upstream=upstream, outcome="ok") >= 1
    route = {"method": "GET", "route": PRODUCT_ROUTE, "status_class": "2xx"}
    assert value(series, "http_server_request_duration_seconds_count", **route) == 2
    # The JSON page and the scrape read the same numbers.
    assert value(series, "storefront_page_renders_total") == status["counters"]["renders"] == 1
    assert value(series, "storefront_page_requests_total") == status["counters"]["page_requests"] == 2
    assert value(series, "storefront_page_cache_events_total", event="hit") == status["page_cache"]["hit"] == 1
    assert value(series, "storefront_page_cache_entries") == status["page_cache"]["entries"] == 1


async def test_a_cms_outage_shows_as_errors_and_last_good_copies(seeded: Settings) -> None:
    async with shop(seeded, cms_cache_ttl=0.0) as s:
        assert (await s.client.get(f"/us/en/p/{s.slugs[0]}")).status_code == 200
        await s.cms.stop()  # the CMS stops answering; the origin keeps its last good copies
        page = await s.client.get(f"/us/en/p/{s.slugs[1]}", headers=SURROGATE)
        series = await s.scrape()
        status = (await s.client.get("/internal/metrics", headers=ADMIN)).json()
    assert page.status_code == 200 and "nav" in page.headers["storefront-degraded"]
    assert value(series, "storefront_upstream_read_duration_seconds_count", upstream="cms", outcome="error") >= 1
    assert value(series, "storefront_cms_stale_served_total") == status["cms_served_stale"] >= 1


async def test_shed_requests_are_counted(seeded: Settings) -> None:
    async with shop(seeded, max_renders=1, shed_after=0.0) as s:
        async with s.origin.state.render_limit.slot():  # the only render slot is taken
            refused = await s.client.get(f"/us/en/p/{s.slugs[2]}")
        series = await s.scrape()
    assert refused.status_code == 503
    assert value(series, "storefront_shed_requests_total") == 1
    assert value(series, "storefront_render_slots") == 1


def _hostile(rng: random.Random, shape: str) -> str:
    # Always a letter first: whether a segment could be a region code changes the answer's status class.
    junk = rng.choice(string.ascii_lowercase) + "".join(
        rng.choices(string.ascii_lowercase + string.digits, k=rng.randint(17, 24))
    )
    query = "&".join(f"{rng.choice(string.ascii_lowercase)}{rng.randint(0, 999)}={rng.random()}" for _ in range(3))
    return shape.format(junk=junk, query=query, n=rng.randint(0, 10**9))


HOSTILE = (
    "/us/en/p/{junk}",
    "/us/en/p/SKU-{n}?{query}",
    "/eu/de/c/{junk}?sort=price_asc&{query}",
    "/us/en/search?q={junk}&{query}",
    "/{junk}/en/",
    "/us/{junk}/pages/{junk}",
    "/img/{junk}/320.avif",
    "/{junk}?{query}",
    "/{junk}/{junk}/{junk}/{junk}/{junk}",
)


async def _drive(client: httpx.AsyncClient, rng: random.Random, rounds: int) -> None:
    for _ in range(rounds):
        for shape in HOSTILE:
            for method in ("GET", "HEAD", "POST", "PROPFIND"):
                response = await client.request(method, _hostile(rng, shape))
                assert response.status_code < 500 or response.status_code == 503, response.status_code


async def test_hostile_traffic_keeps_the_origins_labels_bounded(seeded: Settings) -> None:
    async with shop(seeded) as s:
        rng = random.Random(15)
        await _drive(s.client, rng, 1)
        await s.scrape()
        before = set(await s.scrape())
        await _drive(s.client, rng, 8)
        series = await s.scrape()
    routes = {s.origin.state.metrics.route({"path_template": r.path}) for r in s.origin.routes} | {UNMATCHED}
    assert label_values(series, "route") <= routes
    assert label_values(series, "kind") <= set(KINDS.values()) | {OTHER}
    assert label_values(series, "cache") <= set(PAGE_OUTCOMES)
    assert label_values(series, "upstream") <= set(UPSTREAMS) | {OTHER}
    assert label_values(series, "outcome") <= set(READ_OUTCOMES)
    assert set(series) == before, set(series) ^ before  # eight times the distinct paths, not one series more

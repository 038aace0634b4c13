"""HTTP RED metrics on every backend and the invalidator: route templates (never raw paths), status classes, one
registry per app, and label values that stay bounded however hostile the traffic."""

from __future__ import annotations

import dataclasses
import random
import string
from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import Litestar

from backends.catalog.app import create_app as create_catalog
from backends.checkout.app import create_app as create_checkout
from backends.cms.app import create_app as create_cms
from backends.common.metrics import UNMATCHED, status_class
from backends.pricing.app import create_app as create_pricing
from cache.invalidation.service import create_app as create_invalidator
from stack.settings import Settings
from tests.asgi import client_for, running
from tests.conftest import ADMIN
from tests.prometheus import Series, label_values, parse, value

HTTP = "http_server_request_duration_seconds_count"


@pytest.fixture
def database_url() -> str:
    return ""  # metrics do not depend on the database: SQLite only


def _apps(settings: Settings) -> dict[str, Litestar]:
    return {
        "catalog": create_catalog(dataclasses.replace(settings.catalog, checkout_url="")),
        "pricing": create_pricing(settings.pricing),
        "cms": create_cms(dataclasses.replace(settings.cms, webhook_url="")),
        "checkout": create_checkout(settings.checkout),
        "invalidator": create_invalidator(dataclasses.replace(settings.invalidator, outboxes={})),
    }


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[dict[str, tuple[Litestar, httpx.AsyncClient]]]:
    apps = _apps(settings)
    async with (
        running(apps["catalog"]),
        running(apps["pricing"]),
        running(apps["cms"]),
        running(apps["checkout"]),
        running(apps["invalidator"]),
    ):
        clients = {name: (app, client_for(app)) for name, app in apps.items()}
        try:
            yield clients
        finally:
            for _, client in clients.values():
                await client.aclose()


async def scrape(client: httpx.AsyncClient) -> Series:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert response.headers["cache-control"] == "no-store"
    return parse(response.text)


def templates(app: Litestar) -> set[str]:
    """Every route template of the app as the metrics spell it (`/products/{ref}`)."""
    return {app.state.metrics.route({"path_template": route.path}) for route in app.routes}


async def test_requests_are_filed_by_route_template_method_and_status_class(
    services: dict[str, tuple[Litestar, httpx.AsyncClient]],
) -> None:
    _, catalog = services["catalog"]
    assert (await catalog.get("/products?region=us")).status_code == 200
    for slug in ("no-such-thing", "another-one"):
        assert (await catalog.get(f"/products/{slug}?region=us")).status_code == 404
    assert (await catalog.get("/definitely/not/a/route")).status_code == 404
    assert (await catalog.delete("/healthz")).status_code == 405
    series = await scrape(catalog)
    assert value(series, HTTP, method="GET", route="/products", status_class="2xx") == 1
    detail = [labels for (name, labels) in series if name == HTTP and ("status_class", "4xx") in labels]
    routes = {dict(labels)["route"] for labels in detail}
    assert routes == {"/products/{ref}", UNMATCHED}, routes  # the slugs and the junk path are nowhere
    assert value(series, HTTP, method="GET", route="/products/{ref}", status_class="4xx") == 2
    assert value(series, HTTP, method="DELETE", route=UNMATCHED, status_class="4xx") == 1
    assert value(series, "http_server_active_requests") == 1  # the scrape itself


async def test_each_app_counts_only_its_own_requests(settings: Settings) -> None:
    first, second = create_pricing(settings.pricing), create_pricing(settings.pricing)
    async with running(first), running(second), client_for(first) as a, client_for(second) as b:
        for _ in range(3):
            await a.get("/healthz")
        await b.get("/healthz")
        assert value(await scrape(a), HTTP, method="GET", route="/healthz", status_class="2xx") == 3
        assert value(await scrape(b), HTTP, method="GET", route="/healthz", status_class="2xx") == 1


async def test_the_outbox_head_follows_commits(seeded: Settings) -> None:
    app = create_pricing(seeded.pricing)
    async with running(app), client_for(app) as pricing:
        before = value(await scrape(pricing), "storefront_outbox_head_sequence", source="pricing")
        written = await pricing.put("/admin/prices/us/SKU-00001-1", json={"list": "12.34"}, headers=ADMIN)
        assert written.status_code == 200, written.text
        after = value(await scrape(pricing), "storefront_outbox_head_sequence", source="pricing")
    assert after == before + 1


SHAPES = (
    "/{junk}",
    "/products/{junk}?region=us&{query}",
    "/products/SKU-{n}?region={short}",
    "/prices?region=us&skus=SKU-{n}-1&{query}",
    "/carts/{junk}",
    "/admin/purges/{junk}",
    "/delivery/entries?locale=en-US&type={junk}",
    "/{junk}/{junk}?{query}",
)
METHODS = ("GET", "HEAD", "POST", "DELETE", "PATCH", "PROPFIND")


def _fill(shape: str, rng: random.Random) -> str:
    junk = "".join(rng.choices(string.ascii_letters + string.digits + "-_.~", k=rng.randint(8, 30)))
    query = "&".join(f"{rng.choice(string.ascii_lowercase)}{rng.randint(0, 9999)}={rng.random()}" for _ in range(3))
    return shape.format(junk=junk, query=query, n=rng.randint(0, 10**9), short=junk[:5])


async def _drive(clients: dict[str, tuple[Litestar, httpx.AsyncClient]], rng: random.Random, rounds: int) -> None:
    """Every request shape with every method, `rounds` times, each time with new random paths and values."""
    for _ in range(rounds):
        for method in METHODS:
            for shape in SHAPES:
                for _, client in clients.values():
                    response = await client.request(method, _fill(shape, rng))
                    assert response.status_code < 500, response.text


async def test_hostile_traffic_keeps_every_label_bounded(
    services: dict[str, tuple[Litestar, httpx.AsyncClient]],
) -> None:
    """Random paths, SKUs, query strings and methods: every label value comes from a fixed set (the app's route
    templates, status classes, known methods), and ten times the distinct paths add not one series."""
    rng = random.Random(15)
    await _drive(services, rng, 1)
    for _, client in services.values():
        await scrape(client)  # the scrape's own series exist from here on
    before = {name: set(await scrape(client)) for name, (_, client) in services.items()}
    await _drive(services, rng, 10)
    for name, (app, client) in services.items():
        series = await scrape(client)
        assert label_values(series, "route") <= templates(app) | {UNMATCHED}, name
        assert label_values(series, "status_class") <= {status_class(s) for s in range(100, 600)}, name
        assert label_values(series, "method") <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"}
        assert label_values(series, "source") <= {"catalog", "pricing", "cms", "checkout"}
        assert set(series) == before[name], (name, set(series) ^ before[name])

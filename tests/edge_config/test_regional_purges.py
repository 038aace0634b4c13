"""Three real Varnish edges, one per region, kept fresh by the invalidator from the backends' outboxes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge_config import load_regions
from edge_config.ports import free_port
from edge_config.varnish import Varnish
from stack.processes import stop
from tests.storefront.conftest import Stack

ADMIN = {"Authorization": "Bearer edge-admin"}
EDITOR = {"Authorization": "Bearer edge-editor"}
SERVICES = ("catalog", "pricing", "cms", "checkout", "origin", "invalidator")


@dataclass
class EdgeStack(Stack):
    """The services as `tests/storefront` runs them, plus one real Varnish per region in front."""

    edges: dict[str, Varnish] = field(default_factory=dict)

    def page(self, region: str, path: str) -> httpx.Response:
        return httpx.get(f"{self.edges[region].url}{path}", timeout=10)


@pytest.fixture(scope="module", params=["database", "redis"])
def edge_stack(
    request: pytest.FixtureRequest, varnishd: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EdgeStack]:
    """Everything once with the purge log in the database, once in Redis Streams."""
    data = Path(tmp_path_factory.mktemp("edges"))
    ports = {name: free_port() for name in SERVICES}
    edge_ports = {code: free_port() for code in ("us", "eu", "apac")}
    regions_file = data / "regions.toml"
    source = (Path(__file__).resolve().parents[2] / "edge_config" / "regions.toml").read_text()
    for code, default in (("us", 8081), ("eu", 8082), ("apac", 8083)):
        source = source.replace(f"http://127.0.0.1:{default}", f"http://127.0.0.1:{edge_ports[code]}")
    regions_file.write_text(source)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOREFRONT_")}
    env |= {
        "STOREFRONT_DATA_DIR": str(data / "var"),
        "STOREFRONT_REGIONS_FILE": str(regions_file),
        "STOREFRONT_ADMIN_TOKEN": "edge-admin",
        "STOREFRONT_EDITOR_TOKEN": "edge-editor",
        "STOREFRONT_PAGE_CACHE": "off",
        "STOREFRONT_EDGE": "varnish",
        "STOREFRONT_CMS_CACHE_TTL": "0",
        "STOREFRONT_PURGE_FOLLOWUP_DELAY": "0.5",
        **{f"STOREFRONT_{name.upper()}_URL": f"http://127.0.0.1:{port}" for name, port in ports.items()},
    }
    if request.param == "redis":
        env["STOREFRONT_REDIS_URL"] = request.getfixturevalue("redis_url")
    subprocess.run(
        [sys.executable, "-m", "storefront", "seed", "--products", "40"], env=env, check=True, stdout=subprocess.DEVNULL
    )
    catalogue = load_regions(regions_file)
    edges = {
        code: Varnish(
            region=catalogue.get(code),
            url=f"http://127.0.0.1:{port}",  # type: ignore[arg-type]
            origin_url=f"http://127.0.0.1:{ports['origin']}",
        )
        for code, port in edge_ports.items()
    }
    stack = EdgeStack(env=env, ports=ports, edges=edges)
    try:
        for name in SERVICES:
            stack.start(name)
        for varnish in edges.values():
            varnish.start()
        yield stack
    finally:
        for varnish in edges.values():
            varnish.stop()
        stop(list(stack.processes.values()))


def eventually(check: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def product(stack: EdgeStack, category: str) -> dict[str, Any]:
    params = {"region": "eu", "category": category, "page_size": 1}
    return httpx.get(f"{stack.url('catalog')}/products", params=params).json()["items"][0]


def test_a_page_is_a_miss_then_a_hit(edge_stack: EdgeStack) -> None:
    first, second = edge_stack.page("us", "/us/en/"), edge_stack.page("us", "/us/en/")
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("MISS", "HIT")
    assert "xkey" not in second.headers and second.headers["x-edge-region"] == "us"


def test_brotli_and_images_come_from_the_edge(edge_stack: EdgeStack) -> None:
    """Brotli reaches browsers through the edge, cached per encoding; image variants are edge hits; HEAD works."""
    edge = edge_stack.edges["us"].url
    page = "/us/en/c/boots"
    by_encoding = {}
    for accept, expected in (("gzip, deflate, br, zstd", "br"), ("gzip, deflate", "gzip"), ("br;q=1.0", "br")):
        first = httpx.get(f"{edge}{page}", headers={"Accept-Encoding": accept}, timeout=10)
        again = httpx.get(f"{edge}{page}", headers={"Accept-Encoding": accept}, timeout=10)
        assert first.headers["content-encoding"] == again.headers["content-encoding"] == expected, accept
        assert again.headers["x-cache"] == "HIT" and "<h1" in again.text  # httpx decoded it: it is real brotli
        by_encoding[expected] = again.text
    assert by_encoding["br"] == by_encoding["gzip"]
    plain = httpx.get(f"{edge}{page}", headers={"Accept-Encoding": "identity"}, timeout=10)
    assert "content-encoding" not in plain.headers and plain.text == by_encoding["br"]

    image = product(edge_stack, "boots")["image"]
    variant = f"{edge}/img/{image['hash']}/320.webp"
    first, again = httpx.get(variant, timeout=10), httpx.get(variant, timeout=10)
    assert first.status_code == again.status_code == 200 and again.headers["x-cache"] == "HIT"
    assert "immutable" in again.headers["cache-control"]
    assert parsedate_to_datetime(first.headers["last-modified"]) <= parsedate_to_datetime(first.headers["date"])
    for url in (variant, f"{edge}{page}"):
        head = httpx.head(url, timeout=10)
        assert head.status_code == 200 and head.content == b"", url


def test_an_eu_price_change_refreshes_eu_only(edge_stack: EdgeStack) -> None:
    item = product(edge_stack, "jackets")
    paths = {"us": f"/us/en/p/{item['slug']}", "eu": f"/eu/de/p/{item['slug']}", "apac": f"/apac/en/p/{item['slug']}"}
    for region, path in paths.items():
        edge_stack.page(region, path)
        assert edge_stack.page(region, path).headers["x-cache"] == "HIT"
    changed = httpx.put(
        f"{edge_stack.url('pricing')}/admin/prices/eu/{item['skus'][0]}", json={"list": "4321.00"}, headers=ADMIN
    )
    assert changed.status_code == 200
    assert eventually(lambda: "4.321,00" in edge_stack.page("eu", paths["eu"]).text)
    assert edge_stack.page("us", paths["us"]).headers["x-cache"] == "HIT"
    assert edge_stack.page("apac", paths["apac"]).headers["x-cache"] == "HIT"


def test_a_global_navigation_change_refreshes_every_region(edge_stack: EdgeStack) -> None:
    paths = {"us": "/us/en/pages/about", "eu": "/eu/de/pages/about", "apac": "/apac/en/pages/about"}
    for region, path in paths.items():
        edge_stack.page(region, path)
    nav = httpx.get(f"{edge_stack.url('cms')}/delivery/entries/navigation/main", params={"locale": "en-US"}).json()
    entry = httpx.get(f"{edge_stack.url('cms')}/editor/entries/{nav['id']}", headers=EDITOR).json()
    fields = {
        loc: {"items": [*f["items"], {"label": "Gift cards", "href": "/pages/gifts"}]}
        for loc, f in entry["fields"].items()
    }
    saved = httpx.put(
        f"{edge_stack.url('cms')}/editor/entries/{nav['id']}",
        json={"fields": fields, "base_version": entry["latest_version"]},
        headers=EDITOR,
    )
    assert saved.status_code == 200
    httpx.post(f"{edge_stack.url('cms')}/editor/entries/{nav['id']}/publish", json={}, headers=EDITOR)
    for region, path in paths.items():
        assert eventually(lambda r=region, p=path: "Gift cards" in edge_stack.page(r, p).text), region


def test_a_purger_that_was_down_replays_what_it_missed(edge_stack: EdgeStack) -> None:
    item = product(edge_stack, "boots")
    path = f"/apac/en/p/{item['slug']}"
    edge_stack.page("apac", path)
    edge_stack.stop("invalidator")
    try:
        for sku in item["skus"]:
            response = httpx.put(
                f"{edge_stack.url('checkout')}/admin/stock/apac/{sku}", json={"on_hand": 0}, headers=ADMIN
            )
            assert response.status_code == 200
        assert edge_stack.page("apac", path).headers["x-cache"] == "HIT"  # nobody purged yet
    finally:
        edge_stack.start("invalidator")
    assert eventually(lambda: "Sold out" in edge_stack.page("apac", path).text)


def test_purge_api_receipts_and_refusals(edge_stack: EdgeStack) -> None:
    api = f"{edge_stack.url('invalidator')}/admin/purges"
    assert httpx.post(api, json={"keys": ["nav"], "regions": "all"}).status_code == 401
    for body in (
        {"keys": ["nav"], "regions": ["mars"]},
        {"keys": ["bad key"], "regions": "all"},
        {"keys": [f"k{i}" for i in range(300)], "regions": "all"},
        {"regions": "all"},
        {"keys": "nav"},
    ):
        assert httpx.post(api, json=body, headers=ADMIN).status_code == 422, body
    created = httpx.post(api, json={"keys": ["nav"], "regions": ["eu", "us"]}, headers=ADMIN)
    assert created.status_code == 202
    receipt_url = f"{edge_stack.url('invalidator')}{created.json()['receipt']}"
    assert eventually(lambda: httpx.get(receipt_url, headers=ADMIN).json()["complete"])
    receipt = httpx.get(receipt_url, headers=ADMIN).json()
    assert set(receipt["regions"]) == {"eu", "us"}
    assert all(r["acknowledged_at"] for r in receipt["regions"].values())
    checked = httpx.get(receipt_url, params={"check": "/eu/de/pages/about"}, headers=ADMIN, timeout=20).json()
    for region in checked["regions"].values():
        for edge in region["edges"]:
            assert edge["check"]["confirmed"] is True, edge
            assert edge["check"]["status"] == 200
    assert httpx.get(receipt_url, params={"check": "no-slash"}, headers=ADMIN).status_code == 422


def test_the_publish_webhook_is_signed_and_refuses_replays(edge_stack: EdgeStack) -> None:
    from backends.common.webhooks import sign

    hook = f"{edge_stack.url('invalidator')}/hooks/cms"
    body = b'{"source": "cms", "entry_id": 1}'
    assert httpx.post(hook, content=body).status_code == 401
    forged = sign("not-the-secret", body)
    assert httpx.post(hook, content=body, headers={"X-Signature": forged}).status_code == 401
    secret = "dev-webhook-secret"  # the stack runs with the development default
    genuine = sign(secret, body)
    assert httpx.post(hook, content=body, headers={"X-Signature": genuine}).status_code == 202
    assert httpx.post(hook, content=body, headers={"X-Signature": genuine}).status_code == 409


def test_varnish_edges_get_each_purge_once(edge_stack: EdgeStack) -> None:
    """The VCL stores nothing fetched before the last purge, so Varnish gets no second, delayed delivery."""
    import asyncio

    import redis
    from sqlalchemy import select

    from backends.common import Database
    from cache.invalidation.log import PurgeDelivery

    api = f"{edge_stack.url('invalidator')}/admin/purges"
    purge_id = httpx.post(api, json={"keys": ["page:home"], "regions": ["us"]}, headers=ADMIN).json()["id"]
    redis_url = edge_stack.env.get("STOREFRONT_REDIS_URL")
    if redis_url:  # a follow-up would wait in the delayed set for STOREFRONT_PURGE_FOLLOWUP_DELAY (0.5 s)
        delayed = redis.Redis.from_url(redis_url).zrange("storefront:delayed", 0, -1)
        assert not [item for item in delayed if purge_id.encode() in item]

    async def deliveries() -> list[tuple[str, bool]]:
        db = Database.connect(f"sqlite+aiosqlite:///{edge_stack.env['STOREFRONT_DATA_DIR']}/purges.db")
        try:
            async with db.sessionmaker() as session:
                rows = await session.scalars(select(PurgeDelivery).where(PurgeDelivery.purge_id == purge_id))
                return [(d.edge, d.followup) for d in rows.all()]
        finally:
            await db.dispose()

    if not redis_url:
        assert asyncio.run(deliveries()) == [(f"varnish:{edge_stack.edges['us'].url}", False)]
    receipt_url = f"{edge_stack.url('invalidator')}/admin/purges/{purge_id}"
    assert eventually(lambda: httpx.get(receipt_url, headers=ADMIN).json()["complete"])


def test_one_shopper_never_sees_another_shoppers_cart(edge_stack: EdgeStack) -> None:
    """Two shoppers through the same real Varnish: carts, fragments and checkout stay private; the product
    page they both see is one cached copy with no cookie in it."""
    item = product(edge_stack, "boots")
    sku = item["skus"][0]
    restock = httpx.put(f"{edge_stack.url('checkout')}/admin/stock/us/{sku}", json={"on_hand": 30}, headers=ADMIN)
    assert restock.status_code == 200
    edge = edge_stack.edges["us"].url
    alice = httpx.Client(base_url=edge, timeout=10)
    bob = httpx.Client(base_url=edge, timeout=10)
    token = alice.get("/fragments/cart", params={"region": "us"}).json()["csrf"]
    added = alice.post("/us/en/cart", data={"sku": sku, "quantity": "4", "csrf": token}, follow_redirects=False)
    assert added.status_code == 303 and "sf_cart_us" in alice.cookies
    mine = alice.get("/us/en/cart")
    assert mine.headers["cache-control"] == "private, no-store" and 'value="4"' in mine.text
    assert alice.get("/fragments/cart", params={"region": "us"}).json()["count"] == 4
    for _ in range(2):  # twice: a stored copy would show on the second request
        theirs = bob.get("/us/en/cart")
        assert "Your cart is empty" in theirs.text and 'value="4"' not in theirs.text
        assert theirs.headers["x-cache"] != "HIT"
        assert bob.get("/fragments/cart", params={"region": "us"}).json()["count"] == 0
        assert bob.get("/us/en/checkout", follow_redirects=False).headers["location"] == "/us/en/cart"
    path = f"/us/en/p/{item['slug']}"
    seen_by_alice = alice.get(path)
    seen_by_bob = bob.get(path)
    assert "set-cookie" not in seen_by_alice.headers and "set-cookie" not in seen_by_bob.headers
    assert seen_by_bob.headers["x-cache"] == "HIT" and seen_by_bob.text == seen_by_alice.text

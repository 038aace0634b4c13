"""End to end: `storefront up --profile production` runs PostgreSQL-backed services with two workers each, its own
Redis and two Varnish nodes per region; purges reach every node, carts stay private, checkout works on any node."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import redis

from edge_config.ports import free_node_port, free_port
from stack.processes import SERVICES
from stack.profiles import PRODUCTION_DEFAULTS, ProfileUnavailable, apply_production_defaults, ensure_database
from tests.backends.checkout.conftest import US_ADDRESS as ADDRESS
from tests.conftest import _pg_admin
from tests.edge_config.conftest import varnishd  # noqa: F401 - the fixture
from tests.stack.test_cli_up import _wait_for

ROOT = Path(__file__).resolve().parents[2]
ADMIN = {"Authorization": "Bearer profile-admin-token-0123"}
CARD = {"number": "4242 4242 4242 4242", "exp_month": "12", "exp_year": "2099", "cvc": "123"}
REGIONS = ("us", "eu", "apac")


def test_the_profile_fills_in_only_what_the_operator_left_unset() -> None:
    env = {"STOREFRONT_WORKERS": "4"}
    apply_production_defaults(env)
    assert env["STOREFRONT_WORKERS"] == "4" and env["STOREFRONT_EDGE_NODES"] == "2"
    assert env["STOREFRONT_INVALIDATOR_DATABASE_URL"] == env["STOREFRONT_DATABASE_URL"]
    assert env["STOREFRONT_DATABASE_URL"] == PRODUCTION_DEFAULTS["STOREFRONT_DATABASE_URL"]


def test_the_profile_refuses_sqlite() -> None:
    with pytest.raises(ProfileUnavailable, match="PostgreSQL"):
        ensure_database("sqlite+aiosqlite:///shop.db")


def _eventually(check: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not true within {timeout} s"
        time.sleep(0.1)


@dataclass
class Production:
    process: subprocess.Popen[str]
    env: dict[str, str]
    urls: dict[str, str]  # service -> URL
    nodes: dict[str, list[str]]  # region -> its nodes' URLs
    redis_url: str

    def node(self, region: str, index: int) -> httpx.Client:
        return httpx.Client(base_url=self.nodes[region][index], timeout=20, follow_redirects=False)


@pytest.fixture(scope="module")
def production(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_server: str,
    varnishd: str,  # noqa: F811
) -> Iterator[Production]:
    if shutil.which("redis-server") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is required under CI=true (apt-get install redis-server)")
        pytest.skip("redis-server is not installed")
    data = tmp_path_factory.mktemp("production")
    database = f"storefront_profile_{uuid.uuid4().hex[:12]}"  # made by the profile itself
    base = postgres_server.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    ports = {name: free_port() for name in SERVICES}
    edge_ports = {code: free_node_port(2) for code in REGIONS}
    regions = (ROOT / "edge_config" / "regions.toml").read_text()
    for code, default in zip(REGIONS, (8081, 8082, 8083), strict=True):
        regions = regions.replace(f"http://127.0.0.1:{default}", f"http://127.0.0.1:{edge_ports[code]}")
    (data / "regions.toml").write_text(regions)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOREFRONT_")}
    env |= {
        "STOREFRONT_DATA_DIR": str(data / "var"),
        "STOREFRONT_REGIONS_FILE": str(data / "regions.toml"),
        "STOREFRONT_DATABASE_URL": f"{base}/{database}",
        "STOREFRONT_ADMIN_TOKEN": ADMIN["Authorization"].removeprefix("Bearer "),
        "STOREFRONT_EDITOR_TOKEN": "profile-editor-token-0123",
        "STOREFRONT_VARNISH_EXPORTER_PORT": str(free_port()),
        **{f"STOREFRONT_{name.upper()}_URL": f"http://127.0.0.1:{port}" for name, port in ports.items()},
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "storefront", "up", "--profile", "production", "--products", "30", "--seed", "5"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        printed = _wait_for(process, "Press Ctrl-C to stop.", timeout=240)
        redis_url = re.search(r"redis\s+(redis://\S+)", printed).group(1)  # type: ignore[union-attr]
        yield Production(
            process,
            env | {"STOREFRONT_DATABASE_URL": f"{base}/{database}"},
            {name: f"http://127.0.0.1:{port}" for name, port in ports.items()},
            {code: [f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 100}"] for code, port in edge_ports.items()},
            redis_url,
        )
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


def test_every_service_runs_two_workers_on_postgresql_with_the_purge_log_in_redis(production: Production) -> None:
    children = psutil.Process(production.process.pid).children()
    serving = {c.cmdline()[c.cmdline().index("serve") + 1]: c for c in children if "serve" in c.cmdline()}
    assert set(serving) == set(SERVICES)
    for name, service in serving.items():
        workers = [w for w in service.children() if w.status() != psutil.STATUS_ZOMBIE]
        assert len(workers) == (0 if name == "invalidator" else 2), name  # the invalidator is one process: it leads
    assert not list(Path(production.env["STOREFRONT_DATA_DIR"]).glob("*.db"))  # nothing on SQLite
    purge = httpx.post(
        f"{production.urls['invalidator']}/admin/purges", json={"keys": ["page:home"], "regions": ["us"]}, headers=ADMIN
    )
    assert purge.status_code == 202
    assert redis.Redis.from_url(production.redis_url).keys("storefront:*")  # the purge log is the profile's Redis


def _receipt(production: Production, purge_id: str) -> dict[str, Any]:
    response = httpx.get(f"{production.urls['invalidator']}/admin/purges/{purge_id}", headers=ADMIN, timeout=10)
    return response.json()


def test_a_price_change_reaches_both_nodes_of_its_region_with_a_receipt_per_node(production: Production) -> None:
    item = httpx.get(f"{production.urls['catalog']}/products", params={"region": "eu", "page_size": 1}).json()
    slug, sku = item["items"][0]["slug"], item["items"][0]["skus"][0]
    path = f"/eu/de/p/{slug}"
    for index in (0, 1):
        with production.node("eu", index) as node:
            node.get(path)
            assert node.get(path).headers["x-cache"] == "HIT"
    changed = httpx.put(f"{production.urls['pricing']}/admin/prices/eu/{sku}", json={"list": "4321.00"}, headers=ADMIN)
    assert changed.status_code == 200
    for index in (0, 1):
        with production.node("eu", index) as node:
            _eventually(lambda node=node: "4.321,00" in node.get(path).text)  # type: ignore[misc]
    with production.node("us", 1) as other_region:
        other_region.get(f"/us/en/p/{slug}")
        assert other_region.get(f"/us/en/p/{slug}").headers["x-cache"] == "HIT"

    purge = httpx.post(
        f"{production.urls['invalidator']}/admin/purges",
        json={"keys": [f"product:{slug}"], "regions": ["eu"]},
        headers=ADMIN,
    )
    purge_id = purge.json()["id"]
    _eventually(lambda: _receipt(production, purge_id)["complete"])
    edges = _receipt(production, purge_id)["regions"]["eu"]["edges"]
    assert sorted(edge["edge"] for edge in edges) == sorted(f"varnish:{url}" for url in production.nodes["eu"])
    assert all(edge["acknowledged_at"] for edge in edges)


class _Shopper:
    """A browser without scripts whose requests alternate between a region's two nodes, as behind a load balancer
    (cookies ignore ports, so one jar serves both)."""

    def __init__(self, production: Production) -> None:
        self.nodes = production.nodes["us"]
        self.http = httpx.Client(timeout=20, follow_redirects=False)
        self.turn = 0
        self.csrf = ""

    def _url(self, path: str) -> str:
        self.turn += 1
        return f"{self.nodes[self.turn % 2]}{path}"

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        response = self.http.get(self._url(path), **kwargs)
        if found := re.search(r'name="csrf" value="([0-9a-f]+)"', response.text):
            self.csrf = found.group(1)
        return response

    def post(self, path: str, data: dict[str, str]) -> httpx.Response:
        return self.http.post(self._url(path), data={"csrf": self.csrf, **data})


def test_checkout_across_both_nodes_and_no_shopper_sees_another_cart(production: Production) -> None:
    item = httpx.get(f"{production.urls['catalog']}/products", params={"region": "us", "page_size": 3}).json()
    slug, sku = item["items"][2]["slug"], item["items"][2]["skus"][0]
    stock = httpx.put(f"{production.urls['checkout']}/admin/stock/us/{sku}", json={"on_hand": 20}, headers=ADMIN)
    assert stock.status_code == 200
    alice = _Shopper(production)
    alice.csrf = alice.get("/fragments/cart", params={"region": "us"}).json()["csrf"]
    assert alice.post("/us/en/cart", {"sku": sku, "quantity": "3"}).status_code == 303
    for index in (0, 1):  # another shopper, on either node, twice: a stored copy would show the second time
        with production.node("us", index) as bob:
            for _ in range(2):
                theirs = bob.get("/us/en/cart")
                assert "Your cart is empty" in theirs.text and 'value="3"' not in theirs.text
                assert theirs.headers["cache-control"] == "private, no-store"
    page = alice.get(f"/us/en/p/{slug}")
    assert "set-cookie" not in page.headers

    alice.get("/us/en/checkout")
    assert alice.post("/us/en/checkout", {"step": "contact", "email": "ada@example.com"}).status_code == 303
    alice.get("/us/en/checkout")
    assert alice.post("/us/en/checkout", {"step": "address", **ADDRESS}).status_code == 303
    alice.get("/us/en/checkout")
    assert alice.post("/us/en/checkout", {"step": "shipping", "method": "standard"}).status_code == 303
    page = alice.get("/us/en/checkout")
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    total = re.search(r'name="expected_total" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    placed = alice.post("/us/en/checkout", {"step": "place", "idempotency_key": key, "expected_total": total, **CARD})
    assert placed.status_code == 303, placed.text
    again = alice.post("/us/en/checkout", {"step": "place", "idempotency_key": key, "expected_total": total, **CARD})
    assert again.headers["location"] == placed.headers["location"]  # a double submit, on the other node
    assert "Thank you" in alice.get(placed.headers["location"]).text
    assert asyncio.run(_orders_on_postgresql(production)) == 1


async def _orders_on_postgresql(production: Production) -> int:
    from sqlalchemy import func, select

    from backends.checkout.models import Order
    from backends.common import Database
    from stack.settings import Settings

    db = Database.connect(Settings.from_env(production.env).checkout.database_url)
    try:
        async with db.sessionmaker() as session:
            return int(await session.scalar(select(func.count()).select_from(Order)) or 0)
    finally:
        await db.dispose()

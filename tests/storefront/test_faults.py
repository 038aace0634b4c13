"""The fault suite: `storefront up --edge varnish` as an operator runs it, with upstreams hung and killed,
bursts of uncached traffic and cache-busting URLs. Every case is bounded in time and waits for events.

The stack runs with a 2 s page TTL and 2 s of edge grace, so "well past the grace" takes seconds, not minutes.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psutil
import pytest

from edge_config.ports import free_port
from stack.processes import SERVICES
from tests.prometheus import parse, value

ROOT = Path(__file__).resolve().parents[2]
ADMIN = {"Authorization": "Bearer e2e-admin"}
TTL, GRACE = 2, 2
OUTAGE = 3 * (TTL + GRACE)  # how long each fault lasts: three times past every copy's TTL and grace
DEADLINE = 90.0


@dataclass
class Shop:
    process: subprocess.Popen[bytes]
    ports: dict[str, int]
    edges: dict[str, str]
    exporter: str = ""  # the Varnish exporter's scrape URL

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def child(self, service: str) -> psutil.Process:
        """The live process serving `service` (a new one after a restart)."""
        for child in psutil.Process(self.process.pid).children(recursive=True):
            try:
                if child.cmdline()[-2:] == ["serve", service]:
                    return child
            except psutil.NoSuchProcess:
                continue
        raise LookupError(service)

    def renders(self) -> int:
        counters = httpx.get(f"{self.url('origin')}/internal/metrics", headers=ADMIN, timeout=10).json()["counters"]
        return int(counters.get("renders", 0))


def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while True:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"not reached within {DEADLINE:.0f}s: {what}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def varnish_installed() -> None:
    if not shutil.which("varnishd") or not Path("/usr/lib/x86_64-linux-gnu/varnish/vmods/libvmod_xkey.so").exists():
        if os.environ.get("CI") == "true":
            pytest.fail("varnish and varnish-modules are required under CI=true")
        pytest.skip("varnish or varnish-modules is not installed")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, varnish_installed: None) -> Iterator[Shop]:
    data = tmp_path_factory.mktemp("faults")
    ports = {name: free_port() for name in SERVICES}
    edges = {code: free_port() for code in ("us", "eu", "apac")}
    exporter = free_port()
    regions = (ROOT / "edge_config" / "regions.toml").read_text()
    for code, default in (("us", 8081), ("eu", 8082), ("apac", 8083)):
        regions = regions.replace(f"http://127.0.0.1:{default}", f"http://127.0.0.1:{edges[code]}")
    (data / "regions.toml").write_text(regions)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOREFRONT_")}
    env |= {
        "STOREFRONT_DATA_DIR": str(data / "var"),
        "STOREFRONT_REGIONS_FILE": str(data / "regions.toml"),
        "STOREFRONT_ADMIN_TOKEN": "e2e-admin",
        "STOREFRONT_EDITOR_TOKEN": "e2e-editor",
        "STOREFRONT_PAGE_TTL": str(TTL),
        "STOREFRONT_EDGE_GRACE": str(GRACE),
        "STOREFRONT_VARNISH_EXPORTER_PORT": str(exporter),
        **{f"STOREFRONT_{name.upper()}_URL": f"http://127.0.0.1:{port}" for name, port in ports.items()},
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "storefront", "up", "--edge", "varnish", "--products", "60", "--seed", "9"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    running = Shop(
        process,
        ports,
        {code: f"http://127.0.0.1:{port}" for code, port in edges.items()},
        f"http://127.0.0.1:{exporter}/metrics",
    )
    try:
        eventually(lambda: all(_up(f"{url}/us/en/") for url in running.edges.values()), "every edge serves the shop")
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _up(url: str) -> bool:
    return httpx.get(url, timeout=5).status_code == 200


def _slugs(shop: Shop, count: int) -> list[str]:
    params = {"region": "us", "page_size": count}
    return [item["slug"] for item in httpx.get(f"{shop.url('catalog')}/products", params=params).json()["items"]]


PAGES = ("/{r}/{l}/", "/{r}/{l}/c/bags", "/{r}/{l}/p/{slug}", "/{r}/{l}/pages/about", "/{r}/{l}/search?q=wool")
LOCALES = {"us": "en", "eu": "de", "apac": "en"}


def _warm(shop: Shop, slug: str) -> list[str]:
    """Every page kind through every edge, once the origin renders it complete (edges strip the header that
    says a page is degraded, so completeness is read at the origin, whose page cache is off here)."""
    urls = []
    for code, edge in shop.edges.items():
        for page in PAGES:
            path = page.format(r=code, l=LOCALES[code], slug=slug)
            eventually(lambda path=path: _complete(shop, path), f"a complete render of {path}")
            eventually(lambda url=edge + path: httpx.get(url, timeout=10).status_code == 200, f"{edge}{path}")
            urls.append(edge + path)
    return urls


def _complete(shop: Shop, path: str) -> bool:
    response = httpx.get(f"{shop.url('origin')}{path}", timeout=10)
    return response.status_code == 200 and "storefront-degraded" not in response.headers


@pytest.mark.parametrize("service", ["catalog", "pricing", "cms"])
@pytest.mark.parametrize("fault", ["hang", "kill"])
def test_cached_pages_outlive_a_failed_upstream_and_the_shop_heals(shop: Shop, service: str, fault: str) -> None:
    slugs = _slugs(shop, 40)
    warmed = _warm(shop, slugs[0])
    victim = shop.child(service)
    victim.send_signal(signal.SIGSTOP if fault == "hang" else signal.SIGKILL)
    try:
        ends = time.monotonic() + OUTAGE
        while time.monotonic() < ends:
            for url in warmed:
                response = httpx.get(url, timeout=30)
                assert response.status_code == 200, (url, response.status_code)
            # A page that needs nothing from the failed service still renders fresh, even uncached.
            if service != "cms":
                about = f"{shop.edges['eu']}/eu/en/pages/about"  # never warmed: rendered every TTL meanwhile
                assert httpx.get(about, timeout=30).status_code == 200
            if service == "cms":
                product = f"{shop.edges['us']}/us/en/p/{random.choice(slugs[1:])}"
                assert httpx.get(product, timeout=30).status_code == 200  # CMS blocks are optional
    finally:
        if fault == "hang":
            victim.send_signal(signal.SIGCONT)
    if fault == "kill":
        eventually(lambda: shop.child(service).pid != victim.pid, f"the supervisor restarts {service}")
    eventually(lambda: _up(f"{shop.url(service)}/healthz"), f"{service} answers again")
    # Healed: a page never cached anywhere renders complete, and the edge serves it.
    eventually(lambda: _complete(shop, f"/us/en/p/{slugs[-1]}"), "a complete render after recovery")
    assert httpx.get(f"{shop.edges['us']}/us/en/p/{slugs[-1]}", timeout=10).status_code == 200


async def _burst(urls: list[str]) -> list[httpx.Response | BaseException]:
    limits = httpx.Limits(max_connections=len(urls), max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        return await asyncio.gather(*(client.get(url) for url in urls), return_exceptions=True)


def test_a_burst_through_the_edge_and_at_the_origin_leaves_the_origin_serving(shop: Shop) -> None:
    slugs = _slugs(shop, 60)
    urls = [f"{shop.edges[code]}/{code}/{LOCALES[code]}/p/{slug}" for code in shop.edges for slug in slugs]
    urls += [f"{shop.url('origin')}/us/en/p/{slug}" for slug in slugs]
    assert len(urls) >= 200
    for response in asyncio.run(_burst(urls)):
        assert isinstance(response, httpx.Response), response
        assert response.status_code in (200, 503), response.status_code
        if response.status_code == 503:
            assert "no-store" in response.headers["cache-control"]
    for slug in slugs[:10]:
        assert httpx.get(f"{shop.url('origin')}/eu/de/p/{slug}", timeout=30).status_code == 200


def test_tracking_parameters_and_path_spellings_never_bust_the_edge(shop: Shop) -> None:
    slugs = _slugs(shop, 5)
    edge = shop.edges["us"]
    canonical = ["/us/en/", "/us/en/c/bags", "/us/en/search?q=wool"] + [f"/us/en/p/{slug}" for slug in slugs]
    for path in canonical:
        eventually(lambda path=path: _complete(shop, path), f"{path} renders complete")
        eventually(lambda path=path: httpx.get(edge + path, timeout=10).status_code == 200, f"{path} at the edge")
    before, started = shop.renders(), time.monotonic()
    rng = random.Random(3)
    with httpx.Client(timeout=30) as client:
        for _ in range(1000):
            path = rng.choice(canonical)
            base, _, query = path.partition("?")
            spelled = rng.choice(
                [base, "/" + base, base.replace("/us/en/", "/us//en/"), base + "/" * (base[-1] != "/")]
            )
            tracking = f"utm_source=mail&utm_campaign={rng.randrange(1 << 30)}&gclid={rng.randrange(1 << 30)}"
            params = "&".join(p for p in (tracking, query) if p)
            response = client.get(f"{edge}{spelled}?{params}")
            assert response.status_code == 200, (spelled, response.status_code)
    # TTLs are 2 s here, so each page is re-rendered once per TTL while the run lasts; without normalisation
    # every one of the 1,000 requests would be a render.
    bound = len(canonical) * ((time.monotonic() - started) / TTL + 2)
    assert shop.renders() - before <= bound < 1000


def test_the_varnish_exporter_runs_beside_the_edges(shop: Shop) -> None:
    """`up --edge varnish` serves every Varnish node's counters in Prometheus text, labelled by region and node."""
    for region, lang in LOCALES.items():
        assert _up(f"{shop.edges[region]}/{region}/{lang}/")
    series = parse(httpx.get(shop.exporter, timeout=10).text)
    for region in LOCALES:
        node = urlsplit(shop.edges[region]).netloc
        assert value(series, "varnish_up", region=region, node=node) == 1, region
        assert value(series, "varnish_client_requests_total", region=region, node=node) >= 1, region

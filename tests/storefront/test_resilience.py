"""The origin under stress, through real HTTP: bursts, hung upstreams, degraded renders, URL spellings.

The origin runs with its page cache off, as it does behind an edge, so every request is a render.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.storefront.conftest import Stack, running_stack

DEADLINE = 60.0


@pytest.fixture(scope="module")
def bare_origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of its own (these tests hang and stop services), with the origin's page cache off.

    Read budgets are several times the defaults, so a loaded machine cannot blow them: a test tells isolation
    from starvation by the catalog's budget outlasting the CMS's (a CMS read queued behind hung catalog reads
    would fail), not by how fast a healthy read is."""
    extra = {
        "STOREFRONT_PAGE_CACHE": "off",
        "STOREFRONT_CMS_CACHE_TTL": "0",
        "STOREFRONT_CMS_TIMEOUT": "2",
        "STOREFRONT_CATALOG_TIMEOUT": "4",
    }
    with running_stack(tmp_path_factory.mktemp("resilience"), **extra) as running:
        yield running


@contextmanager
def hung(stack: Stack, service: str) -> Iterator[None]:
    """SIGSTOP a service: it accepts connections and never answers, the worst kind of failure."""
    process = stack.processes[service]
    process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        process.send_signal(signal.SIGCONT)


def slugs(stack: Stack) -> list[str]:
    listing = httpx.get(f"{stack.url('catalog')}/products", params={"region": "us", "page_size": 100}, timeout=10)
    return [item["slug"] for item in listing.json()["items"]]


def eventually(check: Callable[[], bool], what: str) -> None:
    """Wait for a condition the system reaches by itself; only a generous deadline bounds the wait."""
    deadline = time.monotonic() + DEADLINE
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not reached within {DEADLINE:.0f}s: {what}")
        time.sleep(0.1)


def upstream(origin: str, name: str) -> dict[str, object]:
    return httpx.get(f"{origin}/healthz", timeout=10).json()["upstreams"][name]


def assert_ok_or_shed(response: httpx.Response) -> None:
    """Under overload a request is served, or refused quickly in a way clients and edges understand."""
    if response.status_code == 503:
        assert response.headers["cache-control"] == "no-store"
        assert response.headers.get("retry-after") or "Temporarily unavailable" in response.text
    else:
        assert response.status_code == 200, response.status_code


async def _burst(base: str, paths: list[str]) -> list[httpx.Response | BaseException]:
    limits = httpx.Limits(max_connections=len(paths), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        return await asyncio.gather(*(client.get(path) for path in paths), return_exceptions=True)


def test_a_burst_of_uncached_pages_never_wedges_the_origin(bare_origin: Stack) -> None:
    products = slugs(bare_origin)
    paths = [f"/{region}/en/p/{slug}" for region in ("us", "apac") for slug in products]
    paths += [f"/eu/de/p/{slug}" for slug in products] + ["/us/en/pages/about"] * 40
    assert len(paths) >= 200
    responses = asyncio.run(_burst(bare_origin.url("origin"), paths))
    errors = [r for r in responses if isinstance(r, BaseException)]
    assert not errors, errors[:3]
    for response in responses:
        assert isinstance(response, httpx.Response)
        assert_ok_or_shed(response)
    # Right after the burst, the origin serves normally: no wedged pool, no queue to drain.
    for slug in products[:10]:
        assert httpx.get(f"{bare_origin.url('origin')}/us/en/p/{slug}", timeout=30).status_code == 200
    eventually(lambda: httpx.get(f"{bare_origin.url('origin')}/healthz").status_code == 200, "healthz back to 200")


def test_a_hung_catalog_starves_neither_cms_pages_nor_the_origin(bare_origin: Stack) -> None:
    origin = bare_origin.url("origin")
    products = slugs(bare_origin)
    with hung(bare_origin, "catalog"):
        paths = [f"/us/en/p/{slug}" for slug in products] + ["/us/en/pages/about"] * 20
        responses = asyncio.run(_burst(origin, paths))
        for response, path in zip(responses, paths, strict=True):
            assert isinstance(response, httpx.Response)
            if "/pages/" in path:
                assert response.status_code == 200  # the CMS has its own pool: nothing to wait for
            else:
                assert_ok_or_shed(response)
                assert response.status_code == 503
        # Once the abandoned reads time out, the catalog's circuit opens: product pages are refused at once
        # instead of each waiting out the catalog's budget, and CMS pages still render.
        eventually(lambda: upstream(origin, "catalog")["circuit"] == "open", "the catalog's circuit opens")
        assert upstream(origin, "cms")["circuit"] == "closed"
        assert httpx.get(f"{origin}/us/en/p/{products[0]}", timeout=10).status_code == 503
        assert httpx.get(f"{origin}/eu/de/pages/about", timeout=10).status_code == 200
    # Nothing to restart: the first trial read after the cooldown closes the circuit.
    eventually(lambda: httpx.get(f"{origin}/us/en/p/{products[0]}", timeout=10).status_code == 200, "shop healed")


def test_degraded_renders_are_marked_and_short_lived(bare_origin: Stack) -> None:
    origin = bare_origin.url("origin")
    complete = httpx.get(f"{origin}/us/en/", timeout=10)
    assert complete.status_code == 200 and "storefront-degraded" not in complete.headers
    assert "s-maxage=60" in complete.headers["cache-control"]
    with hung(bare_origin, "cms"):
        degraded = httpx.get(f"{origin}/us/en/", timeout=10)
        assert degraded.status_code == 200
        assert {"nav", "footer", "hero"} <= set(degraded.headers["storefront-degraded"].split(", "))
        ttl = int(re.search(r"s-maxage=(\d+)", degraded.headers["cache-control"]).group(1))  # type: ignore[union-attr]
        assert ttl <= 5
    eventually(lambda: "storefront-degraded" not in httpx.get(f"{origin}/us/en/", timeout=10).headers, "complete again")


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("/us/en", "/us/en/"),
        ("/us/en/c/bags/", "/us/en/c/bags"),
        ("/us/en/c/%62ags", "/us/en/c/bags"),
        ("/us/en/c/bags/?page=2&utm_source=mail", "/us/en/c/bags?page=2"),
        ("/eu/de/pages/about/", "/eu/de/pages/about"),
    ],
)
def test_other_spellings_of_a_page_redirect_to_its_one_url(bare_origin: Stack, spelling: str, canonical: str) -> None:
    response = httpx.get(f"{bare_origin.url('origin')}{spelling}", timeout=10)
    assert response.status_code == 301
    assert response.headers["location"] == canonical
    assert "s-maxage=" in response.headers["cache-control"]  # the edge keeps the redirect, not a render
    assert httpx.get(f"{bare_origin.url('origin')}{canonical}", timeout=10).status_code == 200

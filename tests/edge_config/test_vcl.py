"""The VCL's own rules, through a real Varnish in front of a recording origin."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from edge_config import load_regions
from edge_config.ports import free_port
from edge_config.varnish import Varnish
from tests.edge_config.conftest import Recorder

PUBLIC = {"Cache-Control": "public, max-age=0, s-maxage=60", "Content-Type": "text/html", "xkey": "product:1 nav"}


def origin(request: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    path = request["path"]
    if path == "/healthz":
        return 200, {"Content-Type": "application/json"}, b"{}"
    if path == "/cookie":
        return 200, {**PUBLIC, "Set-Cookie": "session=abc; HttpOnly"}, b"personal"
    if path == "/private":
        return 200, {**PUBLIC, "Cache-Control": "private, no-store", "Surrogate-Control": "max-age=60"}, b"mine"
    if path == "/short":
        return 200, {**PUBLIC, "Cache-Control": "public, max-age=0, s-maxage=1"}, f"t={time.time()}".encode()
    return 200, PUBLIC, f"page {path} {time.time()}".encode()


@pytest.fixture
def edge(varnishd: str, recorder: Callable[..., Recorder]) -> Iterator[tuple[Varnish, Recorder]]:
    backend = recorder(origin)
    varnish = Varnish(
        region=load_regions().get("eu"),  # type: ignore[arg-type]
        url=f"http://127.0.0.1:{free_port()}",
        origin_url=backend.url,
    )
    varnish.start()
    yield varnish, backend
    varnish.stop()


def get(varnish: Varnish, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.get(f"{varnish.url}{path}", timeout=10, **kwargs)


def test_miss_then_hit_and_surrogate_headers_never_reach_the_shopper(edge: tuple[Varnish, Recorder]) -> None:
    varnish, _ = edge
    first, second = get(varnish, "/eu/de/"), get(varnish, "/eu/de/")
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("MISS", "HIT")
    assert first.text == second.text
    for header in ("xkey", "surrogate-key", "surrogate-control", "cache-tag"):
        assert header not in second.headers


def test_cookies_are_stripped_on_cacheable_routes(edge: tuple[Varnish, Recorder]) -> None:
    varnish, backend = edge
    get(varnish, "/us/en/c/boots", headers={"Cookie": "session=secret", "Authorization": "Bearer x"})
    seen = [r for r in backend.requests if r["path"] == "/us/en/c/boots"][-1]
    assert "cookie" not in seen["headers"] and "authorization" not in seen["headers"]
    assert get(varnish, "/us/en/c/boots", headers={"Cookie": "other=1"}).headers["x-cache"] == "HIT"


def test_set_cookie_and_private_responses_are_never_stored(edge: tuple[Varnish, Recorder]) -> None:
    varnish, backend = edge
    for path in ("/cookie", "/private"):
        answers = [get(varnish, path) for _ in range(3)]
        assert all(a.headers["x-cache"] != "HIT" for a in answers), path
        assert len([r for r in backend.requests if r["path"] == path]) == 3
    assert get(varnish, "/cookie").headers.get("set-cookie")  # passed through to its owner, never shared


def test_private_routes_pass_with_their_cookies(edge: tuple[Varnish, Recorder]) -> None:
    varnish, backend = edge
    get(varnish, "/eu/de/cart", headers={"Cookie": "cart=1"})
    get(varnish, "/eu/de/cart", headers={"Cookie": "cart=2"})
    carts = [r for r in backend.requests if r["path"] == "/eu/de/cart"]
    assert [r["headers"].get("cookie") for r in carts] == ["cart=1", "cart=2"]


def test_xkey_soft_and_hard_purges(edge: tuple[Varnish, Recorder]) -> None:
    varnish, _ = edge
    before = get(varnish, "/eu/de/p/a").text
    assert get(varnish, "/eu/de/p/a").headers["x-cache"] == "HIT"
    purged = httpx.request("PURGE", f"{varnish.url}/", headers={"xkey-purge": "product:1", "xkey-soft": "0"})
    assert purged.status_code == 200 and int(purged.headers["x-purged"]) >= 1
    after = get(varnish, "/eu/de/p/a")
    assert after.headers["x-cache"] == "MISS" and after.text != before
    assert httpx.request("PURGE", f"{varnish.url}/", headers={"xkey-purge": "nav", "xkey-soft": "1"}).status_code == 200


def test_geo_header_is_set_for_root_only(edge: tuple[Varnish, Recorder]) -> None:
    varnish, backend = edge
    get(varnish, "/", headers={"X-Geo-Region": "us"})
    get(varnish, "/eu/de/", headers={"X-Geo-Region": "us"})
    root = [r for r in backend.requests if r["path"] == "/"][-1]
    page = [r for r in backend.requests if r["path"] == "/eu/de/"][-1]
    assert root["headers"]["x-geo-region"] == "eu" and "x-geo-region" not in page["headers"]


def test_purge_from_outside_the_allow_list_is_forbidden(varnishd: str, recorder: Callable[..., Recorder]) -> None:
    backend = recorder(origin)
    varnish = Varnish(
        region=load_regions().get("us"),  # type: ignore[arg-type]
        url=f"http://127.0.0.1:{free_port()}",
        origin_url=backend.url,
        purgers=("127.0.0.2",),
    )
    try:
        varnish.start()
        get(varnish, "/us/en/")
        refused = httpx.request("PURGE", f"{varnish.url}/", headers={"xkey-purge": "nav"})
        assert refused.status_code == 403
        assert get(varnish, "/us/en/").headers["x-cache"] == "HIT"
    finally:
        varnish.stop()


def test_origin_outage_serves_stale(edge: tuple[Varnish, Recorder]) -> None:
    varnish, backend = edge
    fresh = get(varnish, "/short")
    assert fresh.status_code == 200
    backend.handler = lambda request: (503, {"Content-Type": "text/plain"}, b"down")
    time.sleep(4)  # past the 1 s TTL, and long enough for the health probe to mark the origin sick
    stale = get(varnish, "/short")
    assert stale.status_code == 200 and stale.text == fresh.text

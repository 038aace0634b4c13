"""Stale-if-error and degraded renders, through a real Varnish in front of an origin told how to fail.

The edges run with a 1 s TTL, 1 s of grace and a 1 s first-byte timeout, so "well past the grace" is seconds."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from edge_config.varnish import Varnish
from tests.edge_config.conftest import EdgeFactory, Recorder, eventually

SHORT = {"grace": 1, "stale_if_error": 3600, "first_byte_timeout": 1}
PAGE = "/eu/de/p/hat"


class Origin:
    """An origin whose pages are good (s-maxage=1) until told to answer 503, hang, or render degraded.
    Its health endpoint always answers: the probe stays green, as it did with the catalog hung."""

    def __init__(self, max_age: int = 1) -> None:
        self.mode = "ok"
        self.version = 1
        self.max_age = max_age
        self.hang = threading.Event()  # set: hanging requests may finish

    def __call__(self, request: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        if request["path"] == "/healthz":
            return 200, {"Content-Type": "application/json"}, b"{}"
        mode, version = self.mode, self.version  # rendered with what was true when the request arrived
        if mode == "503":
            return 503, {"Cache-Control": "no-store", "Retry-After": "1", "Content-Type": "text/html"}, b"busy"
        if mode == "hang":
            self.hang.wait(5)
        headers = {
            "Cache-Control": f"public, max-age=0, s-maxage={self.max_age}",
            "Content-Type": "text/html",
            "xkey": "product:1",
        }
        body = f"{request['path']} v{version}"
        if mode == "degraded":
            headers |= {"Cache-Control": "public, max-age=0, s-maxage=5", "Storefront-Degraded": "related"}
            body += " degraded"
        return 200, headers, body.encode()


def get(varnish: Varnish, path: str = PAGE) -> httpx.Response:
    return httpx.get(f"{varnish.url}{path}", timeout=10)


def soft_purge(varnish: Varnish, key: str = "product:1") -> None:
    assert httpx.request("PURGE", f"{varnish.url}/", headers={"xkey-purge": key, "xkey-soft": "1"}).is_success


def fail(origin: Origin, backend: Recorder, failure: str) -> None:
    if failure == "refused":
        backend.stop()
    else:
        origin.mode = {"503": "503", "timeout": "hang"}[failure]


def recover(origin: Origin, backend: Recorder, failure: str) -> None:
    origin.mode = "ok"
    origin.version += 1
    origin.hang.set()
    if failure == "refused":
        backend.start()


@pytest.mark.parametrize("failure", ["503", "timeout", "refused"])
def test_a_cached_page_is_served_stale_for_the_whole_window_whatever_the_failure(
    edge_with: EdgeFactory, failure: str
) -> None:
    origin = Origin()
    varnish, backend = edge_with(origin, **SHORT)
    cached = get(varnish)
    assert cached.headers["x-cache"] == "MISS"
    fail(origin, backend, failure)
    time.sleep(2.2)  # past the 1 s TTL and the 1 s grace: only the stale-if-error window is left
    if failure != "refused":
        assert varnish.origin_healthy()  # nobody but the fetches themselves can tell the origin is failing
    for _ in range(4):
        stale = get(varnish)
        assert (stale.status_code, stale.text) == (200, cached.text)
        assert stale.headers["x-cache"] == "STALE-IF-ERROR"
        time.sleep(0.5)
    never = get(varnish, "/eu/de/p/never-cached")
    assert never.status_code == 503
    assert never.headers["retry-after"] == "5" and never.headers["cache-control"] == "no-store"
    assert never.headers["content-type"].startswith("text/html") and "try again" in never.text
    if failure != "refused":
        assert len(backend.seen("/eu/de/p/never-cached")) == 1  # asked once, not once more per restart
    recover(origin, backend, failure)
    assert eventually(lambda: get(varnish).text == f"{PAGE} v2")  # a background fetch refreshes it


@pytest.mark.parametrize("failure", ["503", "timeout", "refused"])
def test_a_purged_copy_is_still_served_when_its_refresh_fails(edge_with: EdgeFactory, failure: str) -> None:
    """Shoppers wait for the refresh of a purged copy only while the origin answers: an old price beats an
    error page."""
    origin = Origin(max_age=60)
    varnish, backend = edge_with(origin, **SHORT)
    assert get(varnish).text == f"{PAGE} v1"
    fail(origin, backend, failure)
    try:
        soft_purge(varnish)
        answer = get(varnish)
        assert (answer.status_code, answer.text) == (200, f"{PAGE} v1")
    finally:
        recover(origin, backend, failure)
    assert eventually(lambda: get(varnish).text == f"{PAGE} v2", timeout=30)


def test_shoppers_stop_waiting_for_a_hung_origin(edge_with: EdgeFactory) -> None:
    """Many shoppers on a page past its grace while the origin hangs: all get the stale copy within about one
    first-byte timeout, and once a fetch has failed, the next ones get it at once."""
    origin = Origin()
    varnish, _ = edge_with(origin, **SHORT)
    cached = get(varnish)
    origin.mode = "hang"
    time.sleep(2.2)

    def timed(_: int) -> tuple[float, httpx.Response]:
        started = time.monotonic()
        answer = get(varnish)
        return time.monotonic() - started, answer

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(timed, range(20)))
    assert all(answer.status_code == 200 and answer.text == cached.text for _, answer in results)
    assert max(elapsed for elapsed, _ in results) < 2.5
    elapsed, answer = timed(0)
    assert answer.text == cached.text and elapsed < 0.5
    origin.hang.set()


def test_a_degraded_render_never_replaces_a_good_copy_in_the_background(edge_with: EdgeFactory) -> None:
    origin = Origin(max_age=1)
    varnish, backend = edge_with(origin, grace=3600)
    good = get(varnish)
    origin.mode = "degraded"  # once the good copy expires, the hits revalidate it and get degraded renders
    before = len(backend.seen(PAGE))

    def two_background_fetches_done() -> bool:
        # A second background fetch only starts once the first is over: by then it was kept or dropped.
        answer = get(varnish)
        assert answer.text == good.text and answer.headers["x-cache"] in ("HIT", "STALE")
        return len(backend.seen(PAGE)) >= before + 2

    assert eventually(two_background_fetches_done, timeout=15)
    origin.mode = "ok"
    origin.version = 2
    assert eventually(lambda: get(varnish).text == f"{PAGE} v2")


def test_a_degraded_render_replaces_a_copy_a_purge_made_stale(edge_with: EdgeFactory) -> None:
    """A purge says the copy shows something that changed (a price): a render without an optional block but
    with the new price beats it. It is stored for the short life the origin gives degraded renders."""
    origin = Origin(max_age=60)
    varnish, _ = edge_with(origin)
    get(varnish)
    origin.mode, origin.version = "degraded", 2
    soft_purge(varnish)
    assert eventually(lambda: get(varnish).text == f"{PAGE} v2 degraded")
    assert "s-maxage=5" in get(varnish).headers["cache-control"]


def test_a_degraded_render_is_stored_briefly_when_there_is_nothing_better(edge_with: EdgeFactory) -> None:
    origin = Origin(max_age=60)
    origin.mode = "degraded"
    varnish, backend = edge_with(origin)
    first, second = get(varnish), get(varnish)
    assert first.text == f"{PAGE} v1 degraded" and (first.headers["x-cache"], second.headers["x-cache"]) == (
        "MISS",
        "HIT",
    )
    assert "storefront-degraded" not in first.headers and "storefront-degraded" not in second.headers
    assert "max-age=0, s-maxage=5" in first.headers["cache-control"]  # its short life is the origin's to say
    origin.version = 2
    soft_purge(varnish)  # a degraded copy may be replaced by another degraded render: it is no worse
    assert eventually(lambda: get(varnish).text == f"{PAGE} v2 degraded")
    assert len(backend.seen(PAGE)) == 2


def test_only_the_edge_marks_a_fetch_as_a_refresh(edge_with: EdgeFactory) -> None:
    """A saturated origin admits refreshes of copies an edge holds before new misses; shoppers cannot claim it."""
    origin = Origin(max_age=60)
    varnish, backend = edge_with(origin)
    forged = httpx.get(f"{varnish.url}{PAGE}", headers={"Storefront-Refresh": "1"}, timeout=10)
    assert forged.headers["x-cache"] == "MISS"
    assert "storefront-refresh" not in backend.seen(PAGE)[0]["headers"]  # a new miss, whatever it said
    origin.version = 2
    soft_purge(varnish)
    assert eventually(lambda: get(varnish).text == f"{PAGE} v2")  # revalidated in the background...
    assert backend.seen(PAGE)[-1]["headers"].get("storefront-refresh") == "purged"  # ...as a purged refresh
    forged = httpx.get(f"{varnish.url}{PAGE}", headers={"X-Edge-Purged": "1"}, timeout=10)
    assert forged.headers["x-cache"] == "HIT"  # nobody can make a fresh copy look purged


def test_a_copy_that_simply_expired_is_refreshed_as_an_ordinary_refresh(edge_with: EdgeFactory) -> None:
    """Only a purge's refresh jumps ahead of the others: a copy past its TTL is refreshed with the plain mark."""
    origin = Origin(max_age=1)
    varnish, backend = edge_with(origin, grace=3600)
    first = get(varnish)
    assert first.headers["x-cache"] == "MISS"
    assert "x-edge-ttl" not in first.headers and "x-edge-straddled" not in first.headers  # the edge's own
    origin.version = 2
    assert eventually(lambda: get(varnish).text == f"{PAGE} v2", timeout=15)  # expired, then refreshed
    assert backend.seen(PAGE)[-1]["headers"].get("storefront-refresh") == "1"


def test_a_copy_whose_fetch_straddled_a_purge_is_refreshed_as_a_purged_one(edge_with: EdgeFactory) -> None:
    """A fetch under way while a purge ran may hold what it removed: kept briefly, then refreshed first."""
    origin = Origin(max_age=60)
    origin.mode = "hang"  # the fetch stays in flight until the purge has run
    varnish, backend = edge_with(origin, grace=3600, straddle_ttl=0.5)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(get, varnish)
        assert eventually(lambda: len(backend.seen(PAGE)) == 1)
        soft_purge(varnish)
        origin.mode = "ok"
        origin.hang.set()
        assert pending.result().text == f"{PAGE} v1"
    origin.version = 2
    assert eventually(lambda: get(varnish).text == f"{PAGE} v2")  # the straddled copy was revalidated...
    assert backend.seen(PAGE)[-1]["headers"].get("storefront-refresh") == "purged"  # ...ahead of the rest

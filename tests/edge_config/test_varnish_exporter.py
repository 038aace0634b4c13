"""The Varnish exporter against a real varnishd: hits, misses, passes, grace hits, fetch failures and purged objects
move as the edge serves, labelled by region, in Prometheus text over HTTP."""

from __future__ import annotations

import http.client
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from edge_config.ports import free_port
from edge_config.varnish_exporter import VarnishExporter
from tests.edge_config.conftest import EdgeFactory, eventually, fetch
from tests.prometheus import parse, value

CACHEABLE = {"Cache-Control": "public, max-age=0, s-maxage=1, stale-while-revalidate=60", "xkey": "nav"}


def answer(request: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    if request["path"] == "/us/en/cart":
        return 200, {"Cache-Control": "private, no-store"}, b"cart"
    if request["path"] == "/broken":
        return 503, {"Cache-Control": "no-store"}, b"down"
    return 200, {**CACHEABLE, "Content-Type": "text/html"}, b"page"


def test_the_exporter_reports_what_the_edge_did(edge_with: EdgeFactory) -> None:
    varnish, _ = edge_with(answer)
    node = urlsplit(varnish.url).netloc
    down = {("us", "127.0.0.1:1"): Path("/nonexistent/varnish")}
    exporter = VarnishExporter({("eu", node): varnish.workdir / "n"} | down, free_port())
    exporter.start()
    try:
        assert fetch(varnish, "/eu/de/").headers["x-cache"] == "MISS"
        assert fetch(varnish, "/eu/de/").headers["x-cache"] == "HIT"
        # Past its one-second TTL the copy is served stale while it revalidates: a grace hit.
        assert eventually(lambda: fetch(varnish, "/eu/de/").headers["x-cache"] == "STALE")
        fetch(varnish, "/us/en/cart", headers={"Cookie": "session=1"})
        fetch(varnish, "/broken")
        port = urlsplit(varnish.url).port
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("PURGE", "/eu/de/", headers={"xkey-purge": "nav"})
        connection.getresponse().read()
        response = httpx.get(exporter.url, timeout=10)
    finally:
        exporter.stop()
    assert response.status_code == 200
    series = parse(response.text)
    assert value(series, "varnish_up", region="eu", node=node) == 1
    # No such Varnish: reported down, the rest still served.
    assert value(series, "varnish_up", region="us", node="127.0.0.1:1") == 0
    assert value(series, "varnish_cache_hits_total", region="eu", node=node) >= 1
    assert value(series, "varnish_cache_misses_total", region="eu", node=node) >= 1
    assert value(series, "varnish_passes_total", region="eu", node=node) >= 1
    assert value(series, "varnish_client_requests_total", region="eu", node=node) >= 4
    assert value(series, "varnish_cache_grace_hits_total", region="eu", node=node) >= 1
    for name in ("varnish_fetch_failures_total", "varnish_backend_failures_total", "varnish_objects_purged_total"):
        assert "eu" in {dict(labels).get("region") for (n, labels) in series if n == name}, name
    assert {dict(labels).get("region") for (_, labels) in series} <= {"eu", "us"}

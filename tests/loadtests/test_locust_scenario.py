"""The locust scenario's shop: the whole catalog, Zipf popularity, and a tenth of pages with tracking parameters."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from loadtests.cluster import ROOT
from loadtests.loadtest import fetch_shop

TREE = [
    {"slug": "clothing", "children": [{"slug": "jackets", "children": []}, {"slug": "shirts", "children": []}]},
    {"slug": "home", "children": [{"slug": "lighting", "children": []}]},
]


def test_fetch_shop_pages_through_the_whole_catalog() -> None:
    products = [{"slug": f"product-{i}", "skus": [f"SKU-{i:05d}-1"]} for i in range(1, 251)]
    asked: list[dict[str, str]] = []

    def catalog(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/categories":
            return httpx.Response(200, json={"categories": TREE})
        params = dict(request.url.params)
        asked.append(params)
        page, size = int(params["page"]), int(params["page_size"])
        items = products[(page - 1) * size : page * size]
        return httpx.Response(200, json={"items": items, "total": len(products), "page": page, "facets": {}})

    shop = fetch_shop("http://catalog.invalid", transport=httpx.MockTransport(catalog))
    assert shop["products"] == [{"slug": p["slug"], "skus": p["skus"]} for p in products]
    assert shop["categories"] == ["jackets", "shirts", "lighting"]
    assert [a["page"] for a in asked] == ["1", "2", "3"]  # and no empty fourth page
    assert all(a["facets"] == "false" and a["page_size"] == "100" for a in asked)


def _scenario(code: str) -> Any:
    """Run `code` against the locustfile in a child process: importing locust patches this one's sockets."""
    script = "import json, random\nfrom loadtests import locustfile\nrandom.seed(7)\n" + textwrap.dedent(code)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_popularity_is_skewed_but_reaches_the_whole_catalog() -> None:
    found = _scenario(
        """
        from collections import Counter
        zipf = locustfile.Zipf(list(range(10_000)))
        picks = [zipf.pick() for _ in range(20_000)]
        print(json.dumps({"top": Counter(picks).most_common(1)[0][0], "tail": sum(p >= 100 for p in picks),
                          "far": max(picks), "distinct": len(set(picks))}))
        """
    )
    assert found["top"] == 0  # the most popular product is asked for most
    assert 0.2 * 20_000 < found["tail"] < 0.5 * 20_000  # a third of views go past the first 100 products
    assert found["far"] > 9_000 and found["distinct"] > 3_000


def test_a_tenth_of_pages_carry_random_tracking_parameters() -> None:
    found = _scenario(
        """
        urls = [locustfile.maybe_tracked(path) for path in ("/", "/c/boots?page=2") for _ in range(5_000)]
        print(json.dumps(urls))
        """
    )
    tracked = [u for u in found if u not in ("/", "/c/boots?page=2")]
    assert 0.08 * len(found) < len(tracked) < 0.12 * len(found)
    values = []
    for url in tracked:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        assert parts.path in ("/", "/c/boots")
        assert query.pop("page", ["2"]) == ["2"] and (parts.path == "/c/boots") == url.startswith("/c/boots?page=2&")
        assert set(query) in ({"utm_source", "utm_medium", "utm_campaign"}, {"gclid"}, {"fbclid"})
        values += [v for key, (v,) in query.items() if key not in ("utm_source", "utm_medium")]
    assert all(values) and len(set(values)) == len(values)  # random, so every link is a new URL

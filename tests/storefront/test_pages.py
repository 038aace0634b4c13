"""Every page kind through real HTTP: content, the cache contract, compression, ETags, bad input, failures."""

from __future__ import annotations

import gzip
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import brotli
import httpx
import pytest
from babel.numbers import get_currency_symbol

from tests.storefront.conftest import Stack

CONTRACT_CC = "public, max-age=0, s-maxage=60, stale-while-revalidate=30, stale-if-error=86400"
ADMIN = {"Authorization": "Bearer e2e-admin"}


# What a CDN in front of the origin says: it wants the surrogate headers (the embedded edge strips them otherwise).
SURROGATE = {"Surrogate-Capability": 'edge="Surrogate/1.0"'}


def get(stack: Stack, path: str, **kwargs: Any) -> httpx.Response:
    headers = {**SURROGATE, **kwargs.pop("headers", {})}
    return httpx.get(f"{stack.url('origin')}{path}", timeout=10, follow_redirects=False, headers=headers, **kwargs)


def products(stack: Stack, region: str = "us", **params: Any) -> list[dict[str, Any]]:
    listing = httpx.get(f"{stack.url('catalog')}/products", params={"region": region, "page_size": 100, **params})
    return listing.json()["items"]


def assert_contract(response: httpx.Response, region: str, kind: str, max_ttl: int = 60) -> list[str]:
    h = response.headers
    assert response.status_code == 200
    ttl = int(re.search(r"s-maxage=(\d+)", h["cache-control"]).group(1))  # type: ignore[union-attr]
    assert 1 <= ttl <= max_ttl
    if ttl == 60:
        assert h["cache-control"] == CONTRACT_CC
        assert h["surrogate-control"] == "max-age=60, stale-while-revalidate=30, stale-if-error=86400"
    keys = h["surrogate-key"].split(" ")
    assert h["xkey"].split(" ") == keys and h["cache-tag"].split(",") == keys
    assert f"page:{kind}" in keys and f"page:{kind}@{region}" in keys
    assert all(f"{key}@{region}" in keys for key in keys if "@" not in key)
    assert h["vary"] == "Accept-Encoding"
    assert re.fullmatch(r'"[0-9a-f]{32}(-br|-gzip)?"', h["etag"])
    assert "set-cookie" not in h
    assert "render;dur=" in h["server-timing"]
    return keys


def test_home_in_each_region(stack: Stack) -> None:
    cases = (
        ("/us/en/", "us", "USD", "en_US"),
        ("/eu/de/", "eu", "EUR", "de_DE"),
        ("/apac/en/", "apac", "SGD", "en_SG"),
    )
    for path, region, currency, locale in cases:
        marker = get_currency_symbol(currency, locale=locale)
        response = get(stack, path)
        keys = assert_contract(response, region, "home")
        html = response.text
        assert "<h1" in html and '<nav class="main" aria-label="Main">' in html
        assert marker in html and 'class="card"' in html
        assert "nav" in keys and any(k.startswith("cms:") for k in keys)
        assert 'lang="' + {"us": "en-US", "eu": "de-DE", "apac": "en-SG"}[region] + '"' in html
    assert "Bereit für die neue Saison" in get(stack, "/eu/de/").text


def test_category_page_with_facets_sort_and_pages(stack: Stack) -> None:
    response = get(stack, "/eu/de/c/clothing?sort=price_asc")
    keys = assert_contract(response, "eu", "category")
    assert "category:clothing" in keys and any(k.startswith("product:") for k in keys)
    html = response.text
    assert "€" in html and 'name="brand"' in html and 'name="attr.colour"' in html
    assert re.search(r'<label for="min_price">', html)
    page2 = get(stack, "/eu/de/c/clothing?sort=price_asc&page=2")
    assert page2.status_code == 200 and page2.text != html


def test_product_page_carries_every_key_it_read(stack: Stack) -> None:
    item = products(stack, "eu")[0]
    response = get(stack, f"/eu/de/p/{item['slug']}")
    keys = assert_contract(response, "eu", "product")
    for key in (f"product:{item['id']}", f"category:{item['category']}", f"price:{item['skus'][0]}", "nav"):
        assert key in keys and f"{key}@eu" in keys
    assert any(k.startswith("cms:") for k in keys)
    html = response.text
    assert item["title"] in html and 'type="radio" name="sku"' in html and "<legend>" in html
    assert 'fetchpriority="high"' in html and 'loading="lazy"' in html
    assert re.search(r'<img [^>]*width="\d+" height="\d+"', html.replace("\n", " "))
    timing = response.headers["server-timing"]
    for name in ("catalog-product", "catalog-related", "pricing", "cms-nav", "cms-promos", "render"):
        assert f"{name};dur=" in timing


def test_search_and_content_and_regions(stack: Stack) -> None:
    found = get(stack, "/us/en/search?q=wool")
    assert "search" in assert_contract(found, "us", "search") and "wool" in found.text.lower()
    about = get(stack, "/eu/de/pages/about")
    assert_contract(about, "eu", "content")
    assert "Über uns" in about.text
    chooser = get(stack, "/regions")
    assert chooser.status_code == 200 and 'href="/eu/de/"' in chooser.text and 'href="/eu/en/"' in chooser.text


def test_root_redirects_by_geo_header_and_varies_on_it_alone(stack: Stack) -> None:
    response = get(stack, "/", headers={"X-Geo-Region": "apac"})
    assert response.status_code == 302 and response.headers["location"] == "/apac/en/"
    assert response.headers["vary"] == "X-Geo-Region"
    assert get(stack, "/", headers={"X-Geo-Region": "nowhere"}).headers["location"] == "/us/en/"


def raw(stack: Stack, path: str, encoding: str) -> httpx.Response:
    with httpx.stream("GET", f"{stack.url('origin')}{path}", headers={"Accept-Encoding": encoding}) as response:
        response._content = b"".join(response.iter_raw())  # the bytes on the wire, not decoded
    return response


def test_etag_304_and_compression(stack: Stack) -> None:
    plain = raw(stack, "/us/en/pages/about", "identity")
    br = raw(stack, "/us/en/pages/about", "br")
    gz = raw(stack, "/us/en/pages/about", "gzip, deflate")
    assert br.headers["content-encoding"] == "br" and gz.headers["content-encoding"] == "gzip"
    assert brotli.decompress(br.content) == plain.content == gzip.decompress(gz.content)
    assert len(br.content) < len(plain.content) / 2
    assert plain.headers["etag"] != br.headers["etag"]
    again = get(stack, "/us/en/pages/about", headers={"If-None-Match": br.headers["etag"], "Accept-Encoding": "br"})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == br.headers["etag"]


def test_origin_page_cache_hits_and_ignores_unknown_parameters(stack: Stack) -> None:
    first = get(stack, "/apac/en/c/boots")
    assert first.headers["x-cache"] in {"MISS", "HIT"}
    assert get(stack, "/apac/en/c/boots").headers["x-cache"] == "HIT"
    junk = get(stack, "/apac/en/c/boots?utm_source=x&fbclid=123&evil=<script>")
    assert junk.headers["x-cache"] == "HIT" and junk.content == get(stack, "/apac/en/c/boots").content


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/mars/en/", 404),
        ("/us/xx/", 404),
        ("/us/en/p/no-such-product", 404),
        ("/us/en/c/no-such-category", 404),
        ("/us/en/pages/no-such-page", 404),
        ("/definitely/not/a/page/here", 404),
        ("/us/en/c/boots?page=-1", 400),
        ("/us/en/c/boots?page=abc", 400),
        ("/us/en/c/boots?sort=nonsense", 400),
        ("/us/en/c/boots?min_price=50&max_price=10", 400),
        ("/us/en/c/boots?min_price=1e9", 400),
        ("/us/en/search?q=" + "x" * 10_000, 400),
        ("/us/en/c/boots?page=%C2%B2", 400),  # "²" is a digit to str.isdigit(), not to int()
        ("/us/en/c/boots?page=99999999999999999999999", 400),
        ("/us/en/c/Home", 400),  # a malformed slug is the shopper's mistake, not an outage
        ("/us/en/c/boots?attr.=x", 400),
    ],
)
def test_bad_input_gets_a_helpful_page_never_a_500(stack: Stack, path: str, status: int) -> None:
    response = get(stack, path)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    assert "<h1>" in response.text and 'href="/us/en/"' in response.text


def test_hostile_catalog_and_search_text_is_escaped(stack: Stack) -> None:
    item = products(stack, "us", category="hats")[0]
    hostile = '<script>alert("x")</script>'
    updated = httpx.patch(f"{stack.url('catalog')}/admin/products/{item['id']}", json={"title": hostile}, headers=ADMIN)
    assert updated.status_code == 200
    page = get(stack, f"/us/en/p/{item['slug']}")
    assert hostile not in page.text and "&lt;script&gt;" in page.text
    search = get(stack, "/us/en/search?q=%3Cscript%3Ealert(1)%3C/script%3E")
    assert search.status_code == 200 and "<script>alert(1)" not in search.text


def test_ttl_is_clamped_to_a_promotion_that_starts_soon(stack: Stack) -> None:
    item = products(stack, "apac", category="tents")[0]
    now = datetime.now(UTC)
    promo = {
        "slug": "flash-tent",
        "name": "Flash sale",
        "region": "apac",
        "kind": "percent",
        "value": "30",
        "scope": "sku",
        "target": item["skus"][0],
        "starts_at": (now + timedelta(seconds=25)).isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat(),
    }
    assert httpx.post(f"{stack.url('pricing')}/admin/promotions", json=promo, headers=ADMIN).status_code == 201
    response = get(stack, f"/apac/en/p/{item['slug']}")
    assert_contract(response, "apac", "product", max_ttl=25)
    assert int(re.search(r"s-maxage=(\d+)", response.headers["cache-control"]).group(1)) <= 25  # type: ignore[union-attr]


def test_pages_survive_a_cms_outage_and_fail_cleanly_without_the_catalog(stack: Stack) -> None:
    visited = products(stack, "us", category="bags")
    assert get(stack, f"/us/en/p/{visited[0]['slug']}").status_code == 200  # also warms the CMS client's copies
    stack.stop("cms")
    try:
        response = get(stack, f"/us/en/p/{visited[1]['slug']}")
        assert response.status_code == 200  # CMS blocks are optional; nav comes from the last good copy
        assert visited[1]["title"] in response.text and '<nav class="main"' in response.text
    finally:
        stack.start("cms")
    stack.stop("catalog")
    try:
        cached = get(stack, f"/us/en/p/{visited[0]['slug']}")
        assert cached.status_code == 200 and cached.headers["x-cache"] in {"HIT", "STALE"}
        down = get(stack, f"/us/en/p/{visited[2]['slug']}")
        assert down.status_code == 503 and "Temporarily unavailable" in down.text
        assert down.headers["cache-control"] == "no-store"
    finally:
        stack.start("catalog")


def test_images_are_immutable_variants_and_refuse_everything_else(stack: Stack) -> None:
    html = get(stack, f"/us/en/p/{products(stack)[0]['slug']}").text
    src = re.search(r'src="(/img/[0-9a-f]{64}/\d+\.jpg)"', html).group(1)  # type: ignore[union-attr]
    image = get(stack, src)
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert image.headers["cache-control"] == "public, max-age=31536000, s-maxage=31536000, immutable"
    digest = src.split("/")[2]
    for bad in (
        f"/img/{digest}/333.jpg",
        f"/img/{digest}/320.gif",
        f"/img/{'0' * 64}/320.jpg",
        "/img/xyz/320.jpg",
        f"/img/{digest}/4096.jpg",
    ):
        assert get(stack, bad).status_code == 404, bad


def test_image_upload_through_the_api(stack: Stack, tmp_path: Any) -> None:
    from tests.image_pipeline.conftest import PHOTOS

    photo = PHOTOS / "rocket.jpg"
    url = f"{stack.url('origin')}/admin/images"
    image_headers = {"Content-Type": "image/jpeg"}
    data = photo.read_bytes()
    assert httpx.post(url, content=data, headers=image_headers).status_code == 401
    refused = httpx.post(url, content=b"not an image", headers={**ADMIN, **image_headers})
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    assert httpx.post(url, content=data, headers={**ADMIN, "Content-Type": "text/plain"}).status_code == 415
    truncated = httpx.post(url, content=data[:4000], headers={**ADMIN, **image_headers})
    assert truncated.status_code == 422 and "truncated" in truncated.json()["detail"]
    created = httpx.post(url, content=data, headers={**ADMIN, **image_headers})
    assert created.status_code == 201
    body = created.json()
    assert (body["width"], body["height"]) == (640, 427) and body["placeholder"].startswith("data:image/webp")
    assert httpx.post(url, content=data, headers={**ADMIN, **image_headers}).status_code == 200
    for fmt, kind in (("avif", "image/avif"), ("webp", "image/webp"), ("jpg", "image/jpeg")):
        variant = get(stack, f"/img/{body['hash']}/480.{fmt}")
        assert variant.status_code == 200 and variant.headers["content-type"] == kind
    assert get(stack, f"/img/{body['hash']}/960.jpg").status_code == 404  # wider than the original


def test_head_works_wherever_get_does_and_405_says_what_is_allowed(stack: Stack) -> None:
    item = products(stack, "us")[0]
    for path in ("/us/en/", f"/us/en/p/{item['slug']}", "/healthz", "/livez", "/regions"):
        head = httpx.head(f"{stack.url('origin')}{path}", timeout=10)
        assert head.status_code == 200, path
        assert head.content == b""
    refused = httpx.post(f"{stack.url('origin')}/us/en/", timeout=10)
    assert refused.status_code == 405
    assert set(refused.headers["allow"].replace(" ", "").split(",")) >= {"GET", "HEAD"}
    options = httpx.options(f"{stack.url('origin')}/us/en/p/{item['slug']}", timeout=10)
    assert set(options.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "OPTIONS"}


def test_machine_endpoints_answer_errors_as_problem_details(stack: Stack) -> None:
    for method, path in (("GET", "/internal/metrics"), ("POST", "/internal/purge"), ("POST", "/admin/images")):
        response = httpx.request(method, f"{stack.url('origin')}{path}", timeout=10)
        assert response.status_code == 401, path
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["status"] == 401
    quote = httpx.post(f"{stack.url('origin')}/us/en/checkout/quote", content=b"{not json", timeout=10)
    assert 400 <= quote.status_code < 500
    assert quote.headers["content-type"].startswith("application/problem+json")


def test_the_embedded_edge_keeps_surrogate_headers_from_shoppers(stack: Stack) -> None:
    """With no CDN in front, the origin page cache is the edge: like Varnish, it strips what only edges read."""
    get(stack, "/us/en/")  # cached now
    shopper = httpx.get(f"{stack.url('origin')}/us/en/", timeout=10)
    assert shopper.status_code == 200 and shopper.headers["x-cache"] in {"HIT", "STALE"}
    for name in ("surrogate-key", "xkey", "cache-tag", "surrogate-control", "storefront-degraded"):
        assert name not in shopper.headers, name
    assert shopper.headers["cache-control"].startswith("public, max-age=0, s-maxage=")
    assert "page:home" in get(stack, "/us/en/").headers["surrogate-key"].split()

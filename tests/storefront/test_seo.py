"""What search engines read, over plain HTTP: titles, canonical and hreflang links, JSON-LD, robots.txt, sitemaps."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from tests.storefront.conftest import Stack
from tests.storefront.test_pages import assert_contract, get, products

SITEMAP_XSD = Path(__file__).with_name("sitemap.xsd")
NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}
LOCALES = {"en-US": "/us/en", "de-DE": "/eu/de", "en-IE": "/eu/en", "en-SG": "/apac/en"}
AVAILABILITY = {f"https://schema.org/{a}" for a in ("InStock", "LimitedAvailability", "OutOfStock")}
PAGE_BUDGET = 40 * 1024  # bytes of HTML, uncompressed


class Head(HTMLParser):
    """The head's title, meta and link tags, and every JSON-LD block in the page."""

    def __init__(self) -> None:
        super().__init__()
        self.title = ""
        self.meta: dict[str, str] = {}
        self.links: list[dict[str, str]] = []
        self.ld: list[Any] = []
        self._in: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "meta" and ("name" in a or "property" in a):
            self.meta[a.get("name") or a["property"]] = a.get("content", "")
        elif tag == "link":
            self.links.append(a)
        elif tag == "title" or (tag == "script" and a.get("type") == "application/ld+json"):
            self._in, self._text = tag, []

    def handle_data(self, data: str) -> None:
        if self._in:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in == "title":
            self.title = "".join(self._text).strip()
        elif tag == self._in == "script":
            self.ld.append(json.loads("".join(self._text)))
        if tag == self._in:
            self._in = None

    def link(self, rel: str, **match: str) -> list[dict[str, str]]:
        rels = [x for x in self.links if rel in x.get("rel", "").split()]
        return [x for x in rels if all(x.get(k) == v for k, v in match.items())]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [block for block in self.ld if block.get("@type") == kind]


def head_of(response: httpx.Response) -> Head:
    parser = Head()
    parser.feed(response.text)
    return parser


@pytest.fixture(scope="module")
def pages(stack: Stack) -> dict[str, str]:
    item = products(stack)[0]
    return {
        "home": "/us/en/",
        "category": f"/us/en/c/{item['category']}",
        "product": f"/us/en/p/{item['slug']}",
        "content": "/us/en/pages/about",
        "search": "/us/en/search?q=wool",
    }


def test_every_page_has_its_own_title_description_canonical_and_alternates(stack: Stack, pages: dict[str, str]) -> None:
    origin = stack.url("origin")  # STOREFRONT_PUBLIC_URL is unset: the origin's URL is the public base
    titles, descriptions = set(), set()
    for kind, path in pages.items():
        response = get(stack, path, headers={"Host": "attacker.example", "X-Forwarded-Host": "attacker.example"})
        assert response.status_code == 200, path
        assert len(response.content) <= PAGE_BUDGET, (path, len(response.content))
        head = head_of(response)
        titles.add(head.title)
        descriptions.add(head.meta.get("description"))
        assert head.title and "Northwind Supply" in head.title
        assert 50 <= len(head.meta["description"]) <= 160, (kind, head.meta["description"])
        assert "attacker.example" not in response.text
        [canonical] = head.link("canonical")
        assert canonical["href"] == origin + path, kind
        rest = path.removeprefix("/us/en")
        alternates = {x["hreflang"]: x["href"] for x in head.link("alternate") if "hreflang" in x}
        assert alternates == {
            **{locale: f"{origin}{base}{rest}" for locale, base in LOCALES.items()},
            "x-default": f"{origin}/us/en{rest}",
        }
        assert head.meta["og:url"] == canonical["href"] and head.meta["og:title"] in head.title
        assert head.meta["og:site_name"] == "Northwind Supply" and head.meta["og:locale"] == "en_US"
        assert head.meta["twitter:card"] in ("summary", "summary_large_image")
        assert head.link("icon", type="image/svg+xml") and head.link("apple-touch-icon")
        if kind == "search":
            assert head.meta["robots"] == "noindex, follow"
        else:
            assert "robots" not in head.meta
    assert len(titles) == len(descriptions) == len(pages)


def test_a_full_listing_stays_within_the_page_budget(stack: Stack) -> None:
    """24 product cards, each a <picture> with AVIF and WebP candidates and a placeholder: the heaviest page."""
    response = get(stack, "/us/en/search?q=a", headers={"Accept-Encoding": "br"})
    assert response.headers["content-encoding"] == "br" and len(head_of(response).links) > 0
    assert response.text.count('class="card"') == 24
    transferred = int(response.headers["content-length"])
    assert transferred <= PAGE_BUDGET, transferred
    assert len(response.content) <= 64 * 1024, len(response.content)  # decoded HTML


def test_canonical_keeps_only_the_allowed_query_sorted(stack: Stack, pages: dict[str, str]) -> None:
    response = get(stack, pages["category"] + "?utm_source=mail&sort=title&page=2&gclid=x")
    [canonical] = head_of(response).link("canonical")
    assert canonical["href"] == f"{stack.url('origin')}{pages['category']}?page=2&sort=title"
    assert "page 2" in head_of(response).title


def test_private_and_error_pages_are_not_indexed(stack: Stack) -> None:
    for path, status in (("/us/en/cart", 200), ("/us/en/nope", 404), ("/us/en/p/no-such-product", 404)):
        response = get(stack, path)
        assert response.status_code == status
        head = head_of(response)
        assert head.meta["robots"] == "noindex" and not head.link("canonical")


def test_product_json_ld_follows_the_page(stack: Stack, pages: dict[str, str]) -> None:
    response = get(stack, pages["product"])
    keys = assert_contract(response, "us", "product")
    head = head_of(response)
    [product] = head.of_type("Product")
    # schema.org / Google's Product requirements: name, image, and offers with price, currency, availability.
    assert product["@context"] == "https://schema.org" and product["name"]
    assert product["image"] and all(url.startswith(stack.url("origin") + "/img/") for url in product["image"])
    assert head.meta["og:image"] == product["image"][0] and head.meta["og:type"] == "product"
    assert httpx.get(product["image"][0]).status_code == 200
    offers = product["offers"]
    assert isinstance(offers, list) and offers
    slug = pages["product"].rsplit("/", 1)[1]
    catalog = httpx.get(f"{stack.url('catalog')}/products/{slug}", params={"region": "us"})
    skus = [v["sku"] for v in catalog.json()["variants"]]
    quote = httpx.get(f"{stack.url('pricing')}/prices", params={"region": "us", "skus": ",".join(skus)}).json()
    prices = {line["sku"]: line["final"]["amount"] for line in quote["prices"]}
    for offer in offers:
        assert offer["@type"] == "Offer"
        assert re.fullmatch(r"\d+(\.\d+)?", offer["price"]) and Decimal(offer["price"]) > 0
        assert offer["price"] == prices[offer["sku"]]
        assert offer["priceCurrency"] == "USD" and offer["availability"] in AVAILABILITY
        assert f"price:{offer['sku']}" in keys  # a price purge refreshes the JSON-LD with the page
    [crumbs] = head.of_type("BreadcrumbList")
    items = crumbs["itemListElement"]
    assert [i["position"] for i in items] == list(range(1, len(items) + 1)) and len(items) >= 3
    assert all(i["@type"] == "ListItem" and i["name"] and i["item"].startswith("http") for i in items)
    assert items[0]["item"] == f"{stack.url('origin')}/us/en/"
    assert items[-1]["item"] == f"{stack.url('origin')}{pages['product']}"
    # The LCP image is preloaded with the same candidates and sizes as the picture, at high priority.
    [preload] = head.link("preload")
    assert preload["as"] == "image" and preload["fetchpriority"] == "high" and preload["imagesizes"]
    assert preload["imagesrcset"].split(",")[0].split()[0] in response.text.split('type="image/avif" srcset="')[1]


def test_home_has_organization_and_category_breadcrumbs(stack: Stack, pages: dict[str, str]) -> None:
    [org] = head_of(get(stack, pages["home"])).of_type("Organization")
    assert org["name"] == "Northwind Supply" and org["url"] == f"{stack.url('origin')}/us/en/" and org["logo"]
    [crumbs] = head_of(get(stack, pages["category"])).of_type("BreadcrumbList")
    assert crumbs["itemListElement"][-1]["item"] == f"{stack.url('origin')}{pages['category']}"


def test_robots_txt(stack: Stack) -> None:
    response = get(stack, "/robots.txt")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert response.headers["cache-control"].startswith("public, max-age=0, s-maxage=")
    assert "page:robots" in response.headers["surrogate-key"].split()
    lines = response.text.splitlines()
    assert "User-agent: *" in lines and f"Sitemap: {stack.url('origin')}/sitemap.xml" in lines
    assert "Disallow: /*/*/cart" in lines and "Disallow: /*/*/checkout" in lines


def _valid(response: httpx.Response, root: str) -> etree._Element:
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/xml")
    schema = etree.XMLSchema(etree.parse(str(SITEMAP_XSD)))
    doc = etree.fromstring(response.content)
    schema.assertValid(doc)
    assert etree.QName(doc).localname == root and len(doc) <= 50_000 and len(response.content) <= 50 * 1024 * 1024
    return doc


def test_sitemaps_are_valid_and_list_every_product_in_every_locale(stack: Stack) -> None:
    origin = stack.url("origin")
    index = _valid(get(stack, "/sitemap.xml"), "sitemapindex")
    files = index.xpath("//sm:loc/text()", namespaces=NS)
    for region in ("us", "eu", "apac"):
        assert {f"{origin}/sitemaps/{region}/pages.xml", f"{origin}/sitemaps/{region}/products-1.xml"} <= set(files)
    regional = _valid(get(stack, "/sitemaps/eu/index.xml"), "sitemapindex")
    assert regional.xpath("//sm:loc/text()", namespaces=NS) == [f for f in files if "/sitemaps/eu/" in f]

    everything = products(stack, "eu")
    listed: dict[str, str] = {}
    for url in (f for f in files if "/sitemaps/eu/" in f):
        response = get(stack, url.removeprefix(origin))
        doc = _valid(response, "urlset")
        keys = assert_contract(response, "eu", "sitemap")
        for entry in doc.xpath("//sm:url", namespaces=NS):
            listed[entry.findtext("sm:loc", namespaces=NS)] = entry.findtext("sm:lastmod", namespaces=NS)
        if "/products-" in url:
            assert {f"product:{item['id']}" for item in everything} <= set(keys)  # an edit purges its sitemap
    for item in everything:
        for base in ("/eu/de", "/eu/en"):
            assert listed[f"{origin}{base}/p/{item['slug']}"], "a product's lastmod"
    assert listed[f"{origin}/eu/de/c/{everything[0]['category']}"] and f"{origin}/eu/en/" in listed
    assert f"{origin}/eu/de/pages/about" in listed
    assert get(stack, "/sitemaps/eu/products-2.xml").status_code == 404
    assert get(stack, "/sitemaps/mars/index.xml").status_code == 404


@pytest.mark.parametrize(
    ("path", "media_type"),
    [("/favicon.svg", "image/svg+xml"), ("/favicon.ico", "image/x-icon"), ("/apple-touch-icon.png", "image/png")],
)
def test_icons_are_served_with_long_cache_headers(stack: Stack, path: str, media_type: str) -> None:
    response = get(stack, path)
    assert response.status_code == 200 and response.headers["content-type"].startswith(media_type)
    assert "s-maxage=31536000" in response.headers["cache-control"]
    assert "max-age=604800" in response.headers["cache-control"] and response.content

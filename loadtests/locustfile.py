"""Locust scenarios: shoppers browsing the three regions through their edges, and editors publishing and purging.

Run by `storefront loadtest` (which starts the stack, passes the settings below and writes the report), or by
hand: `locust -f loadtests/locustfile.py --headless` with these environment variables:

- `STOREFRONT_LOADTEST_EDGES`: JSON, region code -> edge base URL (required)
- `STOREFRONT_CATALOG_URL`, `STOREFRONT_CMS_URL`, `STOREFRONT_INVALIDATOR_URL`, `STOREFRONT_ADMIN_TOKEN`,
  `STOREFRONT_EDITOR_TOKEN`: as for the services
- `STOREFRONT_LOADTEST_PROFILE`: `1x`, `10x` or `step` (1x, 2x, 5x then 10x); `STOREFRONT_LOADTEST_USERS`: shoppers
  at 1x; `STOREFRONT_LOADTEST_STEP_SECONDS`: how long each step (or the whole constant profile) lasts
- `STOREFRONT_LOADTEST_SAMPLES`: a CSV file to write every request to (time, name, ms, ok, X-Cache)
- `STOREFRONT_LOADTEST_SHOP`: a JSON file of what to browse, as `loadtest.fetch_shop` returns it (the runner writes
  it); without it, locust pages through the catalog itself at start

Shoppers browse the whole catalog, products picked with Zipf-skewed popularity, and one browsing page in ten
arrives from a campaign link with random tracking parameters (`utm_*`, `gclid` or `fbclid`). Request names are
page kinds (`home`, `category`, `product`, `search`, `cart`, `checkout:*`, `editor:*`), tracked or not, so
locust's statistics read per page kind.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import random
import re
import string
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

from locust import FastHttpUser, LoadTestShape, between, constant, events, task

from loadtests.loadtest import PROFILES, fetch_shop
from stack.settings import Settings

SETTINGS = Settings.from_env()
EDGES: dict[str, str] = json.loads(os.environ.get("STOREFRONT_LOADTEST_EDGES", "{}"))
PROFILE = os.environ.get("STOREFRONT_LOADTEST_PROFILE", "1x")
USERS = int(os.environ.get("STOREFRONT_LOADTEST_USERS", "20"))
STEP_SECONDS = float(os.environ.get("STOREFRONT_LOADTEST_STEP_SECONDS", "60"))
SAMPLES = os.environ.get("STOREFRONT_LOADTEST_SAMPLES", "")
SHOP = os.environ.get("STOREFRONT_LOADTEST_SHOP", "")
TRACKED_SHARE = 0.1  # pages reached from a campaign link (ads, newsletters, social posts)
UTM_SOURCES = ("google", "newsletter", "facebook", "instagram", "bing", "partner")
SEARCHES = ("jacket", "boots", "wool", "lamp", "tent", "linen shirt", "backpack", "canvas")
CARD = {"number": "4242424242424242", "exp_month": "12", "exp_year": "2099", "cvc": "123"}
ADDRESSES = {
    "us": {
        "name": "Load Test",
        "line1": "1 Main St",
        "city": "Austin",
        "state": "TX",
        "postal_code": "73301",
        "country": "US",
    },
    "eu": {"name": "Load Test", "line1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115", "country": "DE"},
    "apac": {
        "name": "Load Test",
        "line1": "1 Raffles Pl",
        "city": "Singapore",
        "postal_code": "048616",
        "country": "SG",
    },
}


T = TypeVar("T")


class Zipf(Generic[T]):
    """Popular things are asked for far more often than the long tail, as in a real shop: the item at rank r
    (from 1) is picked with weight 1/r**skew. Weights are summed once, so a pick costs a bisection, not a pass
    over a 10,000-product catalog."""

    def __init__(self, items: Sequence[T], skew: float = 1.1) -> None:
        self.items = list(items)
        self._cumulative = list(itertools.accumulate(1 / (rank + 1) ** skew for rank in range(len(self.items))))

    def pick(self) -> T:
        return random.choices(self.items, cum_weights=self._cumulative)[0]


def _token(length: int) -> str:
    return "".join(random.choices(string.ascii_letters + string.digits + "-_", k=length))


def tracking_query() -> str:
    """Random campaign parameters as an ad, a newsletter or a social post appends them to a link."""
    kind = random.choice(("utm", "gclid", "fbclid"))
    if kind == "utm":
        return f"utm_source={random.choice(UTM_SOURCES)}&utm_medium=cpc&utm_campaign={_token(10)}"
    return f"{kind}={_token(random.randint(20, 60))}"


def maybe_tracked(path: str, share: float = TRACKED_SHARE) -> str:
    """The path, or (with probability `share`) the path with tracking parameters added to its query."""
    if random.random() >= share:
        return path
    return f"{path}{'&' if '?' in path else '?'}{tracking_query()}"


SEARCHES_BY_POPULARITY = Zipf(SEARCHES)


@events.init.add_listener
def setup(environment: Any, **_: Any) -> None:
    """Learn what there is to browse (from the runner's file, or once from the catalog: not through the edge,
    not timed), and record every request with its X-Cache, so the report can compute hit rates and
    percentiles per step."""
    shop = json.loads(Path(SHOP).read_text()) if SHOP else fetch_shop(SETTINGS.catalog.url)
    environment.shop = shop
    # Popularity follows no catalog order (the oldest products are not the best sellers), but the same
    # products are the popular ones in every run, so runs compare.
    ranked = list(shop["products"])
    random.Random(42).shuffle(ranked)
    environment.popular = {"products": Zipf(ranked), "categories": Zipf(shop["categories"])}
    environment.samples = samples = []

    @environment.events.request.add_listener
    def record(name: str, response_time: float, response: Any, exception: Any, url: str = "", **_: Any) -> None:
        headers = getattr(response, "headers", None)
        cache = (headers.get("x-cache", "") or "") if headers is not None else ""
        samples.append((time.time(), name, response_time, 0 if exception else 1, cache, url))


@events.quitting.add_listener
def write_samples(environment: Any, **_: Any) -> None:
    if SAMPLES:
        with open(SAMPLES, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(("time", "name", "ms", "ok", "x_cache", "url"))
            writer.writerows(environment.samples)
    if environment.stats.total.num_failures:
        environment.process_exit_code = 1  # a load test with failed requests fails


class Shopper(FastHttpUser):
    """Browses one region through its edge; a few add to the cart, and a few of those check out."""

    weight = 50
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        self.region = random.choice(sorted(EDGES))
        lang = {"eu": "de"}.get(self.region, "en")
        self.base = f"{EDGES[self.region]}/{self.region}/{lang}"

    def _page(self, path: str, name: str, must_contain: str = "<h1") -> str:
        # Same name with or without tracking parameters: the statistics stay grouped per page kind.
        with self.client.get(f"{self.base}{path}", name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            elif must_contain not in (response.text or ""):
                response.failure(f"no {must_contain!r} in the page")
            return response.text or ""

    @task(2)
    def home(self) -> None:
        self._page(maybe_tracked("/"), "home")

    @task(4)
    def category(self) -> None:
        slug = self.environment.popular["categories"].pick()
        query = random.choice(("", "?sort=price_asc", "?page=2", "?in_stock=true"))
        self._page(maybe_tracked(f"/c/{slug}{query}"), "category")

    @task(6)
    def product(self) -> None:
        item = self.environment.popular["products"].pick()
        self._page(maybe_tracked(f"/p/{item['slug']}"), "product", must_contain='class="price"')

    @task(1)
    def search(self) -> None:
        self._page(maybe_tracked(f"/search?q={SEARCHES_BY_POPULARITY.pick()}"), "search")

    @task(1)
    def add_to_cart(self) -> None:
        if random.random() > 0.1:  # about 1 in 140 shopper actions puts something in the cart
            return
        item = self.environment.popular["products"].pick()
        token = self.client.get(f"{EDGES[self.region]}/fragments/cart?region={self.region}", name="fragment").json()
        with self.client.post(
            f"{self.base}/cart",
            data={"sku": item["skus"][0], "quantity": "1", "csrf": token["csrf"]},
            name="cart:add",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code == 409:  # that variant sold out during the test: a correct answer
                response.success()
                return
            if response.status_code != 303:
                response.failure(f"HTTP {response.status_code}")
                return
        self._page("/cart", "cart")
        if random.random() < 0.3:
            self.checkout(token["csrf"])

    def checkout(self, csrf: str) -> None:
        with self.client.get(f"{self.base}/checkout", name="checkout:page", catch_response=True) as response:
            if response.status_code == 409:  # the item sold out since it was added: a correct answer
                response.success()
                return
            if response.status_code != 200 or "Checkout" not in (response.text or ""):
                response.failure(f"HTTP {response.status_code}")
                return
        steps = (
            {"step": "contact", "email": "load@example.com"},
            {"step": "address", **ADDRESSES[self.region]},
            {"step": "shipping", "method": "standard"},
        )
        for form in steps:
            self.client.post(
                f"{self.base}/checkout",
                data={"csrf": csrf, **form},
                name=f"checkout:{form['step']}",
                allow_redirects=False,
            )
        page = self._page("/checkout", "checkout:page", must_contain="Place order")
        key = re.search(r'name="idempotency_key" value="([^"]+)"', page)
        total = re.search(r'name="expected_total" value="([^"]+)"', page)
        if not key or not total:
            return
        form = {"csrf": csrf, "step": "place", "idempotency_key": key.group(1), "expected_total": total.group(1)}
        with self.client.post(
            f"{self.base}/checkout",
            data={**form, **CARD},
            name="checkout:place",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 303 or "/checkout/orders/" not in response.headers.get("location", ""):
                response.failure(f"HTTP {response.status_code}: no order")


class Editor(FastHttpUser):
    """A content editor: publishes a CMS change now and then, and sometimes purges a product by hand."""

    fixed_count = 1
    wait_time = constant(15)

    def on_start(self) -> None:
        self.editor = {"Authorization": f"Bearer {SETTINGS.cms.admin_token}"}
        self.admin = {"Authorization": f"Bearer {SETTINGS.invalidator.admin_token}"}

    @task(3)
    def publish(self) -> None:
        cms = SETTINGS.cms.url
        about = self.client.get(f"{cms}/delivery/entries/page/about?locale=en-US", name="editor:read").json()
        entry = self.client.get(f"{cms}/editor/entries/{about['id']}", headers=self.editor, name="editor:read").json()
        fields = {loc: {**f, "body": f"<p>Updated {time.time():.0f}</p>"} for loc, f in entry["fields"].items()}
        self.client.put(
            f"{cms}/editor/entries/{about['id']}",
            headers=self.editor,
            name="editor:save",
            json={"fields": fields, "base_version": entry["latest_version"]},
        )
        self.client.post(
            f"{cms}/editor/entries/{about['id']}/publish", headers=self.editor, json={}, name="editor:publish"
        )

    @task(1)
    def purge(self) -> None:
        item = random.choice(self.environment.shop["products"])
        product_id = self.client.get(
            f"{SETTINGS.catalog.url}/products/{item['slug']}?region=us", name="editor:read"
        ).json()["id"]
        key = f"product:{product_id}"
        with self.client.post(
            f"{SETTINGS.invalidator.url}/admin/purges",
            headers=self.admin,
            name="editor:purge",
            json={"keys": [key], "regions": "all"},
            catch_response=True,
        ) as response:
            if response.status_code != 202:
                response.failure(f"HTTP {response.status_code}")


class Steps(LoadTestShape):
    """1x, or 10x, or 1x -> 2x -> 5x -> 10x, each held for STEP_SECONDS; then stops by itself."""

    use_common_options = False

    def tick(self) -> tuple[int, float] | None:
        multipliers = PROFILES[PROFILE]
        step = int(self.get_run_time() // STEP_SECONDS)
        if step >= len(multipliers):
            return None
        users = USERS * multipliers[step] + 1  # + the editor
        return users, max(2.0, USERS / 5)  # a ramp of a few seconds, not a thundering herd on cold caches

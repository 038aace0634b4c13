"""Cart and checkout through real HTTP on the real stack: private pages, CSRF, the whole flow, bad input."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from tests.backends.checkout.conftest import US_ADDRESS as ADDRESS
from tests.storefront.conftest import Stack

ADMIN = {"Authorization": "Bearer e2e-admin"}
CARD = {"number": "4242 4242 4242 4242", "exp_month": "12", "exp_year": "2099", "cvc": "123"}


def in_stock_sku(stack: Stack, region: str = "us", quantity: int = 40) -> tuple[str, str]:
    """A product's first SKU with plenty of stock (set through checkout, which owns sellable stock)."""
    item = httpx.get(f"{stack.url('catalog')}/products", params={"region": region, "page_size": 5}).json()["items"][1]
    sku = item["skus"][0]
    response = httpx.put(
        f"{stack.url('checkout')}/admin/stock/{region}/{sku}", json={"on_hand": quantity}, headers=ADMIN
    )
    assert response.status_code == 200
    return item["slug"], sku


class Shopper:
    """A browser without scripts: keeps its cookies, posts forms, reads the token from the pages."""

    def __init__(self, stack: Stack) -> None:
        self.http = httpx.Client(base_url=stack.url("origin"), timeout=20, follow_redirects=False)
        self.csrf = ""

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        response = self.http.get(path, **kwargs)
        if found := re.search(r'name="csrf" value="([0-9a-f]+)"', response.text):
            self.csrf = found.group(1)
        return response

    def post(self, path: str, data: dict[str, str], **kwargs: Any) -> httpx.Response:
        return self.http.post(path, data={"csrf": self.csrf, **data}, **kwargs)

    def token(self) -> None:
        self.csrf = self.http.get("/fragments/cart", params={"region": "us"}).json()["csrf"]


def charged(stack: Stack, cart_id: str) -> bool:
    """Whether the test payment provider has recorded a charge for the cart's order (in checkout's database)."""
    from sqlalchemy import select

    from backends.checkout.models import Charge, Order
    from backends.common import Database
    from stack.settings import Settings

    async def look() -> bool:
        db = Database.connect(Settings.from_env(stack.env).checkout.database_url)
        try:
            async with db.sessionmaker() as session:
                found = await session.scalar(
                    select(Charge.reference).join(Order, Order.id == Charge.reference).where(Order.cart_id == cart_id)
                )
                return found is not None
        finally:
            await db.dispose()

    return asyncio.run(look())


def assert_private(response: httpx.Response) -> None:
    assert response.headers["cache-control"] == "private, no-store", response.headers
    assert "surrogate-key" not in response.headers


def test_full_checkout_with_plain_forms(stack: Stack) -> None:
    slug, sku = in_stock_sku(stack)
    shopper = Shopper(stack)
    shopper.token()
    added = shopper.post("/us/en/cart", {"sku": sku, "quantity": "2"})
    assert added.status_code == 303 and added.headers["location"] == "/us/en/cart"
    assert_private(added)
    cookies = added.headers.get_list("set-cookie")
    cart_cookie = next(c for c in cookies if c.startswith("sf_cart_us="))
    assert "HttpOnly" in cart_cookie and "SameSite=lax" in cart_cookie and "Path=/" in cart_cookie

    cart = shopper.get("/us/en/cart")
    assert cart.status_code == 200
    assert_private(cart)
    assert 'value="2"' in cart.text and f"/us/en/p/{slug}" in cart.text
    assert httpx.get(f"{stack.url('origin')}/fragments/cart", params={"region": "us"}).json()["count"] == 0
    assert shopper.http.get("/fragments/cart", params={"region": "us"}).json()["count"] == 2

    page = shopper.get("/us/en/checkout")
    assert page.status_code == 200 and 'autocomplete="email"' in page.text
    assert_private(page)
    assert shopper.post("/us/en/checkout", {"step": "contact", "email": "ada@example.com"}).status_code == 303
    page = shopper.get("/us/en/checkout")
    for autocomplete in ("shipping name", "shipping address-line1", "shipping postal-code", "shipping country"):
        assert f'autocomplete="{autocomplete}"' in page.text
    assert shopper.post("/us/en/checkout", {"step": "address", **ADDRESS}).status_code == 303
    page = shopper.get("/us/en/checkout")
    assert 'name="method" value="express"' in page.text and "Sales tax 7.25%" in page.text
    assert shopper.post("/us/en/checkout", {"step": "shipping", "method": "express"}).status_code == 303
    page = shopper.get("/us/en/checkout")
    assert 'autocomplete="cc-number"' in page.text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    total = re.search(r'name="expected_total" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]

    declined = shopper.post(
        "/us/en/checkout",
        {"step": "place", "idempotency_key": key, "expected_total": total, **CARD, "number": "4000000000000002"},
    )
    assert declined.status_code == 402 and "declined" in declined.text
    assert_private(declined)
    page = shopper.get("/us/en/checkout")
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    placed = shopper.post("/us/en/checkout", {"step": "place", "idempotency_key": key, "expected_total": total, **CARD})
    assert placed.status_code == 303, placed.text
    again = shopper.post("/us/en/checkout", {"step": "place", "idempotency_key": key, "expected_total": total, **CARD})
    assert again.status_code == 303 and again.headers["location"] == placed.headers["location"]  # a double submit
    confirmation = shopper.get(placed.headers["location"])
    assert confirmation.status_code == 200 and "Thank you" in confirmation.text and "4242" in confirmation.text
    assert_private(confirmation)
    assert httpx.get(f"{stack.url('origin')}{placed.headers['location']}").status_code == 404  # not for others
    assert shopper.get("/us/en/cart").text.count("Your cart is empty") == 1  # the ordered cart is closed

    def catalog_stock() -> int:
        product = httpx.get(f"{stack.url('catalog')}/products/{slug}", params={"region": "us"}).json()
        return next(v["stock"] for v in product["variants"] if v["sku"] == sku)

    deadline = time.monotonic() + 30
    while catalog_stock() != 38 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert catalog_stock() == 38  # the catalog follows checkout's stock


def test_csrf_is_required_for_every_change(stack: Stack) -> None:
    _, sku = in_stock_sku(stack)
    shopper = Shopper(stack)
    no_token = shopper.http.post("/us/en/cart", data={"sku": sku, "quantity": "1"})
    assert no_token.status_code == 200 and "Add to your cart?" in no_token.text  # the no-script path asks first
    assert_private(no_token)
    assert "sf_cart_us" not in no_token.headers.get("set-cookie", "")
    forged = shopper.http.post("/us/en/cart", data={"sku": sku, "quantity": "1", "csrf": "0" * 64})
    assert forged.status_code == 403 and "expired" in forged.text
    shopper.csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', no_token.text).group(1)  # type: ignore[union-attr]
    assert shopper.post("/us/en/cart", {"sku": sku, "quantity": "1"}).status_code == 303
    other = Shopper(stack)
    other.token()  # a valid token, but for another session
    stolen = other.http.post("/us/en/cart/update", data={"sku": sku, "quantity": "0", "csrf": shopper.csrf})
    assert stolen.status_code == 403
    for path in ("/us/en/cart/update", "/us/en/checkout"):
        response = shopper.http.post(path, data={"sku": sku, "quantity": "5", "step": "contact", "email": "x@y.zz"})
        assert response.status_code == 403, path
    quote = shopper.http.post("/us/en/checkout/quote", json=ADDRESS)
    assert quote.status_code == 403


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({"sku": "SKU-99999-9", "quantity": "1"}, 422),
        ({"sku": "<script>", "quantity": "1"}, 422),
        ({"quantity": "1"}, 422),
        ({"sku": "SKU-00001-1", "quantity": "0"}, 422),
        ({"sku": "SKU-00001-1", "quantity": "-2"}, 422),
        ({"sku": "SKU-00001-1", "quantity": "100000"}, 422),
        ({"sku": "SKU-00001-1", "quantity": "1e3"}, 422),
    ],
)
def test_bad_cart_input_gets_a_page_not_a_500(stack: Stack, form: dict[str, str], status: int) -> None:
    shopper = Shopper(stack)
    shopper.token()
    response = shopper.post("/us/en/cart", form)
    assert response.status_code == status, response.text
    assert "<h1" in response.text
    assert_private(response)


def test_checkout_refusals_show_inline_errors(stack: Stack) -> None:
    _, sku = in_stock_sku(stack)
    shopper = Shopper(stack)
    shopper.token()
    assert shopper.get("/us/en/checkout").status_code == 303  # an empty cart goes back to the cart page
    shopper.post("/us/en/cart", {"sku": sku, "quantity": "1"})
    shopper.get("/us/en/checkout")
    bad_email = shopper.post("/us/en/checkout", {"step": "contact", "email": "not-an-email"})
    assert bad_email.status_code == 422 and 'aria-invalid="true"' in bad_email.text
    shopper.post("/us/en/checkout", {"step": "contact", "email": "ada@example.com"})
    abroad = shopper.post("/us/en/checkout", {"step": "address", **ADDRESS, "country": "FR"})
    assert abroad.status_code == 422 and "We ship to US" in abroad.text
    shopper.post("/us/en/checkout", {"step": "address", **ADDRESS})
    shopper.post("/us/en/checkout", {"step": "shipping", "method": "standard"})
    page = shopper.get("/us/en/checkout")
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    tampered = shopper.post(
        "/us/en/checkout", {"step": "place", "idempotency_key": key, "expected_total": "0.01", **CARD}
    )
    assert tampered.status_code == 409 and "review" in tampered.text
    bad_card = shopper.post(
        "/us/en/checkout", {"step": "place", "idempotency_key": key, **CARD, "number": "1234 5678 9012 3456"}
    )
    assert bad_card.status_code == 422 and "not a valid card number" in bad_card.text
    assert shopper.post("/us/en/checkout", {"step": "teleport"}).status_code == 400
    quote = shopper.http.post(
        "/us/en/checkout/quote", json={**ADDRESS, "state": "OR"}, headers={"X-CSRF-Token": shopper.csrf}
    )
    assert quote.status_code == 200 and "Sales tax 0%" in quote.json()["html"]
    assert (
        shopper.http.post("/us/en/checkout/quote", content=b"{", headers={"X-CSRF-Token": shopper.csrf}).status_code
        == 400
    )


def test_cached_pages_never_carry_or_read_cookies(stack: Stack) -> None:
    slug, sku = in_stock_sku(stack)
    shopper = Shopper(stack)
    shopper.token()
    shopper.post("/us/en/cart", {"sku": sku, "quantity": "3"})
    with_cookies = shopper.http.get(f"/us/en/p/{slug}")
    without = httpx.get(f"{stack.url('origin')}/us/en/p/{slug}")
    assert "set-cookie" not in with_cookies.headers and "set-cookie" not in without.headers
    assert with_cookies.headers["cache-control"].startswith("public")
    strip = re.compile(r"data-cart-count>[^<]*<")
    assert strip.sub("", with_cookies.text) == strip.sub("", without.text)
    assert "data-needs-token" in without.text and 'name="csrf" value=""' in without.text


def test_private_pages_are_compressed_for_clients_that_take_it(stack: Stack) -> None:
    """Cart and checkout are never cached, so each view is compressed on its way out (brotli, else gzip)."""
    shopper = Shopper(stack)
    slug, sku = in_stock_sku(stack)
    shopper.token()
    assert shopper.post("/us/en/cart", {"sku": sku, "quantity": "1"}).status_code == 303
    for encoding in ("br", "gzip"):
        page = shopper.http.get("/us/en/cart", headers={"Accept-Encoding": encoding})
        assert page.status_code == 200 and page.headers["content-encoding"] == encoding
        assert_private(page)
        assert "Accept-Encoding" in page.headers["vary"]
        assert f"/us/en/p/{slug}" in page.text  # httpx decoded it
    plain = shopper.http.get("/us/en/cart", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and f"/us/en/p/{slug}" in plain.text


def test_funnel_command(stack: Stack) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "storefront", "funnel", "--region", "us"],
        env=stack.env,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = dict(re.findall(r"^\s+(\w+)\s+(\d+)", result.stdout, flags=re.M))
    assert int(rows["cart"]) >= 1 and int(rows["placed"]) >= 1
    assert int(rows["cart"]) >= int(rows["checkout"]) >= int(rows["placed"])
    assert "from previous" in result.stdout


def test_a_checkout_killed_while_the_card_is_charged_settles_on_restart(stack: Stack) -> None:
    """SIGKILL between the provider charging the card and checkout recording it: after the restart the order
    is placed exactly once, from the provider's record, and its stock is committed."""
    import contextlib
    import threading
    import uuid

    _, sku = in_stock_sku(stack, quantity=10)
    api = stack.url("checkout")
    before = httpx.get(f"{api}/admin/stock/us/{sku}", headers=ADMIN).json()  # other tests' carts may hold some
    cart = httpx.post(f"{api}/carts", json={"region": "us"}).json()
    for method, path, body in (
        ("POST", "lines", {"sku": sku, "quantity": 1}),
        ("PUT", "contact", {"email": "crash@example.com"}),
        ("PUT", "address", ADDRESS),
        ("PUT", "shipping", {"method": "standard"}),
    ):
        cart = httpx.request(method, f"{api}/carts/{cart['id']}/{path}", json=body).json()
    card = {"number": "4000000000000259", "exp_month": 12, "exp_year": 2099, "cvc": "123"}  # charged, then hangs
    body = {"cart_id": cart["id"], "card": card, "expected_total": cart["total"]["amount"]}

    def place() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the service dies under this request
            httpx.post(f"{api}/orders", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=60)

    thread = threading.Thread(target=place, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not charged(stack, cart["id"]):  # the test provider records the charge, then hangs: kill it there
        assert time.monotonic() < deadline, "the card was never charged"
        time.sleep(0.05)
    process = stack.processes.pop("checkout")
    process.kill()
    process.wait()
    stack.start("checkout")
    deadline = time.monotonic() + 60  # settled once the payment timeout has passed (10 s), at the next sweep
    while (stock := httpx.get(f"{api}/admin/stock/us/{sku}", headers=ADMIN).json())["reserved"] != before[
        "reserved"
    ] and (time.monotonic() < deadline):
        time.sleep(0.2)
    assert stock == {**before, "on_hand": 9}  # committed, not released: the order was placed
    funnel = httpx.get(f"{api}/admin/funnel", headers=ADMIN).json()["steps"]
    assert next(row["carts"] for row in funnel if row["step"] == "placed") >= 1


def test_a_sold_out_first_variant_is_not_the_one_chosen(stack: Stack) -> None:
    items = httpx.get(f"{stack.url('catalog')}/products", params={"region": "eu", "page_size": 100}).json()["items"]
    item = next(i for i in reversed(items) if len(i["skus"]) >= 2)
    first, second = item["skus"][:2]
    for sku, quantity in ((first, 0), (second, 5)):
        response = httpx.put(f"{stack.url('checkout')}/admin/stock/eu/{sku}", json={"on_hand": quantity}, headers=ADMIN)
        assert response.status_code == 200

    def shown(sku: str) -> str:
        product = httpx.get(f"{stack.url('catalog')}/products/{item['slug']}", params={"region": "eu"}).json()
        return next(v["availability"] for v in product["variants"] if v["sku"] == sku)

    deadline = time.monotonic() + 30
    while (shown(first), shown(second)) != ("sold_out", "low_stock") and time.monotonic() < deadline:
        time.sleep(0.1)
    html = httpx.get(f"{stack.url('origin')}/eu/de/p/{item['slug']}").text
    assert re.search(rf'value="{first}"\s+disabled', html)
    assert re.search(rf'value="{second}"\s+checked', html)


def test_listings_sort_by_the_price_pricing_has_now(stack: Stack) -> None:
    """The catalog's price index follows pricing's outbox: a product repriced below every other in its
    category comes first in a price-ascending listing, with no reseed."""
    catalog, pricing = stack.url("catalog"), stack.url("pricing")
    listing = httpx.get(f"{catalog}/products", params={"region": "us", "sort": "price_desc", "page_size": 5}).json()
    dearest = listing["items"][0]
    category = dearest["category"]

    def cheapest_first() -> str:
        params = {"region": "us", "category": category, "sort": "price_asc", "page_size": 1}
        return httpx.get(f"{catalog}/products", params=params).json()["items"][0]["slug"]

    assert cheapest_first() != dearest["slug"]
    changed = httpx.put(f"{pricing}/admin/prices/us/{dearest['skus'][0]}", json={"list": "1.00"}, headers=ADMIN)
    assert changed.status_code == 200 and changed.json()["changed"] is True
    deadline = time.monotonic() + 30
    while cheapest_first() != dearest["slug"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert cheapest_first() == dearest["slug"]

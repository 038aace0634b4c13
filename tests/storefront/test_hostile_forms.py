"""Hostile input to every HTML form through real HTTP: a 4xx every time, never a 500, and nothing changes."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.backends.checkout.conftest import US_ADDRESS as ADDRESS
from tests.storefront.conftest import Stack
from tests.storefront.test_checkout import CARD, Shopper, in_stock_sku

# Superscript two, circled one, Arabic-Indic one: digits to str.isdigit(), not to int().
HOSTILE_NUMBERS = ("\u00b2", "\u2460", "\u0661", "99999999999999999999999", "1e3", "-1", "0x10", " ", "1.5", "\x00")
HUGE = "x" * 1_000_000


def cart_lines(shopper: Shopper) -> str:
    """The cart page's lines, as the shopper sees them (for "nothing changed")."""
    page = shopper.get("/us/en/cart").text
    return "".join(re.findall(r'name="quantity" value="\d+"|/us/en/p/[a-z0-9-]+', page))


@pytest.fixture
def shopper_at_payment(stack: Stack) -> tuple[Shopper, str]:
    """A shopper with one line in the cart, contact, address and shipping done."""
    _, sku = in_stock_sku(stack)
    shopper = Shopper(stack)
    shopper.token()
    assert shopper.post("/us/en/cart", {"sku": sku, "quantity": "1"}).status_code == 303
    shopper.get("/us/en/checkout")
    for step in (
        {"step": "contact", "email": "ada@example.com"},
        {"step": "address", **ADDRESS},
        {"step": "shipping", "method": "standard"},
    ):
        assert shopper.post("/us/en/checkout", step).status_code == 303
    return shopper, sku


def test_hostile_quantities_to_add_and_update_are_refused_and_change_nothing(
    shopper_at_payment: tuple[Shopper, str],
) -> None:
    shopper, sku = shopper_at_payment
    before = cart_lines(shopper)
    for number in HOSTILE_NUMBERS:
        for path in ("/us/en/cart", "/us/en/cart/update"):
            response = shopper.post(path, {"sku": sku, "quantity": number})
            assert 400 <= response.status_code < 500, (path, number, response.status_code)
    assert cart_lines(shopper) == before


def test_the_anonymous_no_script_add_to_cart_refuses_hostile_quantities(stack: Stack) -> None:
    """Without a session or a token the form asks for confirmation first; a bad quantity is still a 4xx."""
    _, sku = in_stock_sku(stack)
    with httpx.Client(base_url=stack.url("origin"), timeout=20) as anonymous:
        for number in HOSTILE_NUMBERS:
            response = anonymous.post("/us/en/cart", data={"sku": sku, "quantity": number})
            assert 400 <= response.status_code < 500, (number, response.status_code)
            assert "sf_cart_us" not in response.headers.get("set-cookie", "")  # no cart was made


@pytest.mark.parametrize(
    "form",
    [
        {"step": "contact", "email": HUGE},
        {"step": "contact", "email": "ada@example.com\x00"},
        {"step": "address", **ADDRESS, "line1": HUGE},
        {"step": "address", **ADDRESS, "postal_code": "①②③④⑤"},
        {"step": "shipping", "method": "teleport" * 1000},
        {"step": "place", "idempotency_key": "k" * 300, **CARD},
        {"step": "place", "idempotency_key": "a" * 32, **CARD, "number": "\uff14\uff12" * 8},
        {"step": "place", "idempotency_key": "a" * 32, **CARD, "exp_month": "①", "exp_year": "²⁰⁹⁹"},
        {"step": "place", "idempotency_key": "a" * 32, **CARD, "exp_year": "99999999999999999999"},
        {"step": "\udcff"},
    ],
)
def test_hostile_checkout_steps_are_refused_and_change_nothing(
    shopper_at_payment: tuple[Shopper, str], form: dict[str, str]
) -> None:
    shopper, _ = shopper_at_payment
    before = shopper.get("/us/en/checkout").text
    data = {k: v.encode("utf-8", "surrogateescape") if isinstance(v, str) else v for k, v in form.items()}
    response = shopper.http.post("/us/en/checkout", data={"csrf": shopper.csrf, **data})
    assert 400 <= response.status_code < 500, response.status_code
    after = shopper.get("/us/en/checkout").text
    summary = re.compile(r'<dl class="done".*?</dl>', re.S)
    assert summary.findall(after) == summary.findall(before)  # the saved steps are as they were


def test_invalid_utf8_and_oversized_bodies_are_4xx(shopper_at_payment: tuple[Shopper, str]) -> None:
    shopper, sku = shopper_at_payment
    raw = f"csrf={shopper.csrf}&sku={sku}&quantity=\xff\xfe".encode("latin-1")
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    for path in ("/us/en/cart", "/us/en/cart/update", "/us/en/checkout"):
        response = shopper.http.post(path, content=raw, headers=headers)
        assert 400 <= response.status_code < 500, (path, response.status_code)
        big = shopper.http.post(path, content=b"a=" + b"x" * 1_100_000, headers=headers)
        assert 400 <= big.status_code < 500, (path, big.status_code)
    quote_headers = {"X-CSRF-Token": shopper.csrf, "Content-Type": "application/json"}
    for body in (b'{"postal_code": "\xff"}', b"[" * 10_000, b'{"state": "' + b"x" * 1_100_000 + b'"}'):
        quote = shopper.http.post("/us/en/checkout/quote", content=body, headers=quote_headers)
        assert 400 <= quote.status_code < 500, quote.status_code
        assert quote.headers["content-type"].startswith("application/problem+json")


def test_foreign_and_missing_csrf_tokens_change_nothing(stack: Stack, shopper_at_payment: tuple[Shopper, str]) -> None:
    shopper, sku = shopper_at_payment
    before = cart_lines(shopper)
    other = Shopper(stack)
    other.token()
    for token in ("", "0" * 64, other.csrf, "²" * 64):
        for path, form in (
            ("/us/en/cart/update", {"sku": sku, "quantity": "7"}),
            ("/us/en/checkout", {"step": "contact", "email": "mallory@example.com"}),
        ):
            response = shopper.http.post(path, data={"csrf": token, **form})
            assert response.status_code == 403, (path, token[:4], response.status_code)
    assert cart_lines(shopper) == before
    assert "mallory" not in shopper.get("/us/en/checkout").text

"""What a person sees: the product page in headless Chromium loads its pictures, and picks AVIF."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import pytest

from tests.storefront.conftest import Stack

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is required under CI=true (apt-get install chromium)")
        pytest.skip("Chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


def test_product_page_pictures_load_and_prefer_avif(stack: Stack, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    item = httpx.get(f"{stack.url('catalog')}/products", params={"region": "eu", "page_size": 1}).json()["items"][0]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    response = page.goto(f"{stack.url('origin')}/eu/de/p/{item['slug']}", wait_until="networkidle")
    assert response is not None and response.status == 200
    main = page.locator("section.gallery picture img").first
    assert main.get_attribute("fetchpriority") == "high"
    loaded = page.evaluate(
        "Array.from(document.querySelectorAll('picture img'))"
        ".filter(i => i.complete && i.naturalWidth > 0).map(i => i.currentSrc)"
    )
    assert loaded and all(src.endswith(".avif") for src in loaded)
    page.screenshot(path=str(tmp_path / "product.png"))
    # Nothing shifts: every image declares its box before it loads.
    assert page.evaluate("Array.from(document.images).every(i => i.getAttribute('width') && i.getAttribute('height'))")
    page.close()


def test_a_shopper_checks_out_from_the_product_page(stack: Stack, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Product page to confirmation in Chromium, with scripts on: the add-to-cart form fetches its token,
    the summary follows the address before it is saved, and every step is screenshotted."""
    listing = httpx.get(f"{stack.url('catalog')}/products", params={"region": "us", "in_stock": True}).json()
    item = listing["items"][2]
    product = httpx.get(f"{stack.url('catalog')}/products/{item['slug']}", params={"region": "us"}).json()
    sku = next(v["sku"] for v in product["variants"] if v["availability"] != "sold_out")
    stocked = httpx.put(
        f"{stack.url('checkout')}/admin/stock/us/{sku}",
        json={"on_hand": 20},
        headers={"Authorization": "Bearer e2e-admin"},
    )
    assert stocked.status_code == 200
    shots = Path(os.environ.get("STOREFRONT_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.goto(f"{stack.url('origin')}/us/en/p/{item['slug']}", wait_until="networkidle")
    page.check(f"input[name=sku][value='{sku}']")
    page.fill("#quantity", "2")
    page.screenshot(path=str(shots / "1-product.png"), full_page=True)
    page.click("text=Add to cart")
    page.wait_for_url("**/us/en/cart")
    heading = page.locator("h1").inner_text()
    assert heading == "Your cart", f"{heading}: {page.locator('main').inner_text()[:300]}"
    count = page.locator("[data-cart-count]").first.inner_text()
    assert count == "2", page.locator("main").inner_text()[:400]
    page.screenshot(path=str(shots / "2-cart.png"), full_page=True)
    page.click("text=Check out")
    page.wait_for_url("**/us/en/checkout")
    page.fill("#email", "grace@example.com")
    page.screenshot(path=str(shots / "3-contact.png"), full_page=True)
    page.click("text=Continue to shipping address")
    page.fill("#name", "Grace Hopper")
    page.fill("#line1", "1 Navy Way")
    page.fill("#city", "Arlington")
    page.fill("#postal_code", "22202")
    page.select_option("#state", "VA")
    page.wait_for_function("document.querySelector('#summary').innerText.includes('Sales tax 5.3%')")
    page.select_option("#state", "OR")  # the summary follows the address before it is saved
    page.wait_for_function("document.querySelector('#summary').innerText.includes('Sales tax 0%')")
    page.select_option("#state", "VA")
    page.screenshot(path=str(shots / "4-address.png"), full_page=True)
    page.click("text=Continue to shipping method")
    express = page.locator("label:has(input[value=express]) > span").last.inner_text()
    page.check("input[name=method][value=express]")  # the summary follows the method before it is saved
    page.wait_for_function(
        "price => document.querySelector('#summary [data-shipping]').innerText.trim() === price", arg=express
    )
    page.screenshot(path=str(shots / "5-shipping.png"), full_page=True)
    page.click("text=Continue to payment")
    page.fill("#number", "4242 4242 4242 4242")
    page.fill("#exp_month", "12")
    page.fill("#exp_year", "2030")
    page.fill("#cvc", "123")
    total = page.locator("[data-total]").inner_text()
    page.screenshot(path=str(shots / "6-payment.png"), full_page=True)
    page.click("#place-order")
    page.wait_for_url("**/checkout/orders/*")
    assert "Thank you" in page.locator("h1").inner_text()
    assert page.locator("[data-total]").inner_text() == total
    page.screenshot(path=str(shots / "7-confirmation.png"), full_page=True)
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["sf_cart_us"]["httpOnly"] and cookies["sf_cart_us"]["sameSite"] == "Lax"
    assert cookies["sf_session"]["httpOnly"]
    context.close()

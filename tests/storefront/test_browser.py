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


def test_a_gallery_thumbnail_shows_its_image_without_scripts(stack: Stack, browser) -> None:  # type: ignore[no-untyped-def]
    listing = httpx.get(f"{stack.url('catalog')}/products", params={"region": "eu", "page_size": 50}).json()
    slug = next(
        item["slug"]
        for item in listing["items"]
        if len(httpx.get(f"{stack.url('catalog')}/products/{item['slug']}", params={"region": "eu"}).json()["images"])
        > 1
    )
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{stack.url('origin')}/eu/de/p/{slug}", wait_until="networkidle")
    figures = page.locator("section.gallery .stage figure")
    assert figures.nth(0).is_visible() and not figures.nth(1).is_visible()
    page.locator(".thumbs a").nth(1).click()
    assert page.url.endswith("#image-2")
    assert figures.nth(1).is_visible() and not figures.nth(0).is_visible()
    page.wait_for_function("document.querySelector('#image-2 img').naturalWidth > 0")
    page.locator(".thumbs a").nth(0).click()
    assert figures.nth(0).is_visible() and not figures.nth(1).is_visible()
    context.close()


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


# --- Mobile layout and accessibility: axe-core on every page kind and checkout step, overflow at phone widths ---

AXE = Path(__file__).with_name("axe") / "axe.min.js"  # axe-core 4.14 (MPL-2.0, see axe/LICENSE), no network
PHONES = (360, 390, 414)
AXE_WIDTHS = ((390, 844), (1366, 900))
# A `sizes` value's width in CSS pixels: an SVG 1000 px wide declared as "1000w" takes exactly that width.
SIZES_JS = """(sizes) => new Promise(done => {
  const img = new Image();
  img.onload = () => done(img.naturalWidth);
  img.sizes = sizes;
  img.srcset = "data:image/svg+xml," + encodeURIComponent(
    "<svg xmlns='http://www.w3.org/2000/svg' width='1000' height='10'/>") + " 1000w";
})"""


def audit(page, label: str, failures: list[str]) -> None:  # type: ignore[no-untyped-def]
    """No horizontal scroll at 360, 390 and 414 px; no axe-core violation at 390x844 and 1366x900."""
    for width in PHONES:
        page.set_viewport_size({"width": width, "height": 844})
        wide = page.evaluate(
            "() => [document.documentElement.scrollWidth, innerWidth, Array.from(document.querySelectorAll('body *'))"
            ".filter(e => e.getBoundingClientRect().right > innerWidth + 1)"
            ".slice(0, 3).map(e => e.outerHTML.slice(0, 80))]"
        )
        if wide[0] > wide[1]:
            failures.append(f"{label} at {width}px: {wide[0]} px wide; {wide[2]}")
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text())
    for width, height in AXE_WIDTHS:
        page.set_viewport_size({"width": width, "height": height})
        found = page.evaluate("axe.run(document, {resultTypes: ['violations']}).then(r => r.violations)")
        for v in found:
            nodes = "; ".join(n["html"][:100] for n in v["nodes"][:3])
            failures.append(f"{label} at {width}px: {v['id']} ({v['impact']}): {v['help']} [{nodes}]")


def test_every_page_kind_is_accessible_and_fits_a_phone(stack: Stack, browser) -> None:  # type: ignore[no-untyped-def]
    item = httpx.get(f"{stack.url('catalog')}/products", params={"region": "us", "page_size": 1}).json()["items"][0]
    pages = {
        "home": "/us/en/",
        "home (eu/de)": "/eu/de/",
        "category": f"/us/en/c/{item['category']}",
        "parent category": "/us/en/c/clothing",
        "product": f"/us/en/p/{item['slug']}",
        "search": "/us/en/search?q=wool",
        "empty search": "/us/en/search",
        "content page": "/eu/de/pages/about",
        "region chooser": "/regions",
        "empty cart": "/us/en/cart",
        "404": "/us/en/p/no-such-thing",
    }
    failures: list[str] = []
    page = browser.new_page(viewport={"width": 390, "height": 844})
    for label, path in pages.items():
        page.goto(f"{stack.url('origin')}{path}", wait_until="load")
        audit(page, label, failures)
    page.close()
    assert not failures, "\n".join(failures)


def test_checkout_steps_are_accessible_and_fit_a_phone(stack: Stack, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    listing = httpx.get(f"{stack.url('catalog')}/products", params={"region": "us", "in_stock": True}).json()
    item = listing["items"][3]
    product = httpx.get(f"{stack.url('catalog')}/products/{item['slug']}", params={"region": "us"}).json()
    sku = next(v["sku"] for v in product["variants"] if v["availability"] != "sold_out")
    httpx.put(
        f"{stack.url('checkout')}/admin/stock/us/{sku}",
        json={"on_hand": 20},
        headers={"Authorization": "Bearer e2e-admin"},
    )
    shots = Path(os.environ.get("STOREFRONT_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{stack.url('origin')}/us/en/p/{item['slug']}")
    page.check(f"input[name=sku][value='{sku}']")
    page.click("text=Add to cart")
    page.wait_for_url("**/us/en/cart")
    audit(page, "cart", failures)
    page.set_viewport_size({"width": 390, "height": 844})
    page.click("text=Check out")
    audit(page, "checkout: contact", failures)
    page.set_viewport_size({"width": 390, "height": 844})
    page.fill("#email", "ada@example.com")
    page.click("text=Continue to shipping address")
    page.fill("#name", "Ada Lovelace")
    page.fill("#line1", "12 St James's Square")
    page.fill("#city", "Arlington")
    page.fill("#postal_code", "22202")
    page.select_option("#state", "VA")
    page.screenshot(path=str(shots / "mobile-checkout-address.png"))
    audit(page, "checkout: address", failures)
    page.set_viewport_size({"width": 390, "height": 844})
    page.click("text=Continue to shipping method")
    audit(page, "checkout: shipping", failures)
    page.set_viewport_size({"width": 390, "height": 844})
    page.click("text=Continue to payment")
    page.fill("#number", "4242 4242 4242 4242")
    page.fill("#exp_month", "12")
    page.fill("#exp_year", "2030")
    page.fill("#cvc", "123")
    audit(page, "checkout: payment", failures)
    page.set_viewport_size({"width": 390, "height": 844})
    page.click("#place-order")
    page.wait_for_url("**/checkout/orders/*")
    audit(page, "order confirmation", failures)
    context.close()
    assert not failures, "\n".join(failures)


def test_a_phone_sees_the_price_and_button_first_and_two_cards_a_row(stack: Stack, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    item = httpx.get(f"{stack.url('catalog')}/products", params={"region": "us", "page_size": 1}).json()["items"][0]
    shots = Path(os.environ.get("STOREFRONT_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page.goto(f"{stack.url('origin')}/us/en/", wait_until="networkidle")
    page.screenshot(path=str(shots / "mobile-home.png"))
    assert page.locator("header.site").bounding_box()["height"] <= 844 * 0.2  # type: ignore[index]
    page.goto(f"{stack.url('origin')}/us/en/p/{item['slug']}", wait_until="networkidle")
    page.screenshot(path=str(shots / "mobile-product.png"))
    for selector in (".product .lead .price", ".variants button[type=submit]"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["y"] + box["height"] <= 844, f"{selector} is below the fold: {box}"
    page.goto(f"{stack.url('origin')}/us/en/c/{item['category']}", wait_until="networkidle")
    page.screenshot(path=str(shots / "mobile-category.png"))
    first, second = (page.locator("ul.grid > li.card").nth(i).bounding_box() for i in (0, 1))
    assert first and second and first["y"] == second["y"] and second["x"] > first["x"] + first["width"]
    page.close()


def test_sizes_match_the_rendered_width_at_every_breakpoint(stack: Stack, browser) -> None:  # type: ignore[no-untyped-def]
    item = httpx.get(f"{stack.url('catalog')}/products", params={"region": "us", "page_size": 1}).json()["items"][0]
    page = browser.new_page()
    mismatches = []
    for width in (360, 390, 414, 700, 1024, 1366):
        page.set_viewport_size({"width": width, "height": 900})
        for path in ("/us/en/", f"/us/en/c/{item['category']}", f"/us/en/p/{item['slug']}"):
            page.goto(f"{stack.url('origin')}{path}")
            for img in page.locator("picture img").all():
                rendered = img.bounding_box()
                if rendered is None or rendered["width"] == 0:
                    continue
                declared = page.evaluate(SIZES_JS, img.evaluate("i => i.parentElement.querySelector('source').sizes"))
                # Within 12%: enough for the browser to pick the right candidate from the width ladder.
                if abs(declared - rendered["width"]) > 0.12 * rendered["width"]:
                    mismatches.append(f"{path} at {width}px: sizes {declared}px, rendered {rendered['width']:.0f}px")
    page.close()
    assert not mismatches, "\n".join(mismatches)


def test_instant_navigation(stack: Stack, browser) -> None:  # type: ignore[no-untyped-def]
    """Speculation rules for product and category links only, the LCP image preloaded at high priority, and
    cached pages restored from the back/forward cache (Playwright turns that cache off unless asked)."""
    item = httpx.get(f"{stack.url('catalog')}/products", params={"region": "us", "page_size": 1}).json()["items"][0]
    launched = browser.browser_type.launch(
        executable_path=CHROMIUM, args=FLAGS, ignore_default_args=["--disable-back-forward-cache"]
    )
    try:
        page = launched.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{stack.url('origin')}/us/en/c/{item['category']}", wait_until="load")
        rules = page.evaluate("JSON.parse(document.querySelector('script[type=speculationrules]').textContent)")
        text = str(rules)
        assert "/*/*/p/*" in text and "/*/*/c/*" in text and "moderate" in text
        assert "/*/*/cart*" in text and "/*/*/checkout*" in text
        page.evaluate("window.restoredMarker = 42")
        page.click(f"a[href='/us/en/p/{item['slug']}']")
        page.wait_for_url(f"**/p/{item['slug']}")
        preload = page.locator("link[rel=preload][as=image]")
        assert preload.count() == 1 and preload.get_attribute("fetchpriority") == "high"
        page.go_back(wait_until="commit")  # a page restored from the bfcache fires pageshow, not load
        assert page.url.endswith(f"/c/{item['category']}")
        reasons = page.evaluate("JSON.stringify(performance.getEntriesByType('navigation')[0].notRestoredReasons)")
        assert page.evaluate("window.restoredMarker") == 42, f"not restored from the bfcache: {reasons}"
    finally:
        launched.close()

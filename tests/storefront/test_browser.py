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

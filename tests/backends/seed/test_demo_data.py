"""The demo shop reads as a real one: each product's colour, material, options, price, words and pictures agree."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from backends.seed.demo_data import FX, LINES, build
from edge_config import load_regions

NOW = datetime(2026, 12, 1, tzinfo=UTC)
REGIONS = load_regions()


def _photos(kind: str, colour: str) -> list[dict[str, Any]]:
    """Stands in for the drawings: a reference that says which look it shows."""
    return [
        {"hash": f"{kind}-{colour}-{view}", "width": 1600, "height": 1200, "view": view}
        for view in ("front", "detail", "side")
    ]


@pytest.fixture(scope="module")
def shop() -> Any:
    return build(products=160, seed=42, regions=REGIONS, photos=_photos, now=NOW)


def _line(shop: Any, product: dict[str, Any]) -> Any:
    slug = next(c["slug"] for c in shop.categories if c["id"] == product["category_id"])
    return LINES[slug]


def test_every_leaf_category_has_a_line() -> None:
    shop = build(products=1, seed=1, regions=REGIONS, photos=None, now=NOW)
    leaves = {c["slug"] for c in shop.categories if c["parent_id"] is not None}
    assert leaves == set(LINES)


def test_pictures_show_the_product_in_its_own_colour(shop: Any) -> None:
    for product in shop.products:
        line, colour = _line(shop, product), product["attributes"]["colour"]
        assert colour in line.colours
        assert [image["hash"] for image in product["images"]] == [
            f"{line.kind}-{colour}-{view}" for view in ("front", "detail", "side")
        ]
        alts = [image["alt"] for image in product["images"]]
        assert alts[0] == f"{product['title']} in {colour}"
        assert len(set(alts)) == len(alts), "each view is described differently"
        assert colour in product["description"] and product["attributes"]["material"] in product["description"]
        assert line.noun.lower() in product["title"].lower()


def test_materials_that_are_colours_follow_the_colour(shop: Any) -> None:
    copper = [p for p in shop.products if p["attributes"]["colour"] == "copper"]
    assert copper and all(p["attributes"]["material"] == "copper" for p in copper)


def test_options_are_the_lines_and_never_a_second_colour(shop: Any) -> None:
    by_product: dict[int, list[dict[str, str]]] = {}
    for variant in shop.variants:
        by_product.setdefault(variant["product_id"], []).append(variant["options"])
    for product in shop.products:
        line, options = _line(shop, product), by_product[product["id"]]
        assert all(list(option) == [line.option] for option in options)
        values = [option[line.option] for option in options]
        assert len(set(values)) == len(values) >= min(2, len(line.values))
        assert values == sorted(values, key=line.values.index), "options in the line's order (S before M)"


def test_prices_suit_the_category(shop: Any) -> None:
    """A tent costs hundreds, a cap tens: every list price is within its line's range, converted per region."""
    region_currency = {region.code: region.currency for region in REGIONS}
    products = {p["id"]: p for p in shop.products}
    for price in shop.prices:
        line = _line(shop, products[price["product_id"]])
        rate = FX[region_currency[price["region"]]]
        low = int(min(line.prices_usd) * rate) * 100  # charm pricing rounds down to .49 or .99
        high = (max(line.prices_usd) * Decimal("1.3") + 1) * rate * 100
        assert low <= price["list_minor"] <= high, (line.noun, price)
        assert price["sale_minor"] is None or price["sale_minor"] < price["list_minor"]


def test_the_banner_is_the_hero_image_in_every_locale() -> None:
    shop = build(products=5, seed=1, regions=REGIONS, photos=_photos, now=NOW, hero="banner")
    hero = next(e for e in shop.entries if e["type"] == "hero")
    assert len(hero["fields"]) > 1 and {fields["image"] for fields in hero["fields"].values()} == {"banner"}


def test_the_same_seed_builds_the_same_shop() -> None:
    first = build(products=30, seed=9, regions=REGIONS, photos=_photos, now=NOW)
    again = build(products=30, seed=9, regions=REGIONS, photos=_photos, now=NOW)
    other = build(products=30, seed=10, regions=REGIONS, photos=_photos, now=NOW)
    assert first.products == again.products and first.prices == again.prices
    assert first.products != other.products


def test_slugs_are_unique_ascii_words(shop: Any) -> None:
    slugs = [product["slug"] for product in shop.products]
    assert len(set(slugs)) == len(slugs)
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug) for slug in slugs), slugs
    assert any(product["title"].startswith("Café") for product in shop.products)
    assert any(slug.endswith("-cafe-table-lamp") for slug in slugs)

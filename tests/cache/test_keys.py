"""Surrogate keys: one vocabulary, both forms, the same keys in all three headers, bounded size."""

from __future__ import annotations

from cache import keys as k
from cache.keys import MAX_HEADER_BYTES, SurrogateKeys


def test_every_key_in_plain_and_region_form_in_all_three_headers() -> None:
    keys = SurrogateKeys(region="eu", kind="product")
    keys.add(k.product(7), k.price("SKU-1"), k.NAV)
    headers = keys.headers()
    fastly = headers["Surrogate-Key"].split(" ")
    assert headers["xkey"].split(" ") == fastly
    assert headers["Cache-Tag"].split(",") == fastly
    for key in ("product:7", "price:SKU-1", "nav", "page:product", "deploy"):
        assert key in fastly and f"{key}@eu" in fastly


def test_unsafe_characters_cannot_split_keys() -> None:
    keys = SurrogateKeys(region="us", kind="category")
    keys.add("category:a b,c\r\nX-Evil: 1")
    [key] = [key for key in keys.keys if key.startswith("category:")]
    assert " " not in key and "," not in key and "\n" not in key


def test_oversized_key_sets_collapse_to_coarser_keys() -> None:
    keys = SurrogateKeys(region="apac", kind="search")
    keys.add(*(k.price(f"SKU-{i:05d}-1") for i in range(2000)), *(k.product(i) for i in range(200)))
    header = keys.headers()["Surrogate-Key"]
    assert len(header) <= MAX_HEADER_BYTES
    assert "price:" not in header  # prices go first: a price change also purges its product key
    assert "product:1@apac" in header

    huge = SurrogateKeys(region="apac", kind="search")
    huge.add(*(k.product(i) for i in range(5000)))
    header = huge.headers()["Surrogate-Key"]
    assert len(header) <= MAX_HEADER_BYTES and "page:search@apac" in header and "product:" not in header

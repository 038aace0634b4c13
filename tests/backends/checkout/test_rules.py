"""Shipping and tax arithmetic: exact minor units, line by line, for every tax mode."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backends.checkout.rules import PricedLine, allocate, load_rules, quote, tax_of
from edge_config import load_regions


@pytest.fixture(scope="module")
def rules():
    return load_rules(load_regions())


def test_allocate_is_exact_and_proportional() -> None:
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert sum(allocate(999, [1999, 2999, 1])) == 999
    assert allocate(0, [5, 5]) == [0, 0]
    assert allocate(10, [0, 0]) == [0, 0]


def test_tax_added_and_included() -> None:
    assert tax_of(10000, Decimal("7.25"), "added") == 725
    assert tax_of(999, Decimal("7.25"), "added") == 72  # 72.4275 rounds half up to 72
    assert tax_of(11900, Decimal("19"), "included") == 1900
    assert tax_of(1999, Decimal("19"), "included") == 319  # 1999 - round(1679.83) = 319


def test_us_quote_adds_state_sales_tax_per_line(rules) -> None:
    lines = [PricedLine("A", "a", 2, 1999, 400), PricedLine("B", "b", 1, 5000, 1200)]
    address = {"country": "US", "state": "CA"}
    q = quote(rules["us"], lines, order_discount_minor=0, address=address, method="express")
    assert [line["tax"]["amount"] for line in q["lines"]] == ["2.90", "3.63"]  # 7.25% of 39.98 and of 50.00
    assert q["shipping"]["method"] == "express"
    assert q["shipping"]["amount"]["amount"] == "23.99"  # 19.99 + 2 kg x 2.00 (2000 g)
    assert q["tax"]["amount"]["amount"] == "6.53" and q["shipping"]["tax"]["amount"] == "0.00"
    assert q["total"]["amount"] == "120.50"  # 89.98 + 23.99 + 6.53
    oregon = quote(rules["us"], lines, order_discount_minor=0, address={"country": "US", "state": "OR"}, method=None)
    assert oregon["tax"]["amount"]["amount"] == "0.00"
    assert oregon["shipping"]["amount"]["amount"] == "0.00"  # standard is free over 75.00


def test_eu_quote_shows_the_vat_inside_the_price(rules) -> None:
    lines = [PricedLine("A", "a", 1, 11900, 500)]
    de = quote(rules["eu"], lines, order_discount_minor=0, address={"country": "DE"}, method="standard")
    assert de["tax"]["amount"]["amount"] == "19.00" and de["tax"]["mode"] == "included"
    assert de["total"]["amount"] == "119.00"  # free standard shipping over 60.00; VAT not added again
    fr = quote(rules["eu"], lines, order_discount_minor=0, address={"country": "FR"}, method="express")
    assert fr["shipping"]["amount"]["amount"] == "26.90"  # 24.90 + 1 kg x 2.00
    assert fr["tax"]["amount"]["amount"] == "24.31"  # 20% inside 119.00 (19.83) and inside 26.90 (4.48)
    assert fr["total"]["amount"] == "145.90"


def test_discount_is_spread_over_lines_before_tax(rules) -> None:
    lines = [PricedLine("A", "a", 1, 3000, 100), PricedLine("B", "b", 1, 1000, 100)]
    q = quote(rules["us"], lines, order_discount_minor=400, address={"country": "US", "state": "NY"}, method=None)
    assert [line["discount"]["amount"] for line in q["lines"]] == ["3.00", "1.00"]
    assert [line["tax"]["amount"] for line in q["lines"]] == ["1.08", "0.36"]  # 4% of 27.00 and 9.00
    assert q["total"]["amount"] == "44.43"  # 36.00 + 6.99 shipping + 1.44 tax


def test_no_address_means_no_shipping_or_tax_yet(rules) -> None:
    q = quote(rules["apac"], [PricedLine("A", "a", 1, 1000, 100)], order_discount_minor=0, address=None, method=None)
    assert q["shipping"]["amount"] is None and q["tax"]["amount"] is None and q["complete"] is False
    assert q["total"]["amount"] == "10.00"

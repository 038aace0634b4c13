"""Money is exact: integer minor units, decimal strings, no floats in disguise."""

from __future__ import annotations

import pytest

from backends.common.money import format_amount, parse_amount, percent_of


def test_round_trip() -> None:
    assert parse_amount("19.99", "USD") == 1999
    assert format_amount(1999, "EUR") == "19.99"
    assert format_amount(5, "SGD") == "0.05"
    assert parse_amount("1500", "JPY") == 1500 and format_amount(1500, "JPY") == "1500"


@pytest.mark.parametrize("text", ["19.999", "abc", "NaN", "Infinity", "1e3", ""])
def test_refusals(text: str) -> None:
    with pytest.raises(ValueError):
        parse_amount(text, "USD")


def test_percent_rounds_half_up() -> None:
    assert percent_of(1999, 1000) == 200  # 199.9 -> 200
    assert percent_of(5, 1000) == 1  # 0.5 -> 1
    assert percent_of(4, 1000) == 0

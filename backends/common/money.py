"""Exact money: integer minor units in storage, decimal strings on the wire, never a float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import get_currency_precision


def exponent(currency: str) -> int:
    return get_currency_precision(currency)


def to_decimal(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-exponent(currency))


def format_amount(minor: int, currency: str) -> str:
    """Minor units as a plain decimal string with the currency's number of places ("19.90")."""
    places = exponent(currency)
    return f"{to_decimal(minor, currency):.{places}f}"


def parse_amount(text: str, currency: str) -> int:
    """A decimal string to minor units; refuses floats in disguise (too many places, exponents, NaN)."""
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError) as exc:
        raise ValueError("must be a decimal number such as 19.99") from exc
    if not value.is_finite() or "e" in text.lower():
        raise ValueError("must be a plain decimal number")
    places = exponent(currency)
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise ValueError(f"{currency} amounts have at most {places} decimal places")
    return int(value.scaleb(places))


def percent_of(minor: int, basis_points: int) -> int:
    """`basis_points`/10000 of an amount, rounded half up to a whole minor unit."""
    return int((Decimal(minor) * basis_points / 10000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def money(minor: int, currency: str) -> dict[str, str]:
    return {"amount": format_amount(minor, currency), "currency": currency}

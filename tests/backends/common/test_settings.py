"""Settings fields declare their variable and default once: reading an empty environment gives the field defaults."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from backends.catalog.settings import CatalogSettings
from backends.checkout.settings import CheckoutSettings
from backends.common.settings import (
    CHECKOUT_URL,
    FromEnv,
    Var,
    bounded,
    declared_vars,
    derived,
    integer,
    number,
    read_env,
    required,
    setting,
)
from cache.invalidation.settings import InvalidatorSettings
from storefront.settings import OriginSettings


@dataclass(frozen=True, slots=True, kw_only=True)
class Example(FromEnv):
    count: int = setting("EXAMPLE_COUNT", 3)
    ratio: float = setting("EXAMPLE_RATIO", 0.5)
    label: str = setting(Var("EXAMPLE_LABEL", "Hi", parse=lambda _name, raw: raw.upper()))
    token: str = required(Var("EXAMPLE_TOKEN", "dev-example"))
    twice: int = derived(lambda env: 2 * int(env.get("STOREFRONT_EXAMPLE_COUNT", "3")), default=6)


def test_unset_variables_give_the_field_defaults_and_set_ones_are_parsed() -> None:
    assert Example.from_env({}) == Example(token="dev-example")
    read = Example.from_env({"STOREFRONT_EXAMPLE_COUNT": "5", "STOREFRONT_EXAMPLE_LABEL": "yo"})
    assert (read.count, read.label, read.twice) == (5, "YO", 10)
    assert [var.name for var in declared_vars(Example)] == [
        "EXAMPLE_COUNT",
        "EXAMPLE_RATIO",
        "EXAMPLE_LABEL",
        "EXAMPLE_TOKEN",
    ]


def test_bad_values_name_the_variable() -> None:
    with pytest.raises(ValueError, match="STOREFRONT_EXAMPLE_COUNT must be an integer"):
        read_env(Example, {"STOREFRONT_EXAMPLE_COUNT": "many"})
    with pytest.raises(ValueError, match="STOREFRONT_EXAMPLE_RATIO must be a number"):
        read_env(Example, {"STOREFRONT_EXAMPLE_RATIO": "half"})


@pytest.mark.parametrize(
    ("parse", "raw", "error"),
    [
        (bounded(integer, 1, 8), "9", "STOREFRONT_N must be between 1 and 8, got '9'"),
        (bounded(integer, 1, 8), "0", "STOREFRONT_N must be between 1 and 8, got '0'"),
        (bounded(integer, 1, 8), "two", "STOREFRONT_N must be an integer"),
        (bounded(number, 0.0, 1.0), "1.01", "STOREFRONT_N must be between 0 and 1, got '1.01'"),
        (bounded(number, 0.0, 1.0), "nan", "STOREFRONT_N must be between 0 and 1, got 'nan'"),
    ],
)
def test_a_bounded_value_outside_its_range_names_the_variable_and_the_range(parse, raw: str, error: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=error):
        parse("N", raw)
    assert bounded(integer, 1, 8)("N", "8") == 8 and bounded(number, 0.0, 1.0)("N", "0") == 0.0


def test_a_shared_variable_is_not_redeclared_on_a_field() -> None:
    with pytest.raises(TypeError, match="CHECKOUT_URL"):
        setting(CHECKOUT_URL, "http://elsewhere")


def test_each_service_reads_its_own_settings() -> None:
    assert CatalogSettings.from_env({"STOREFRONT_CATALOG_URL": "http://127.0.0.1:9999"}).port == 9999
    assert CheckoutSettings.from_env({"STOREFRONT_RESERVATION_TTL": "60"}).reservation_ttl == 60.0
    assert InvalidatorSettings.from_env({}).outboxes["cms"] == ("http://127.0.0.1:8103", "dev-editor-token")
    # The origin's settings know nothing of checkout's.
    assert "reservation_ttl" not in {f.name for f in dataclasses.fields(OriginSettings)}

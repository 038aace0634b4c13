"""Shipping rates and tax rules per region (from `rates.toml`), and the exact-money quote they produce."""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Literal

from backends.common.money import money, parse_amount
from edge_config import RegionCatalogue

RATES_FILE = Path(__file__).with_name("rates.toml")


@dataclass(frozen=True, slots=True)
class ShippingMethod:
    code: str
    name: str
    days: str
    base_minor: int
    per_kg_minor: int
    free_over_minor: int | None

    def cost(self, goods_minor: int, weight_grams: int) -> int:
        if self.free_over_minor is not None and goods_minor >= self.free_over_minor:
            return 0
        return self.base_minor + self.per_kg_minor * max(1, math.ceil(weight_grams / 1000))


@dataclass(frozen=True, slots=True)
class Zone:
    name: str
    match: frozenset[str]  # state or country codes; "*" matches the rest
    methods: tuple[ShippingMethod, ...]


@dataclass(frozen=True, slots=True)
class RegionRules:
    region: str
    currency: str
    tax: Literal["added", "included"]
    tax_label: str
    tax_shipping: bool
    zone_by: Literal["state", "country"]
    countries: tuple[str, ...]
    tax_rates: Mapping[str, Decimal]  # percent, keyed like `zone_by`
    zones: tuple[Zone, ...]

    def place(self, address: Mapping[str, Any]) -> str:
        return str(address.get(self.zone_by) or "").upper()

    def zone(self, address: Mapping[str, Any]) -> Zone | None:
        place = self.place(address)
        return next((z for z in self.zones if place in z.match), None) or next(
            (z for z in self.zones if "*" in z.match), None
        )

    def tax_rate(self, address: Mapping[str, Any]) -> Decimal | None:
        return self.tax_rates.get(self.place(address))


def load_rules(regions: RegionCatalogue, path: Path = RATES_FILE) -> dict[str, RegionRules]:
    """Rules for every region in the catalogue; a region without rules is a configuration error."""
    raw = tomllib.loads(path.read_text())
    rules = {}
    for region in regions.regions:
        if region.code not in raw:
            raise ValueError(f"{path.name} has no shipping and tax rules for region {region.code!r}")
        spec = raw[region.code]
        currency = region.currency
        rules[region.code] = RegionRules(
            region=region.code,
            currency=currency,
            tax=spec["tax"],
            tax_label=spec["tax_label"],
            tax_shipping=bool(spec["tax_shipping"]),
            zone_by=spec["zone_by"],
            countries=tuple(spec["countries"]),
            tax_rates={place: Decimal(rate) for place, rate in spec["tax_rates"].items()},
            zones=tuple(
                Zone(
                    name=zone["name"],
                    match=frozenset(zone["match"]),
                    methods=tuple(
                        ShippingMethod(
                            code=m["code"],
                            name=m["name"],
                            days=m["days"],
                            base_minor=parse_amount(m["base"], currency),
                            per_kg_minor=parse_amount(m["per_kg"], currency),
                            free_over_minor=parse_amount(m["free_over"], currency) if "free_over" in m else None,
                        )
                        for m in zone["methods"]
                    ),
                )
                for zone in spec["zones"]
            ),
        )
    return rules


@dataclass(frozen=True, slots=True)
class PricedLine:
    sku: str
    title: str
    quantity: int
    unit_minor: int
    weight_grams: int

    @property
    def total_minor(self) -> int:
        return self.unit_minor * self.quantity


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def tax_of(amount_minor: int, rate: Decimal, mode: Literal["added", "included"]) -> int:
    """Tax on an amount in minor units: on top of it ("added") or contained in it ("included")."""
    if mode == "added":
        return _round(Decimal(amount_minor) * rate / 100)
    return amount_minor - _round(Decimal(amount_minor) * 100 / (100 + rate))


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` minor units in proportion to `weights`, exactly (largest remainder first)."""
    basis = sum(weights)
    if basis == 0 or total == 0:
        return [0] * len(weights)
    exact = [Decimal(total) * w / basis for w in weights]
    shares = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: exact[i] - shares[i], reverse=True)
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares


def quote(
    rules: RegionRules,
    lines: Sequence[PricedLine],
    *,
    order_discount_minor: int,
    address: Mapping[str, Any] | None,
    method: str | None,
) -> dict[str, Any]:
    """Line-by-line prices, discount, shipping options, tax and total, all in exact minor units.

    Without an address there is no shipping or tax yet (they depend on where the parcel goes); with
    an address but no chosen method the zone's first (standard) method is assumed, so the shopper sees a real total.
    """
    currency = rules.currency
    discounts = allocate(order_discount_minor, [line.total_minor for line in lines])
    net = [line.total_minor - off for line, off in zip(lines, discounts, strict=True)]
    goods = sum(net)
    weight = sum(line.weight_grams * line.quantity for line in lines)
    zone = rules.zone(address) if address else None
    rate = rules.tax_rate(address) if address else None

    options = []
    chosen: tuple[ShippingMethod, int] | None = None
    if zone is not None:
        for m in zone.methods:
            cost = m.cost(goods, weight)
            options.append({"code": m.code, "name": m.name, "days": m.days, "amount": money(cost, currency)})
        picked = next((m for m in zone.methods if m.code == method), zone.methods[0])
        chosen = (picked, picked.cost(goods, weight))
    shipping_minor = chosen[1] if chosen else 0

    line_taxes = [tax_of(n, rate, rules.tax) if rate is not None else 0 for n in net]
    shipping_tax = tax_of(shipping_minor, rate, rules.tax) if rate is not None and rules.tax_shipping else 0
    tax_total = sum(line_taxes) + shipping_tax
    total = goods + shipping_minor + (tax_total if rules.tax == "added" else 0)
    return {
        "currency": currency,
        "lines": [
            {
                "sku": line.sku,
                "title": line.title,
                "quantity": line.quantity,
                "unit": money(line.unit_minor, currency),
                "subtotal": money(line.total_minor, currency),
                "discount": money(off, currency),
                "tax": money(tax, currency),
            }
            for line, off, tax in zip(lines, discounts, line_taxes, strict=True)
        ],
        "weight_grams": weight,
        "subtotal": money(sum(line.total_minor for line in lines), currency),
        "discount": money(order_discount_minor, currency),
        "shipping": {
            "zone": zone.name if zone else None,
            "method": chosen[0].code if chosen else None,
            "amount": money(shipping_minor, currency) if chosen else None,
            "tax": money(shipping_tax, currency),
            "options": options,
        },
        "tax": {
            "label": rules.tax_label,
            "mode": rules.tax,
            "rate": f"{rate.normalize():f}" if rate is not None else None,
            "amount": money(tax_total, currency) if rate is not None else None,
        },
        "total": money(total, currency),
        "total_minor": total,
        "complete": zone is not None and rate is not None,
    }

"""Deterministic demo data: categories, brands, products, variants, stock, prices, promotions, CMS content."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from edge_config import RegionCatalogue

CATEGORIES: dict[tuple[str, str], list[tuple[str, str]]] = {
    ("clothing", "Clothing"): [
        ("jackets", "Jackets"),
        ("shirts", "Shirts"),
        ("knitwear", "Knitwear"),
        ("trousers", "Trousers"),
    ],
    ("footwear", "Footwear"): [("sneakers", "Sneakers"), ("boots", "Boots"), ("sandals", "Sandals")],
    ("home", "Home"): [("kitchen", "Kitchen"), ("lighting", "Lighting"), ("textiles", "Textiles")],
    ("outdoor", "Outdoor"): [
        ("tents", "Tents"),
        ("backpacks", "Backpacks"),
        ("camp-kitchen", "Camp kitchen"),
    ],
    ("accessories", "Accessories"): [("bags", "Bags"), ("watches", "Watches"), ("hats", "Hats")],
}
BRANDS = [
    "Northwind",
    "Alder & Co",
    "Kestrel",
    "Miro",
    "Tallis",
    "Fjelda",
    "Oakhaven",
    "Lumen",
    "Brisk",
    "Hollow Pine",
    "Sora",
    "Vetra",
]
COLOURS = ["black", "white", "navy", "olive", "rust", "sand", "grey", "teal"]
MATERIALS = ["cotton", "wool", "linen", "leather", "recycled polyester", "canvas", "steel", "oak", "ceramic"]
ADJECTIVES = [
    "Everyday",
    "Trail",
    "Classic",
    "Heritage",
    "Lightweight",
    "Urban",
    "Coastal",
    "Alpine",
    "Studio",
    "Field",
]
NOUNS = {
    "jackets": "Jacket",
    "shirts": "Shirt",
    "knitwear": "Sweater",
    "trousers": "Trousers",
    "sneakers": "Sneaker",
    "boots": "Boot",
    "sandals": "Sandal",
    "kitchen": "Pan",
    "lighting": "Lamp",
    "textiles": "Throw",
    "tents": "Tent",
    "backpacks": "Pack",
    "camp-kitchen": "Stove",
    "bags": "Tote",
    "watches": "Watch",
    "hats": "Cap",
}
USES = ["daily use", "travel", "the outdoors", "the city"]
SIZED = {"jackets", "shirts", "knitwear", "trousers", "sneakers", "boots", "sandals", "hats"}
SIZES = ["XS", "S", "M", "L", "XL"]
SHOE_SIZES = ["38", "39", "40", "41", "42", "43", "44"]
# Shelf prices are set in USD and converted; EUR includes VAT, SGD includes GST.
WELCOME_CODE = "WELCOME10"
# Shipping weight per category (grams); anything else weighs DEFAULT_WEIGHT.
WEIGHTS = {"jackets": 1100, "boots": 1600, "sneakers": 1000, "sandals": 600, "knitwear": 700, "lighting": 2400}
DEFAULT_WEIGHT = 450
FX = {"USD": Decimal("1"), "EUR": Decimal("1.09"), "SGD": Decimal("1.42")}


@dataclass
class DemoData:
    categories: list[dict[str, Any]] = field(default_factory=list)
    products: list[dict[str, Any]] = field(default_factory=list)
    variants: list[dict[str, Any]] = field(default_factory=list)
    inventory: list[dict[str, Any]] = field(default_factory=list)
    price_index: list[dict[str, Any]] = field(default_factory=list)
    attributes: list[dict[str, Any]] = field(default_factory=list)
    price_books: list[dict[str, Any]] = field(default_factory=list)
    prices: list[dict[str, Any]] = field(default_factory=list)
    promotions: list[dict[str, Any]] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)


def _charm(amount: Decimal) -> int:
    """A price in minor units ending in .99 or .49, like a shop would set."""
    whole = max(int(amount), 1)
    return whole * 100 + (99 if whole % 2 else 49)


def build(
    *, products: int, seed: int, regions: RegionCatalogue, images: list[dict[str, Any]], now: datetime
) -> DemoData:
    rng = random.Random(seed)
    data = DemoData()
    leaves: list[tuple[int, str, str]] = []
    next_id = 1
    for position, ((slug, name), children) in enumerate(CATEGORIES.items()):
        parent_id = next_id
        data.categories.append({"id": parent_id, "slug": slug, "name": name, "parent_id": None, "position": position})
        next_id += 1
        for child_position, (child_slug, child_name) in enumerate(children):
            data.categories.append(
                {
                    "id": next_id,
                    "slug": child_slug,
                    "name": child_name,
                    "parent_id": parent_id,
                    "position": child_position,
                }
            )
            leaves.append((next_id, child_slug, child_name))
            next_id += 1

    seen_slugs: set[str] = set()
    for pid in range(1, products + 1):
        cat_id, cat_slug, _ = leaves[(pid - 1) % len(leaves)]
        brand = rng.choice(BRANDS)
        colour = rng.choice(COLOURS)
        material = rng.choice(MATERIALS)
        title = f"{rng.choice(ADJECTIVES)} {material.title()} {NOUNS[cat_slug]}"
        slug = f"{brand}-{title}".lower().replace("&", "and").replace(" ", "-").replace("--", "-")
        slug = slug.replace("--", "-")
        if slug in seen_slugs:
            slug = f"{slug}-{pid}"
        seen_slugs.add(slug)
        picks = rng.sample(images, k=min(3, len(images)))
        data.products.append(
            {
                "id": pid,
                "slug": slug,
                "title": title,
                "description": (
                    f"A {colour} {NOUNS[cat_slug].lower()} in {material} by {brand}. "
                    f"Made to last, easy to care for, and designed for {rng.choice(USES)}."
                ),
                "brand": brand,
                "category_id": cat_id,
                "attributes": {"colour": colour, "material": material},
                "images": [{**ref, "alt": f"{title} in {colour}, view {i + 1}"} for i, ref in enumerate(picks)],
                "created_at": now - timedelta(days=products - pid),
            }
        )
        data.attributes += [
            {"product_id": pid, "name": "colour", "value": colour},
            {"product_id": pid, "name": "material", "value": material},
        ]
        if cat_slug in SIZED:
            scale = SHOE_SIZES if cat_slug in {"sneakers", "boots", "sandals"} else SIZES
            options = [{"size": s} for s in rng.sample(scale, k=rng.randint(2, 4))]
            options.sort(key=lambda o: scale.index(o["size"]))
        else:
            options = [{"finish": c} for c in rng.sample(COLOURS, k=rng.randint(1, 2))]
        base_usd = Decimal(rng.choice([19, 29, 39, 49, 59, 79, 99, 129, 149, 199, 249, 299]))
        for position, option in enumerate(options):
            sku = f"SKU-{pid:05d}-{position + 1}"
            data.variants.append(
                {
                    "sku": sku,
                    "product_id": pid,
                    "options": option,
                    "position": position,
                    "weight_grams": WEIGHTS.get(cat_slug, DEFAULT_WEIGHT),
                }
            )
            for region in regions:
                roll = rng.random()
                quantity = 0 if roll < 0.08 else rng.randint(1, 4) if roll < 0.2 else rng.randint(5, 80)
                data.inventory.append({"sku": sku, "region": region.code, "quantity": quantity})
                list_minor = _charm(base_usd * FX.get(region.currency, Decimal(1)))
                sale_minor = _charm(Decimal(list_minor) * Decimal("0.0075")) if rng.random() < 0.15 else None
                data.prices.append(
                    {
                        "sku": sku,
                        "region": region.code,
                        "list_minor": list_minor,
                        "sale_minor": sale_minor if sale_minor and sale_minor < list_minor else None,
                        "product_id": pid,
                        "category": cat_slug,
                        "brand": brand,
                    }
                )
    shelf: dict[tuple[int, str], int] = {}
    for price in data.prices:
        key = (price["product_id"], price["region"])
        amount = price["sale_minor"] or price["list_minor"]
        shelf[key] = min(shelf.get(key, amount), amount)
    data.price_index = [{"product_id": p, "region": r, "amount_minor": a} for (p, r), a in sorted(shelf.items())]

    for region in regions:
        data.price_books.append(
            {"region": region.code, "currency": region.currency, "tax_inclusive": region.prices_include_tax}
        )
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    data.promotions = _promotions(regions, day)
    data.entries = _cms_entries(regions, [c for c in data.categories if c["parent_id"] is None], images)
    return data


def _promotions(regions: RegionCatalogue, day: datetime) -> list[dict[str, Any]]:
    codes = set(regions.codes)
    promos = [
        ("winter-jackets", "Winter jackets 20% off", "eu", "percent", 2000, "category", "jackets", 0, -3, 14),
        ("brand-kestrel", "$10 off Kestrel", "us", "amount", 1000, "brand", "Kestrel", 0, -1, 7),
        ("big-basket", "10% off orders over S$150", "apac", "percent", 1000, "order", "", 15000, -2, 30),
        ("boots-week", "Boots week: 15% off", "us", "percent", 1500, "category", "boots", 0, 2, 9),
        ("lighting-sale", "Lighting sale: 25% off", "eu", "percent", 2500, "category", "lighting", 0, 5, 12),
    ]
    welcome = [
        (f"welcome-{r}", "Welcome: 10% off your first order", r, "percent", 1000, "order", "", 0, -1, 365)
        for r in sorted(codes)
    ]
    return [
        {
            "slug": slug,
            "name": name,
            "region": region,
            "kind": kind,
            "value": value,
            "scope": scope,
            "target": target,
            "min_order_minor": minimum,
            "starts_at": day + timedelta(days=start),
            "ends_at": day + timedelta(days=end),
            "code": WELCOME_CODE if slug.startswith("welcome-") else None,
        }
        for slug, name, region, kind, value, scope, target, minimum, start, end in promos + welcome
        if region in codes
    ]


_COPY = {
    "en": {
        "hero_title": "Built for the season ahead",
        "hero_subtitle": "New arrivals in outerwear, footwear and gear, shipped from your region.",
        "hero_cta": "Shop jackets",
        "promo1": (
            "Free returns",
            "<p>Changed your mind? Returns are <strong>free</strong> for 30 days.</p>",
        ),
        "promo2": ("Made to last", "<p>Every product carries a two-year guarantee.</p>"),
        "about_title": "About us",
        "about_body": "<h2>Who we are</h2><p>We are a small team that sells durable goods across three regions.</p>"
        '<p>Questions? <a href="mailto:hello@example.com">Write to us</a>.</p>',
        "footer": "<p>Prices shown in your region's currency.</p>",
        "help": "Help",
        "about": "About",
    },
    "de": {
        "hero_title": "Bereit für die neue Saison",
        "hero_subtitle": "Neue Jacken, Schuhe und Ausrüstung, versandt aus Ihrer Region.",
        "hero_cta": "Jacken entdecken",
        "promo1": (
            "Kostenlose Rücksendung",
            "<p>Rücksendungen sind 30 Tage lang <strong>kostenlos</strong>.</p>",
        ),
        "promo2": ("Gemacht für lange Zeit", "<p>Zwei Jahre Garantie auf jedes Produkt.</p>"),
        "about_title": "Über uns",
        "about_body": "<h2>Wer wir sind</h2>"
        "<p>Ein kleines Team, das langlebige Produkte in drei Regionen verkauft.</p>",
        "footer": "<p>Alle Preise inkl. MwSt.</p>",
        "help": "Hilfe",
        "about": "Über uns",
    },
}


def _cms_entries(
    regions: RegionCatalogue, top_categories: list[dict[str, Any]], images: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    locales = sorted({locale for region in regions for locale in region.locales})

    def per_locale(make: Any) -> dict[str, dict[str, Any]]:
        return {locale: make(_COPY.get(locale.split("-")[0], _COPY["en"])) for locale in locales}

    hero_image = str(images[0]["hash"]) if images else ""
    return [
        {
            "type": "hero",
            "key": "home-hero",
            "fields": per_locale(
                lambda c: {
                    "title": c["hero_title"],
                    "subtitle": c["hero_subtitle"],
                    "cta_label": c["hero_cta"],
                    "cta_href": "/c/jackets",
                    "image": hero_image,
                }
            ),
        },
        {
            "type": "promo",
            "key": "free-returns",
            "fields": per_locale(lambda c: {"title": c["promo1"][0], "body": c["promo1"][1], "placement": "home"}),
        },
        {
            "type": "promo",
            "key": "guarantee",
            "fields": per_locale(lambda c: {"title": c["promo2"][0], "body": c["promo2"][1], "placement": "product"}),
        },
        {
            "type": "navigation",
            "key": "main",
            "fields": per_locale(
                lambda c: {"items": [{"label": cat["name"], "href": f"/c/{cat['slug']}"} for cat in top_categories]}
            ),
        },
        {
            "type": "footer",
            "key": "main",
            "fields": per_locale(
                lambda c: {"body": c["footer"], "links": [{"label": c["about"], "href": "/pages/about"}]}
            ),
        },
        {
            "type": "page",
            "key": "about",
            "fields": per_locale(lambda c: {"title": c["about_title"], "body": c["about_body"], "summary": ""}),
        },
    ]

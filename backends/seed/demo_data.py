"""Deterministic demo data: categories, brands, products, variants, stock, prices, promotions, CMS content."""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from backends.seed.pictures import describe
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
SIZES = ("XS", "S", "M", "L", "XL")
SHOE_SIZES = ("38", "39", "40", "41", "42", "43", "44")


@dataclass(frozen=True, slots=True)
class Line:
    """What a category sells: the drawing, words, colours, materials, shelf prices and options that go together."""

    kind: str  # the drawing in backends.seed.pictures
    noun: str
    styles: tuple[str, ...]
    colours: tuple[str, ...]
    materials: tuple[str, ...]
    prices_usd: tuple[int, ...]
    option: str
    values: tuple[str, ...]
    weight_grams: int
    blurb: str
    # Where the colour is the material (a copper pan), the material follows the colour.
    colour_materials: dict[str, str] = field(default_factory=dict)


LINES: dict[str, Line] = {
    "jackets": Line(
        kind="jacket",
        noun="Jacket",
        styles=("Field", "Waxed", "Insulated", "Rain", "Quilted", "Alpine"),
        colours=("black", "navy", "olive", "rust"),
        materials=("waxed cotton", "recycled nylon", "wool blend"),
        prices_usd=(149, 179, 199, 249, 299, 349),
        option="size",
        values=SIZES,
        weight_grams=1100,
        blurb="Cut with room for a sweater underneath, with a storm flap and two-way zip.",
    ),
    "shirts": Line(
        kind="shirt",
        noun="Shirt",
        styles=("Oxford", "Everyday", "Camp-collar", "Work", "Button-down"),
        colours=("white", "sky", "sand", "olive"),
        materials=("cotton", "linen", "organic cotton"),
        prices_usd=(39, 49, 59, 69, 79, 89),
        option="size",
        values=SIZES,
        weight_grams=300,
        blurb="Softened in the wash before it ships, so it fits like a favourite from day one.",
    ),
    "knitwear": Line(
        kind="sweater",
        noun="Sweater",
        styles=("Crewneck", "Fisherman", "Ribbed", "Cable-knit", "Roll-neck"),
        colours=("grey", "navy", "oat", "rust"),
        materials=("merino wool", "lambswool", "organic cotton"),
        prices_usd=(79, 99, 119, 149, 179),
        option="size",
        values=SIZES,
        weight_grams=700,
        blurb="Knitted in one piece at the shoulders, so there is no seam to rub under a bag strap.",
    ),
    "trousers": Line(
        kind="trousers",
        noun="Trousers",
        styles=("Chino", "Cargo", "Pleated", "Work", "Travel"),
        colours=("navy", "olive", "sand", "charcoal"),
        materials=("cotton twill", "corduroy", "stretch ripstop"),
        prices_usd=(69, 89, 99, 119, 139),
        option="size",
        values=SIZES,
        weight_grams=600,
        blurb="A straight leg with a little stretch, deep pockets and a gusset for taking stairs two at a time.",
    ),
    "sneakers": Line(
        kind="sneaker",
        noun="Sneaker",
        styles=("Court", "Runner", "Low-top", "Everyday", "City"),
        colours=("white", "black", "grey", "navy"),
        materials=("leather", "suede", "recycled knit"),
        prices_usd=(79, 99, 119, 139, 159),
        option="size",
        values=SHOE_SIZES,
        weight_grams=1000,
        blurb="A cupsole stitched all the way round, so it can be resoled instead of thrown away.",
    ),
    "boots": Line(
        kind="boot",
        noun="Boot",
        styles=("Chelsea", "Hiking", "Work", "Lace-up", "Winter"),
        colours=("brown", "black", "tan"),
        materials=("full-grain leather", "suede", "waxed leather"),
        prices_usd=(149, 179, 199, 229, 279),
        option="size",
        values=SHOE_SIZES,
        weight_grams=1600,
        blurb="Goodyear-welted on a grippy rubber sole; breaks in within a week and lasts for years.",
    ),
    "sandals": Line(
        kind="sandal",
        noun="Sandal",
        styles=("Slide", "Strap", "Trail", "Cork-bed"),
        colours=("tan", "black", "brown"),
        materials=("leather", "cork and leather"),
        prices_usd=(39, 49, 59, 79, 99),
        option="size",
        values=SHOE_SIZES,
        weight_grams=600,
        blurb="A contoured footbed that moulds to your foot and straps that adjust in two places.",
    ),
    "kitchen": Line(
        kind="pan",
        noun="Skillet",
        styles=("Everyday", "Chef's", "Country", "Deep"),
        colours=("black", "copper", "steel"),
        materials=("cast iron",),
        prices_usd=(39, 59, 79, 99, 129, 149),
        option="diameter",
        values=("20 cm", "24 cm", "28 cm"),
        weight_grams=2200,
        blurb="Heats evenly on gas, electric and induction, and goes straight from the hob into the oven.",
        colour_materials={"black": "cast iron", "copper": "copper", "steel": "stainless steel"},
    ),
    "lighting": Line(
        kind="lamp",
        noun="Table Lamp",
        styles=("Studio", "Dome", "Reading", "Bedside", "Café"),
        colours=("brass", "black", "white"),
        materials=("brass",),
        prices_usd=(79, 99, 129, 169, 199, 249),
        option="bulb",
        values=("Warm white", "Dimmable warm white"),
        weight_grams=2400,
        blurb="A fabric cord, an inline switch and a shade that throws a soft pool of light.",
        colour_materials={"brass": "brushed brass", "black": "powder-coated steel", "white": "glazed ceramic"},
    ),
    "textiles": Line(
        kind="throw",
        noun="Throw",
        styles=("Herringbone", "Waffle", "Striped", "Fringed"),
        colours=("oat", "grey", "rust", "teal"),
        materials=("wool", "cotton", "alpaca blend"),
        prices_usd=(59, 79, 99, 129, 149),
        option="size",
        values=("130 x 170 cm", "150 x 200 cm"),
        weight_grams=900,
        blurb="Woven on a traditional loom and finished with a hand-knotted fringe.",
    ),
    "tents": Line(
        kind="tent",
        noun="Tent",
        styles=("Dome", "Backpacking", "Basecamp", "Trekking"),
        colours=("forest", "orange", "sand", "grey"),
        materials=("ripstop nylon", "recycled polyester"),
        prices_usd=(199, 249, 299, 399, 499, 599),
        option="capacity",
        values=("1-person", "2-person", "3-person", "4-person"),
        weight_grams=2400,
        blurb="Pitches fly-first in the rain, with two doors, two porches and colour-coded poles.",
    ),
    "backpacks": Line(
        kind="backpack",
        noun="Backpack",
        styles=("Day", "Trail", "Commuter", "Roll-top", "Travel"),
        colours=("black", "teal", "rust", "olive"),
        materials=("recycled nylon", "waxed canvas", "ripstop polyester"),
        prices_usd=(79, 99, 129, 159, 189, 229),
        option="volume",
        values=("20 L", "28 L", "35 L"),
        weight_grams=1000,
        blurb="A padded laptop sleeve, a stowable rain cover and hip-belt pockets you can reach on the move.",
    ),
    "camp-kitchen": Line(
        kind="stove",
        noun="Stove",
        styles=("Compact", "Canister", "Ultralight", "Trail"),
        colours=("steel", "orange", "black"),
        materials=("stainless steel", "aluminium"),
        prices_usd=(49, 69, 89, 119, 149),
        option="kit",
        values=("Stove only", "With 1 L pot"),
        weight_grams=450,
        blurb="Boils a litre in under four minutes and folds to fit inside its own pot.",
    ),
    "bags": Line(
        kind="tote",
        noun="Tote",
        styles=("Market", "Everyday", "Weekend", "Shopper"),
        colours=("natural", "black", "olive"),
        materials=("heavy canvas", "recycled cotton", "waxed canvas"),
        prices_usd=(29, 39, 49, 59, 79, 99),
        option="size",
        values=("Standard", "Large"),
        weight_grams=450,
        blurb="Leather-reinforced handles, an inside zip pocket and a flat base that stands up on its own.",
    ),
    "watches": Line(
        kind="watch",
        noun="Watch",
        styles=("Field", "Dress", "Classic", "Automatic"),
        colours=("steel", "black", "gold"),
        materials=("stainless steel",),
        prices_usd=(129, 179, 229, 299, 399),
        option="strap",
        values=("Leather strap", "Steel bracelet", "Canvas strap"),
        weight_grams=200,
        blurb="Sapphire crystal, 100 m water resistance and a strap that changes without tools.",
        colour_materials={"steel": "stainless steel", "black": "black PVD steel", "gold": "gold-tone steel"},
    ),
    "hats": Line(
        kind="cap",
        noun="Cap",
        styles=("Baseball", "Six-panel", "Dad", "Field"),
        colours=("navy", "black", "olive", "sand"),
        materials=("cotton twill", "wool", "recycled polyester"),
        prices_usd=(25, 29, 35, 39, 45),
        option="size",
        values=("S/M", "L/XL"),
        weight_grams=150,
        blurb="An unstructured crown, a pre-curved peak and a brass buckle at the back.",
    ),
}
# Shelf prices are set in USD and converted; EUR includes VAT, SGD includes GST.
WELCOME_CODE = "WELCOME10"
FX = {"USD": Decimal("1"), "EUR": Decimal("1.09"), "SGD": Decimal("1.42")}
# Draws (kind, colour) once and returns its photos' references in view order; see runner.seed_all.
Photos = Callable[[str, str], Sequence[dict[str, Any]]]


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
    *, products: int, seed: int, regions: RegionCatalogue, photos: Photos | None, now: datetime, hero: str = ""
) -> DemoData:
    """The demo shop for `products` products; `photos` draws each product's pictures (None: no pictures) and
    `hero` is the stored image of the home page's banner."""
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
        line = LINES[cat_slug]
        brand = rng.choice(BRANDS)
        colour = rng.choice(line.colours)
        material = line.colour_materials.get(colour) or rng.choice(line.materials)
        title = f"{rng.choice(line.styles)} {line.noun}"
        slug = _slug(f"{brand} {title}")
        if slug in seen_slugs:
            slug = f"{slug}-{pid}"
        seen_slugs.add(slug)
        pictures = photos(line.kind, colour) if photos else ()
        data.products.append(
            {
                "id": pid,
                "slug": slug,
                "title": title,
                "description": f"The {title.lower()} by {brand}, in {colour} {material}. {line.blurb}",
                "brand": brand,
                "category_id": cat_id,
                "attributes": {"colour": colour, "material": material},
                "images": [
                    {**{k: ref[k] for k in ("hash", "width", "height")}, "alt": _alt(title, colour, line.kind, ref)}
                    for ref in pictures
                ],
                "created_at": now - timedelta(days=products - pid),
            }
        )
        data.attributes += [
            {"product_id": pid, "name": "colour", "value": colour},
            {"product_id": pid, "name": "material", "value": material},
        ]
        picked = rng.sample(line.values, k=rng.randint(min(2, len(line.values)), min(4, len(line.values))))
        options = [{line.option: value} for value in sorted(picked, key=line.values.index)]
        base_usd = Decimal(rng.choice(line.prices_usd))
        for position, option in enumerate(options):
            sku = f"SKU-{pid:05d}-{position + 1}"
            data.variants.append(
                {
                    "sku": sku,
                    "product_id": pid,
                    "options": option,
                    "position": position,
                    "weight_grams": line.weight_grams,
                }
            )
            # The bigger options of a line cost a little more (a 4-person tent, a 28 cm pan).
            step = Decimal(1) + Decimal("0.1") * position if line.option not in {"size", "strap"} else Decimal(1)
            for region in regions:
                roll = rng.random()
                quantity = 0 if roll < 0.08 else rng.randint(1, 4) if roll < 0.2 else rng.randint(5, 80)
                data.inventory.append({"sku": sku, "region": region.code, "quantity": quantity})
                list_minor = _charm(base_usd * step * FX.get(region.currency, Decimal(1)))
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
    data.entries = _cms_entries(regions, [c for c in data.categories if c["parent_id"] is None], hero)
    return data


def _slug(name: str) -> str:
    """`Alder & Co Café Table Lamp` -> `alder-and-co-cafe-table-lamp`: ASCII letters, digits and single hyphens."""
    ascii_name = unicodedata.normalize("NFKD", name.replace("&", " and ")).encode("ascii", "ignore").decode()
    return "-".join(re.findall(r"[a-z0-9]+", ascii_name.lower().replace("'", "")))


def _alt(title: str, colour: str, kind: str, ref: dict[str, Any]) -> str:
    shows = describe(kind, str(ref["view"]))
    return f"{title} in {colour}, {shows}" if shows else f"{title} in {colour}"


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
    regions: RegionCatalogue, top_categories: list[dict[str, Any]], hero_image: str
) -> list[dict[str, Any]]:
    locales = sorted({locale for region in regions for locale in region.locales})

    def per_locale(make: Any) -> dict[str, dict[str, Any]]:
        return {locale: make(_COPY.get(locale.split("-")[0], _COPY["en"])) for locale in locales}

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

"""The drawn product photos: each look the shop sells, in its own colour, as three different full-size pictures."""

from __future__ import annotations

import io
import math
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from backends.seed.pictures import (
    HEIGHT,
    KINDS,
    PALETTE,
    VIEWS,
    WIDTH,
    describe,
    hero,
    render,
    write_hero,
    write_originals,
)
from image_pipeline.store import ImageStore

# The looks the demo shop draws (kind: colours).
LOOKS = {
    "jacket": ("black", "navy", "olive", "rust"),
    "shirt": ("white", "sky", "sand", "olive"),
    "sweater": ("grey", "navy", "oat", "rust"),
    "trousers": ("navy", "olive", "sand", "charcoal"),
    "sneaker": ("white", "black", "grey", "navy"),
    "boot": ("brown", "black", "tan"),
    "sandal": ("tan", "black", "brown"),
    "pan": ("black", "copper", "steel"),
    "lamp": ("brass", "black", "white"),
    "throw": ("oat", "grey", "rust", "teal"),
    "tent": ("forest", "orange", "sand", "grey"),
    "backpack": ("black", "teal", "rust", "olive"),
    "stove": ("steel", "orange", "black"),
    "tote": ("natural", "black", "olive"),
    "watch": ("steel", "black", "gold"),
    "cap": ("navy", "black", "olive", "sand"),
}
ALL = [(kind, colour) for kind, colours in LOOKS.items() for colour in colours]
RGB = tuple[int, int, int]


def _image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.size == (WIDTH, HEIGHT)
    return image.convert("RGB")


def _differ(a: Image.Image, b: Image.Image) -> bool:
    """Whether two pictures differ visibly somewhere, not just in encoding noise."""
    red, green, blue = ImageChops.difference(a.reduce(8), b.reduce(8)).split()
    strongest = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    return strongest.point(lambda v: 255 * (v > 24)).getbbox() is not None


def _dominant(image: Image.Image) -> RGB:
    """The colour most of the product is: the mean of the largest tight cluster of pixels that are not the backdrop
    (each row's backdrop is its left edge, which the product never reaches). Tight, so that a shade and a darker
    shade of the colour do not add up to outweigh the colour itself."""
    small = image.reduce(8)
    width, height = small.size
    at = small.load()
    assert at is not None
    pixels: list[RGB] = [
        at[x, y]
        for y in range(height)
        for x in range(width)
        if math.dist(at[x, y], at[0, y]) > 12  # type: ignore[misc]
    ]
    candidates = [colour for colour, _ in Counter(tuple(v // 8 * 8 + 4 for v in p) for p in pixels).most_common(24)]
    best = max(candidates, key=lambda c: sum(1 for p in pixels if math.dist(p, c) < 12))
    near = [p for p in pixels if math.dist(p, best) < 12]
    return (
        round(sum(p[0] for p in near) / len(near)),
        round(sum(p[1] for p in near) / len(near)),
        round(sum(p[2] for p in near) / len(near)),
    )


@pytest.fixture(scope="module")
def fronts() -> dict[tuple[str, str], Image.Image]:
    return {look: _image(render(*look, "front")) for look in ALL}


def test_the_shop_draws_every_kind_in_named_colours() -> None:
    assert set(LOOKS) == set(KINDS)
    assert {colour for colours in LOOKS.values() for colour in colours} <= set(PALETTE)
    assert len(VIEWS) == len(set(VIEWS)) in (2, 3)


@pytest.mark.parametrize("look", ALL, ids="-".join)
def test_each_view_of_a_look_is_a_different_full_size_png(look: tuple[str, str]) -> None:
    views = [_image(render(*look, view)) for view in VIEWS]
    for i, view in enumerate(views):
        for other in views[i + 1 :]:
            assert _differ(view, other)


@pytest.mark.parametrize("look", ALL, ids="-".join)
def test_the_product_is_mostly_its_own_colour(
    look: tuple[str, str], fronts: dict[tuple[str, str], Image.Image]
) -> None:
    kind, colour = look
    dominant = _dominant(fronts[look])
    assert math.dist(dominant, PALETTE[colour]) < 20, f"{kind} in {colour} is mostly {dominant}"


def test_colours_of_a_kind_differ_and_kinds_in_a_colour_differ(fronts: dict[tuple[str, str], Image.Image]) -> None:
    for kind, colours in LOOKS.items():
        for i, colour in enumerate(colours):
            for other in colours[i + 1 :]:
                assert _differ(fronts[kind, colour], fronts[kind, other]), (kind, colour, other)
    for colour in PALETTE:
        kinds = [kind for kind, colours in LOOKS.items() if colour in colours]
        for i, kind in enumerate(kinds):
            for other in kinds[i + 1 :]:
                assert _differ(fronts[kind, colour], fronts[other, colour]), (colour, kind, other)


def test_rendering_is_deterministic() -> None:
    assert render("tent", "orange", "side") == render("tent", "orange", "side")


def test_write_originals_stores_each_view_once_in_view_order(tmp_path: Path) -> None:
    looks = [("tent", "forest"), ("watch", "gold")]
    refs = write_originals(tmp_path, looks)
    assert list(refs) == looks
    store = ImageStore(tmp_path)
    for look in looks:
        assert len(refs[look]) == len(VIEWS) == len({ref["hash"] for ref in refs[look]})
        for ref, view in zip(refs[look], VIEWS, strict=True):
            assert set(ref) == {"hash", "width", "height"} and (ref["width"], ref["height"]) == (WIDTH, HEIGHT)
            record = store.record(str(ref["hash"]))
            assert record is not None and (record.width, record.height) == (WIDTH, HEIGHT)
            assert store.ingest(render(*look, view))[0].hash == ref["hash"]  # the view it says, in that order
    assert write_originals(tmp_path, looks) == refs  # drawn again the same way: the same stored originals


@pytest.mark.parametrize(
    ("kind", "colour", "view"), [("yurt", "forest", "front"), ("tent", "mauve", "front"), ("tent", "forest", "top")]
)
def test_unknown_kinds_colours_and_views_are_refused(kind: str, colour: str, view: str) -> None:
    with pytest.raises(ValueError, match="no "):
        render(kind, colour, view)


def test_a_bad_look_is_refused_before_anything_is_stored(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no "):
        write_originals(tmp_path, [("tent", "forest"), ("tent", "mauve")])
    assert not list((tmp_path / "originals").glob("*.json"))


def test_the_banner_shows_its_products_in_the_band_every_crop_keeps(tmp_path: Path) -> None:
    banner = _image(hero())
    assert all(high - low < 40 for low, high in banner.crop((0, 0, WIDTH, 300)).getextrema()), "nothing above the band"
    assert all(high - low > 120 for low, high in banner.crop((0, 360, WIDTH, 640)).getextrema()), "products in it"
    assert all(high - low < 40 for low, high in banner.crop((0, 720, WIDTH, HEIGHT)).getextrema()), "nothing below"
    assert write_hero(tmp_path) == write_hero(tmp_path)


@pytest.mark.parametrize("kind", KINDS)
def test_every_view_of_every_kind_is_described_for_alt_text(kind: str) -> None:
    front, detail, side = (describe(kind, view) for view in VIEWS)
    assert front == "" and detail and side and side != detail
    with pytest.raises(ValueError, match="no view"):
        describe(kind, "top")

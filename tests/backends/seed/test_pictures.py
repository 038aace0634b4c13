"""The demo pictures: every product line's looks drawn in their own colour, three views each, stored once."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from backends.seed.demo_data import LINES
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

LOOKS = [(line.kind, colour) for line in LINES.values() for colour in line.colours]


def _image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.size == (WIDTH, HEIGHT)
    return image.convert("RGB")


def _share_near(image: Image.Image, mask: Image.Image, colour: tuple[int, int, int]) -> float:
    """Of the pixels in `mask`, the share within a small distance of `colour`."""
    pixels = [p for p, inside in zip(image.get_flattened_data(), mask.get_flattened_data(), strict=True) if inside]
    near = sum(1 for p in pixels if sum((a - b) ** 2 for a, b in zip(p, colour, strict=True)) < 30**2)
    return near / max(len(pixels), 1)


@pytest.mark.parametrize("kind", sorted({line.kind for line in LINES.values()}))
def test_each_colour_of_a_kind_shows_that_colour(kind: str) -> None:
    """Where two colours of a kind differ is the product itself; there, each picture is mostly its own colour."""
    colours = [colour for look_kind, colour in LOOKS if look_kind == kind]
    fronts = {colour: _image(render(kind, colour, "front")).reduce(4) for colour in colours}
    for colour, other in zip(colours, colours[1:] + colours[:1], strict=True):
        red, green, blue = ImageChops.difference(fronts[colour], fronts[other]).split()
        difference = ImageChops.lighter(ImageChops.lighter(red, green), blue).point(lambda v: 255 * (v > 24))
        assert difference.getbbox() is not None, f"{kind} in {colour} and {other} look the same"
        assert _share_near(fronts[colour], difference, PALETTE[colour]) > 0.1, f"{kind} in {colour}"


def test_different_kinds_in_one_colour_differ() -> None:
    black = {kind: _image(render(kind, "black", "front")).reduce(8) for kind, colour in LOOKS if colour == "black"}
    seen = list(black.items())
    for i, (kind, image) in enumerate(seen):
        for other, other_image in seen[i + 1 :]:
            assert ImageChops.difference(image, other_image).getbbox() is not None, (kind, other)


def test_views_of_a_look_are_different_pictures_stored_once(tmp_path: Path) -> None:
    looks = [("tent", "forest"), ("watch", "gold")]
    refs = write_originals(tmp_path, looks)
    assert list(refs) == looks
    store = ImageStore(tmp_path)
    for look in looks:
        assert len(refs[look]) == len(VIEWS) == len({ref["hash"] for ref in refs[look]})
        for ref in refs[look]:
            record = store.record(str(ref["hash"]))
            assert record is not None and (record.width, record.height) == (ref["width"], ref["height"]) == (
                WIDTH,
                HEIGHT,
            )
    assert write_originals(tmp_path, looks) == refs  # drawn the same way again: the same stored originals
    assert refs[("tent", "forest")][0]["hash"] == ImageStore(tmp_path).ingest(render("tent", "forest", "front"))[0].hash


@pytest.mark.parametrize(
    ("kind", "colour", "view"), [("yurt", "forest", "front"), ("tent", "mauve", "front"), ("tent", "forest", "top")]
)
def test_unknown_kinds_colours_and_views_are_refused(kind: str, colour: str, view: str) -> None:
    with pytest.raises(ValueError, match="no "):
        render(kind, colour, view)


def test_the_banner_shows_its_products_in_the_band_every_crop_keeps(tmp_path: Path) -> None:
    banner = _image(hero())
    backdrop_only = banner.crop((0, 0, WIDTH, 300)).getextrema()
    assert all(high - low < 40 for low, high in backdrop_only), "nothing drawn above the band"
    band = banner.crop((0, 360, WIDTH, 640)).getextrema()
    assert all(high - low > 120 for low, high in band), "the products are in the band"
    assert write_hero(tmp_path)["hash"] == write_hero(tmp_path)["hash"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_view_of_every_kind_is_described_for_alt_text(kind: str) -> None:
    front, detail, side = (describe(kind, view) for view in VIEWS)
    assert front == "" and detail and side and side != detail
    with pytest.raises(ValueError, match="no view"):
        describe(kind, "top")

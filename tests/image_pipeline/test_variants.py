"""Variants: orientation, colour, transparency, grayscale, 16-bit, size and type, metadata, refusals."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageCms

from image_pipeline.ingest import inspect
from image_pipeline.variants import LADDER, BadImage, decode, ladder_for, render_ladder, render_variant


def as_bytes(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_every_variant_decodes_to_its_stated_width_and_type(photo_2560: bytes) -> None:
    variants = render_ladder(photo_2560, LADDER, ("avif", "webp", "jpg"))
    assert len(variants) == len(LADDER) * 3
    for (width, fmt), blob in variants.items():
        image = opened(blob)
        assert image.format == {"avif": "AVIF", "webp": "WEBP", "jpg": "JPEG"}[fmt]
        assert image.width == width and image.height == round(1600 * width / 2560)


def test_never_wider_than_the_original(photos: Path) -> None:
    data = (photos / "coffee.png").read_bytes()  # 600 px wide
    assert ladder_for(600) == [160, 320, 480]
    assert {w for w, _ in render_ladder(data, LADDER, ("jpg",))} == {160, 320, 480}
    with pytest.raises(BadImage):
        render_variant(data, 640, "jpg")


def test_exif_orientation_is_applied(photos: Path) -> None:
    rocket = Image.open(photos / "rocket.jpg")  # 640 x 427, landscape
    exif = rocket.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    data = as_bytes(rocket, "JPEG", exif=exif.tobytes(), quality=90)
    record = inspect(data)
    assert (record.width, record.height) == (427, 640)
    variant = opened(render_variant(data, 320, "webp"))
    assert variant.size == (320, round(640 * 320 / 427))
    assert not variant.getexif()  # metadata stripped, orientation baked in


def test_metadata_is_stripped(photo_2560: bytes) -> None:
    source = opened(photo_2560)
    assert source.info.get("icc_profile") and source.info.get("exif") and source.info.get("xmp")
    for fmt in ("jpg", "webp", "avif"):
        variant = opened(render_variant(photo_2560, 320, fmt))
        assert not variant.info.get("icc_profile") and not variant.info.get("exif") and not variant.getexif()


def test_transparency_kept_where_the_format_allows(photos: Path) -> None:
    # logo.png is RGBA but fully opaque, so cut a transparent band into a real photo.
    photo = Image.open(photos / "chelsea.png").convert("RGBA")  # 451 x 300
    alpha = Image.new("L", photo.size, 255)
    alpha.paste(0, (0, 0, 150, 300))
    photo.putalpha(alpha)
    data = as_bytes(photo, "PNG")
    for fmt in ("webp", "avif"):
        variant = opened(render_variant(data, 320, fmt)).convert("RGBA")
        assert variant.getpixel((20, 100))[3] < 16 and variant.getpixel((300, 100))[3] > 240, fmt
    jpeg = opened(render_variant(data, 320, "jpg"))
    assert jpeg.mode == "RGB" and min(jpeg.getpixel((20, 100))) > 240  # flattened on white


def test_grayscale_and_16_bit_sources(photos: Path) -> None:
    gray = render_variant((photos / "brick.png").read_bytes(), 320, "jpg")
    red, green, blue = opened(gray).convert("RGB").getpixel((100, 100))
    assert abs(red - green) <= 2 and abs(green - blue) <= 2

    ramp = Image.linear_gradient("L").resize((512, 256)).convert("I")
    sixteen = ramp.point(lambda v: v * 257).convert("I;16")
    variant = opened(render_variant(as_bytes(sixteen, "PNG"), 320, "webp")).convert("L")
    low, high = variant.getextrema()
    assert low < 20 and high > 235  # the full range survives: not clipped white, not crushed


def test_cmyk_with_a_profile_is_converted_to_srgb() -> None:
    red = Image.new("RGB", (400, 300), (220, 30, 30))
    cmyk = red.convert("CMYK")
    data = as_bytes(cmyk, "JPEG", quality=95)
    variant = opened(render_variant(data, 320, "jpg")).convert("RGB")
    r, g, b = variant.getpixel((50, 50))
    assert r > 180 and g < 80 and b < 80


def test_embedded_profile_is_used(photos: Path) -> None:
    """A picture tagged with a profile is converted to sRGB, not reinterpreted."""
    rocket = Image.open(photos / "rocket.jpg").convert("RGB")
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    tagged = render_variant(as_bytes(rocket, "PNG", icc_profile=srgb), 320, "webp")
    untagged = render_variant(as_bytes(rocket, "PNG"), 320, "webp")
    a, b = opened(tagged).convert("RGB"), opened(untagged).convert("RGB")
    assert max(abs(x - y) for x, y in zip(a.getpixel((160, 100)), b.getpixel((160, 100)), strict=True)) <= 6


def test_the_largest_original_decodes_within_the_pixel_limit(photo_5120: bytes) -> None:
    record = inspect(photo_5120)
    assert (record.width, record.height) == (5120, 2880)
    small = decode(photo_5120, max_width=320)
    assert small.width <= 5120 // 8 * 2  # JPEG draft decoded a reduced image, not 14.7 MP
    assert opened(render_variant(photo_5120, 2048, "avif")).size == (2048, 1152)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda f: (f / "rocket.jpg").read_bytes()[:6000], "truncated"),
        (lambda f: b"\xff\xd8\xff\xe0" + b"\x00" * 5000, "not an image"),
        (lambda f: b"<html>definitely not a picture</html>", "not an image"),
        (lambda f: as_bytes(Image.new("1", (12000, 12000)), "PNG"), "pixels"),
        (
            lambda f: as_bytes(
                Image.new("RGB", (64, 64), "red"),
                "GIF",
                save_all=True,
                append_images=[Image.new("RGB", (64, 64), "blue")],
            ),
            "animated",
        ),
    ],
)
def test_refusals(photos: Path, make: object, reason: str) -> None:
    data = make(photos)  # type: ignore[operator]
    with pytest.raises(BadImage, match=reason):
        inspect(data)


def test_placeholder_and_colour(photos: Path) -> None:
    record = inspect((photos / "retina.jpg").read_bytes())  # 1411 x 1411
    assert record.placeholder.startswith("data:image/webp;base64,")
    assert len(record.placeholder) < 1000
    red, green, blue = (int(record.colour[i : i + 2], 16) for i in (1, 3, 5))
    assert red > 2 * green and red > 2 * blue  # the fundus photograph is red

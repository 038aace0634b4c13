"""Test photographs: scikit-image's bundled samples, large originals made from them, and generated images."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import skimage.data
from PIL import Image

# The sample photographs inside the scikit-image wheel (the dev extra installs it), read in place. Only files
# bundled in the wheel are used: the others are downloaded on first use, and the suite must run offline.
PHOTOS = Path(skimage.data.data_dir)


@pytest.fixture(scope="session")
def photos() -> Path:
    return PHOTOS


def enlarged(name: str, size: tuple[int, int], **save: object) -> bytes:
    """A sample photograph resized to a large original, as JPEG: the wheel holds nothing wider than 1411 px."""
    source = Image.open(PHOTOS / name)
    out = io.BytesIO()
    source.convert("RGB").resize(size, Image.Resampling.BICUBIC).save(out, "JPEG", quality=90, **save)
    return out.getvalue()


@pytest.fixture(scope="session")
def photo_2560() -> bytes:
    """2560 x 1600, wide enough for the whole ladder, carrying the Hubble file's EXIF, ICC profile and XMP."""
    hubble = Image.open(PHOTOS / "hubble_deep_field.jpg")
    metadata = {key: hubble.info[key] for key in ("exif", "icc_profile", "xmp")}
    return enlarged("hubble_deep_field.jpg", (2560, 1600), **metadata)


@pytest.fixture(scope="session")
def photo_5120() -> bytes:
    """5120 x 2880 progressive JPEG: 14.7 MP, the largest original the tests decode."""
    return enlarged("coffee.png", (5120, 2880), progressive=True)


def flat_png(width: int, height: int, colour: tuple[int, ...] = (200, 60, 40), mode: str = "RGB") -> bytes:
    """A generated PNG of one colour: many megapixels once decoded, a few kilobytes on the wire."""
    out = io.BytesIO()
    Image.new(mode, (width, height), colour if len(mode) > 1 else colour[0]).save(out, "PNG")
    return out.getvalue()
